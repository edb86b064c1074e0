import { z } from "zod";
import { AppError } from "../errors";

/**
 * GitHub's OAuth device flow (docs: "Authorizing OAuth apps" → device flow), on the web host
 * (https://github.com, or the stand-in): no callback URL, so it works on a venue network. The
 * token endpoint answers HTTP 200 with an `error` while the person has not finished; each answer
 * becomes one of the outcomes below, and only `token` carries a secret.
 */
export const DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
/** Enough to approve, enqueue, merge and comment on a public repository (nixpkgs-review asks the same). */
export const DEVICE_FLOW_SCOPE = "public_repo";
const TIMEOUT_MS = 15_000;

export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresInSeconds: number;
  intervalSeconds: number;
}

export type TokenPoll =
  | { kind: "token"; token: string; scopes: string[] }
  | { kind: "pending" }
  | { kind: "slow-down"; intervalSeconds: number }
  | { kind: "expired" }
  | { kind: "denied" }
  | { kind: "failed"; message: string };

const DeviceCodeAnswer = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().min(1),
  expires_in: z.number().int().positive(),
  interval: z.number().int().min(0),
});

const TokenAnswer = z.union([
  z.object({ access_token: z.string().min(1), token_type: z.string(), scope: z.string().default("") }),
  z.object({ error: z.string(), error_description: z.string().optional(), interval: z.number().int().optional() }),
]);

export interface DeviceFlowClientOptions {
  webUrl: string;
  clientId: string;
  fetch?: typeof globalThis.fetch;
}

async function post(opts: DeviceFlowClientOptions, path: string, fields: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const url = `${opts.webUrl.replace(/\/+$/, "")}${path}`;
  let response: Response;
  try {
    response = await (opts.fetch ?? globalThis.fetch)(url, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new AppError("unavailable", `Could not reach GitHub at ${opts.webUrl} for the sign-in: ${(error as Error).message}`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: { error: `unreadable answer (${response.status})` } };
  }
}

export async function requestDeviceCode(opts: DeviceFlowClientOptions): Promise<DeviceCode> {
  const { status, body } = await post(opts, "/login/device/code", { client_id: opts.clientId, scope: DEVICE_FLOW_SCOPE });
  const parsed = DeviceCodeAnswer.safeParse(body);
  if (parsed.success) {
    return {
      deviceCode: parsed.data.device_code,
      userCode: parsed.data.user_code,
      verificationUri: parsed.data.verification_uri,
      expiresInSeconds: parsed.data.expires_in,
      intervalSeconds: parsed.data.interval,
    };
  }
  const error = (body as { error?: unknown }).error;
  if (error === "device_flow_disabled") {
    throw new AppError("unavailable", "Device flow is off for this OAuth app: enable \"Device Flow\" in its GitHub settings.");
  }
  if (error === "incorrect_client_credentials" || status === 404) {
    throw new AppError("unavailable", "GitHub does not know GITHUB_OAUTH_CLIENT_ID; copy the Client ID of the OAuth app again.");
  }
  throw new AppError("github_failed", `GitHub did not start the sign-in (HTTP ${status}${typeof error === "string" ? `: ${error}` : ""}).`);
}

export async function pollAccessToken(opts: DeviceFlowClientOptions, deviceCode: string): Promise<TokenPoll> {
  const { status, body } = await post(opts, "/login/oauth/access_token", {
    client_id: opts.clientId,
    device_code: deviceCode,
    grant_type: DEVICE_GRANT_TYPE,
  });
  const parsed = TokenAnswer.safeParse(body);
  if (!parsed.success) return { kind: "failed", message: `GitHub answered the sign-in with something unexpected (HTTP ${status}).` };
  const answer = parsed.data;
  if ("access_token" in answer) {
    return { kind: "token", token: answer.access_token, scopes: answer.scope.split(/[,\s]+/).filter(Boolean) };
  }
  switch (answer.error) {
    case "authorization_pending":
      return { kind: "pending" };
    case "slow_down":
      return { kind: "slow-down", intervalSeconds: answer.interval ?? 0 };
    case "expired_token":
      return { kind: "expired" };
    case "access_denied":
      return { kind: "denied" };
    case "incorrect_device_code":
      return { kind: "failed", message: "GitHub no longer knows this sign-in code; start again." };
    case "incorrect_client_credentials":
      return { kind: "failed", message: "GitHub does not know GITHUB_OAUTH_CLIENT_ID; copy the Client ID of the OAuth app again." };
    case "device_flow_disabled":
      return { kind: "failed", message: "Device flow is off for this OAuth app: enable \"Device Flow\" in its GitHub settings." };
    default:
      return { kind: "failed", message: `GitHub refused the sign-in: ${answer.error_description ?? answer.error}.` };
  }
}
