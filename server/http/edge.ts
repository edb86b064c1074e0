import { z } from "zod";
import { AppError, httpStatusOf, isAppError } from "../errors";
import { appContext } from "../context";
import { CSRF_HEADER, HOST_COOKIE, checkCsrf, cookieFrom, readSessionCookie, type HostSession } from "../show/host-auth";
import { createLogger } from "../logger";
import { CLIENT_IP_HEADER } from "./client-ip";

/**
 * Helpers for the thin route handlers in app/api: parse, authenticate, map errors. Every error
 * body is `{ error: { code, message } }` with a message a person can act on.
 */
const log = createLogger({ edge: "http" });

export function json(body: unknown, init: ResponseInit = {}): Response {
  return Response.json(body, { ...init, headers: { "cache-control": "no-store", ...init.headers } });
}

export function errorResponse(error: unknown): Response {
  if (isAppError(error)) {
    const headers: Record<string, string> = {};
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === "number") headers["retry-after"] = String(Math.ceil(retryAfter));
    return json({ error: { code: error.code, message: error.message } }, { status: httpStatusOf(error), headers });
  }
  log.error({ err: error }, "unexpected error in a route handler");
  return json({ error: { code: "internal", message: "Something went wrong on the server; the log has the details." } }, { status: 500 });
}

/** Reads a small JSON body and validates it; anything else is a 400 that says what was expected. */
export async function readJson<T extends z.ZodType>(req: Request, schema: T, maxBytes = 4096): Promise<z.infer<T>> {
  const text = await req.text();
  if (text.length > maxBytes) throw new AppError("bad_request", `The request body is larger than ${maxBytes} bytes.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("bad_request", `Invalid ${issue?.path.join(".") || "body"}: ${issue?.message ?? "unexpected shape"}.`);
  }
  return parsed.data;
}

export function hostSessionOf(req: Request): HostSession | null {
  const { config } = appContext();
  return readSessionCookie(config.sessionSecret, cookieFrom(req.headers.get("cookie"), HOST_COOKIE));
}

/** Host actions need the signed session cookie and the CSRF token of that session. */
export function requireHost(req: Request): HostSession {
  const session = hostSessionOf(req);
  if (!session) throw new AppError("unauthorized", "Sign in on /host with the host password first.");
  if (!checkCsrf(appContext().config.sessionSecret, session, req.headers.get(CSRF_HEADER))) {
    throw new AppError("forbidden", "This request has no valid CSRF token; reload the host console and try again.");
  }
  return session;
}

/** The peer address the custom server recorded; never a client-supplied X-Forwarded-For. */
export function clientIp(req: Request): string | null {
  return req.headers.get(CLIENT_IP_HEADER) || null;
}

export function handle(fn: () => Promise<Response>): Promise<Response> {
  return fn().catch(errorResponse);
}
