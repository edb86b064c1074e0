import { randomBytes } from "node:crypto";

/**
 * GitHub's OAuth device flow as github.com serves it (docs: "Authorizing OAuth apps", device flow):
 * `POST /login/device/code` hands out a device code and a user code; `POST /login/oauth/access_token`
 * answers HTTP 200 with `error: authorization_pending | slow_down | expired_token | access_denied |
 * incorrect_device_code | incorrect_client_credentials | unsupported_grant_type` until the person
 * has entered the user code, then with the token. Polling faster than `interval` is answered with
 * `slow_down`, and the interval grows by 5 seconds, as on GitHub. Tests play the person with
 * `approve`, `deny` and `expire`.
 */
export const DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";

const ERROR_URI = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow";
const DESCRIPTIONS: Record<string, string> = {
  authorization_pending: "The authorization request is still pending.",
  slow_down: "Too many requests have been made in the same timeframe.",
  expired_token: "The device code has expired.",
  access_denied: "The authorization request was denied.",
  incorrect_device_code: "The device_code provided is not valid.",
  incorrect_client_credentials: "The client_id and/or client_secret passed are incorrect.",
  unsupported_grant_type: "The grant type is not supported.",
};
/** A client that waits exactly `interval` between polls can arrive a little early; that is not too fast. */
const POLL_JITTER_MS = 250;
// Letters GitHub uses in user codes: no vowels, so no words.
const USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ";

interface DeviceCode {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  interval: number;
  lastPollAt: number | null;
  state: "pending" | "approved" | "denied" | "used";
  login: string | null;
}

export interface DeviceFlowOptions {
  /** When set, only this client_id may start a device flow. */
  clientId?: string;
  /** Seconds between polls the client is asked to keep; GitHub says 5. */
  interval: number;
  /** Seconds a device code lives; GitHub says 900. */
  expiresIn: number;
  now?: () => number;
}

export type DeviceFlowAnswer = { status: number; body: Record<string, string | number> };

export class DeviceFlow {
  private readonly codes = new Map<string, DeviceCode>();
  private readonly now: () => number;
  private readonly opts: DeviceFlowOptions;

  constructor(opts: DeviceFlowOptions) {
    this.opts = { ...opts };
    this.now = opts.now ?? Date.now;
  }

  /** Timing for codes handed out from now on (tests use interval 0 to poll without waiting). */
  setTiming(timing: { interval?: number; expiresIn?: number }): void {
    if (timing.interval !== undefined) this.opts.interval = timing.interval;
    if (timing.expiresIn !== undefined) this.opts.expiresIn = timing.expiresIn;
  }

  start(params: Record<string, string>, verificationUri: string): DeviceFlowAnswer {
    const clientId = params.client_id ?? "";
    if (!clientId || (this.opts.clientId !== undefined && clientId !== this.opts.clientId)) {
      return { status: 401, body: this.error("incorrect_client_credentials") };
    }
    const code: DeviceCode = {
      deviceCode: randomBytes(20).toString("hex"),
      userCode: userCode(),
      clientId,
      scope: params.scope ?? "",
      expiresAt: this.now() + this.opts.expiresIn * 1000,
      interval: this.opts.interval,
      lastPollAt: null,
      state: "pending",
      login: null,
    };
    this.codes.set(code.deviceCode, code);
    return {
      status: 200,
      body: {
        device_code: code.deviceCode,
        user_code: code.userCode,
        verification_uri: verificationUri,
        expires_in: this.opts.expiresIn,
        interval: code.interval,
      },
    };
  }

  /** One poll of the token endpoint. `issue` makes the access token once the person approved. */
  poll(params: Record<string, string>, issue: (login: string, scope: string) => string): DeviceFlowAnswer {
    if (params.grant_type !== DEVICE_GRANT_TYPE) return { status: 200, body: this.error("unsupported_grant_type") };
    const code = this.codes.get(params.device_code ?? "");
    if (!code || code.state === "used") return { status: 200, body: this.error("incorrect_device_code") };
    if (params.client_id !== code.clientId) return { status: 200, body: this.error("incorrect_client_credentials") };
    const now = this.now();
    if (now >= code.expiresAt) return { status: 200, body: this.error("expired_token") };
    if (code.state === "denied") return { status: 200, body: this.error("access_denied") };
    const tooSoon = code.lastPollAt !== null && now - code.lastPollAt < code.interval * 1000 - POLL_JITTER_MS;
    code.lastPollAt = now;
    if (tooSoon) {
      code.interval += 5;
      return { status: 200, body: { ...this.error("slow_down"), interval: code.interval } };
    }
    if (code.state === "pending") return { status: 200, body: this.error("authorization_pending") };
    code.state = "used";
    return { status: 200, body: { access_token: issue(code.login!, code.scope), token_type: "bearer", scope: code.scope } };
  }

  /** The person typed the user code at /login/device and authorized the app as `login`. */
  approve(userCode: string, login: string): void {
    const code = this.byUserCode(userCode);
    code.state = "approved";
    code.login = login;
  }

  deny(userCode: string): void {
    this.byUserCode(userCode).state = "denied";
  }

  /** Ages the code past its lifetime without waiting 15 minutes. */
  expire(userCode: string): void {
    this.byUserCode(userCode).expiresAt = this.now() - 1;
  }

  isPending(userCode: string): boolean {
    const code = [...this.codes.values()].find((c) => c.userCode === normalise(userCode));
    return code?.state === "pending" && code.expiresAt > this.now();
  }

  private byUserCode(userCode: string): DeviceCode {
    const code = [...this.codes.values()].find((c) => c.userCode === normalise(userCode));
    if (!code) throw new Error(`GitHub stand-in: no device flow with user code ${userCode}`);
    return code;
  }

  private error(error: string): Record<string, string> {
    return { error, error_description: DESCRIPTIONS[error] ?? error, error_uri: ERROR_URI };
  }
}

function userCode(): string {
  const bytes = randomBytes(8);
  const letters = [...bytes].map((b) => USER_CODE_LETTERS[b % USER_CODE_LETTERS.length]).join("");
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

function normalise(userCode: string): string {
  const compact = userCode.toUpperCase().replace(/[^A-Z]/g, "");
  return `${compact.slice(0, 4)}-${compact.slice(4)}`;
}

/** GitHub answers the OAuth endpoints form-encoded unless the client asks for JSON. */
export function encodeOAuthBody(body: Record<string, string | number>, accept: string | undefined): { contentType: string; text: string } {
  if (accept?.includes("application/json")) return { contentType: "application/json; charset=utf-8", text: JSON.stringify(body) };
  const form = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)]));
  return { contentType: "application/x-www-form-urlencoded; charset=utf-8", text: form.toString() };
}

/** OAuth endpoints take form fields or JSON, and query parameters. */
export function oauthParams(raw: string, contentType: string | undefined, url: URL): Record<string, string> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (contentType?.includes("application/json")) {
    try {
      const body = JSON.parse(raw) as Record<string, unknown>;
      for (const [k, v] of Object.entries(body)) if (typeof v === "string") params[k] = v;
    } catch {
      // GitHub ignores an unreadable body here and answers for the missing fields.
    }
  } else {
    for (const [k, v] of new URLSearchParams(raw)) params[k] = v;
  }
  return params;
}
