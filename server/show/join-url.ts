import os from "node:os";

/**
 * The base URL phones should open. PUBLIC_URL wins; otherwise the host the projector itself used,
 * unless that is a loopback name a phone cannot reach, in which case this machine's first LAN
 * address (a venue network) with the same port.
 */
export function audienceBaseUrl(publicUrl: string | null, hostHeader: string | null, protocol = "http"): string {
  if (publicUrl) return publicUrl;
  const host = hostHeader ?? "localhost";
  const [name, port] = host.startsWith("[") ? [host.slice(0, host.indexOf("]") + 1), host.split("]:")[1]] : host.split(":");
  if (name && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(name)) return `${protocol}://${host}`;
  const lan = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal);
  return `${protocol}://${lan?.address ?? name}${port ? `:${port}` : ""}`;
}
