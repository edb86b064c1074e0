// Plain text of a log line for the projector; the PR page renders colours (log-viewer.tsx).
export { stripAnsi } from "@/server/builds/parse-internal-json";

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 8) : "—";
}

export function elapsed(fromIso: string | null, toIso: string | null, now = Date.now()): string {
  if (!fromIso) return "";
  const ms = (toIso ? Date.parse(toIso) : now) - Date.parse(fromIso);
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

// scheme://[userinfo@]host[:port]…; the userinfo runs to the last "@".
const STORE_URI_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?([^/?#]+)/i;

/**
 * Where a derivation was built, short enough for the projector: the builder's host (and port)
 * without user, ssh key or store settings; "" (nix's own machine) is "this machine".
 */
export function machineLabel(machine: string): string {
  const uri = machine.trim();
  if (uri === "") return "this machine";
  return STORE_URI_HOST.exec(uri)?.[1] ?? uri.split("?")[0]!;
}
