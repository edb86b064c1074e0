/** Set by server/index.ts from the TCP peer address on every request before Next sees it. */
export const CLIENT_IP_HEADER = "x-mafhf-client-ip";
