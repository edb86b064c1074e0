import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Host sign-in: the password gives a signed, httpOnly session cookie. Actions also need a CSRF
 * token derived from the session (sent in a header), so a page on another origin cannot drive the
 * console even with the browser's cookie.
 */
export const HOST_COOKIE = "mafhf_host";
export const CSRF_HEADER = "x-csrf-token";
const SESSION_HOURS = 12;

function sign(secret: string, data: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export function checkPassword(given: string, expected: string): boolean {
  // Compare digests so the comparison takes the same time whatever the lengths.
  return safeEqual(sign("password", given), sign("password", expected));
}

export interface HostSession {
  id: string;
  expiresAt: number;
}

export function createSessionCookie(secret: string, now = Date.now()): { value: string; session: HostSession; maxAge: number } {
  const session = { id: randomBytes(16).toString("base64url"), expiresAt: now + SESSION_HOURS * 3600_000 };
  const payload = `${session.id}.${session.expiresAt}`;
  return { value: `${payload}.${sign(secret, payload)}`, session, maxAge: SESSION_HOURS * 3600 };
}

export function readSessionCookie(secret: string, value: string | undefined | null, now = Date.now()): HostSession | null {
  if (!value) return null;
  const parts = value.split(".");
  if (parts.length !== 3) return null;
  const [id, expires, mac] = parts as [string, string, string];
  if (!safeEqual(mac, sign(secret, `${id}.${expires}`))) return null;
  const expiresAt = Number(expires);
  if (!Number.isFinite(expiresAt) || expiresAt < now) return null;
  return { id, expiresAt };
}

export function csrfTokenFor(secret: string, session: HostSession): string {
  return sign(secret, `csrf.${session.id}`);
}

export function checkCsrf(secret: string, session: HostSession, token: string | null | undefined): boolean {
  return typeof token === "string" && safeEqual(token, csrfTokenFor(secret, session));
}

/** Reads one cookie from a Cookie header (sockets and plain node requests). */
export function cookieFrom(header: string | undefined | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
