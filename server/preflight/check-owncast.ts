import { resultOf, type CheckName, type PreflightCheck } from "./preflight-check";

export const OWNCAST_CHECK: CheckName = { id: "owncast", label: "Owncast reachable" };
export const OWNCAST_WEBHOOK_CHECK: CheckName = { id: "owncast-webhook", label: "Owncast webhook" };

const DEFAULT_TIMEOUT_MS = 10_000;
const WEBHOOK_PATH = "/api/owncast/webhook";
const NOT_CONFIGURED = "Nothing to do unless the show streams on Owncast; then set OWNCAST_URL, OWNCAST_ACCESS_TOKEN and OWNCAST_WEBHOOK_SECRET.";

export interface OwncastCheckDeps {
  url: string | null;
  accessToken: string | null;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

interface OwncastStatus {
  online: boolean;
  versionNumber: string | null;
}

async function readStatus(fetchImpl: typeof fetch, url: string, timeoutMs: number): Promise<OwncastStatus | null> {
  const res = await fetchImpl(`${url}/api/status`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => null)) as { online?: unknown; versionNumber?: unknown } | null;
  if (!res.ok || body === null || typeof body.online !== "boolean") return null;
  return { online: body.online, versionNumber: typeof body.versionNumber === "string" ? body.versionNumber : null };
}

/**
 * Reachable: Owncast's public `GET /api/status`. The access token: an empty chat post, which
 * Owncast checks for the token and its CAN_SEND_MESSAGES scope (401) before refusing the empty
 * message (400), so nothing appears in chat. `GET /api/integrations/status` is not used: it needs
 * HAS_ADMIN_ACCESS, which a bot that only answers in chat should not have.
 */
export async function checkOwncast(deps: OwncastCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(OWNCAST_CHECK);
  if (!deps.url) return v.warn("OWNCAST_URL is not set: PRs come only from phones and the web page, not from the stream's chat.", NOT_CONFIGURED);
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  let status: OwncastStatus | null;
  try {
    status = await readStatus(fetchImpl, deps.url, timeoutMs);
  } catch (error) {
    return v.fail(
      `Owncast at ${deps.url} does not answer: ${(error as Error).message}.`,
      "Check OWNCAST_URL, that Owncast is running, and that this machine can reach it.",
    );
  }
  const where = status
    ? `Owncast${status.versionNumber ? ` ${status.versionNumber}` : ""} at ${deps.url}, stream ${status.online ? "online" : "offline"}`
    : `Owncast at ${deps.url} (its /api/status says nothing)`;
  if (!deps.accessToken) {
    return v.warn(
      `${where}; no OWNCAST_ACCESS_TOKEN, so the bot cannot answer in chat.`,
      `Create an access token with “Can send chat messages” at ${deps.url}/admin/access-tokens and set OWNCAST_ACCESS_TOKEN.`,
    );
  }

  let probe: Response;
  try {
    probe = await fetchImpl(`${deps.url}/api/integrations/chat/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${deps.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ body: "" }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await probe.arrayBuffer();
  } catch (error) {
    return v.fail(`${where}, but checking the access token failed: ${(error as Error).message}.`, "Try again; check the network between this machine and Owncast.");
  }
  if (probe.status === 401) {
    return v.fail(
      `${where}, but it refuses OWNCAST_ACCESS_TOKEN: the token is unknown or lacks “Can send chat messages”.`,
      `Create a token with that scope at ${deps.url}/admin/access-tokens and set OWNCAST_ACCESS_TOKEN.`,
    );
  }
  if (probe.status !== 400) {
    return v.warn(`${where}; the token check got an unexpected answer (${probe.status}).`, "Post a test message from the host console's chat tools, or check the Owncast version.");
  }
  return v.ok(`${where}; the bot's access token may post in chat.`);
}

export interface OwncastWebhookCheckDeps {
  url: string | null;
  webhookSecret: string | null;
  /** Owncast's admin password, to list its webhooks; without it registration cannot be verified. */
  adminPassword: string | null;
  /** PUBLIC_URL: where Owncast should deliver; null when unknown. */
  publicUrl: string | null;
  /** Chat read by polling needs no webhook. */
  polling?: boolean;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

interface OwncastWebhook {
  url: string;
  events: string[];
  lastUsed: string | null;
}

function parseWebhooks(body: unknown): OwncastWebhook[] | null {
  if (!Array.isArray(body)) return null;
  return body
    .filter((w): w is { url: string; events?: unknown; lastUsed?: unknown } => typeof w === "object" && w !== null && typeof (w as { url?: unknown }).url === "string")
    .map((w) => ({
      url: w.url,
      events: Array.isArray(w.events) ? w.events.filter((e): e is string => typeof e === "string") : [],
      lastUsed: typeof w.lastUsed === "string" ? w.lastUsed : null,
    }));
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

export async function checkOwncastWebhook(deps: OwncastWebhookCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(OWNCAST_WEBHOOK_CHECK);
  if (!deps.url) return v.warn("Not checked: Owncast is not configured.", NOT_CONFIGURED);
  if (deps.polling) return v.ok("Chat is read by polling Owncast; no webhook needed.");
  const expected = `${deps.publicUrl ?? "https://<this show's address>"}${WEBHOOK_PATH}?token=<OWNCAST_WEBHOOK_SECRET>`;
  const register = `In ${deps.url}/admin/webhooks, add a webhook for “Chat messages” (CHAT) to ${expected}.`;
  if (!deps.webhookSecret) {
    return v.fail(
      "OWNCAST_WEBHOOK_SECRET is not set, so the app refuses every Owncast webhook.",
      `Set OWNCAST_WEBHOOK_SECRET to a long random string, then ${register.charAt(0).toLowerCase()}${register.slice(1)}`,
    );
  }
  if (!deps.adminPassword) {
    return v.warn("Cannot verify that Owncast sends chat to this app: no Owncast admin password to list its webhooks.", `${register} Set OWNCAST_ADMIN_PASSWORD to let preflight check it.`);
  }

  let res: Response;
  try {
    res = await (deps.fetch ?? globalThis.fetch)(`${deps.url}/api/admin/webhooks`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${deps.adminPassword}`).toString("base64")}` },
      signal: AbortSignal.timeout(deps.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    return v.fail(`Owncast at ${deps.url} does not answer: ${(error as Error).message}.`, "Check OWNCAST_URL and that Owncast is running.");
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.status === 401) return v.fail("Owncast refused the admin password.", "Set OWNCAST_ADMIN_PASSWORD to Owncast's admin password (Owncast admin → Server setup).");
  if (res.status === 404) return v.warn(`Cannot verify: ${deps.url} has no /api/admin/webhooks.`, register);
  const webhooks = res.ok ? parseWebhooks(body) : null;
  if (webhooks === null) return v.warn(`Cannot verify: Owncast answered ${res.status} when asked for its webhooks.`, register);

  const ours = webhooks.filter((w) => parseUrl(w.url)?.pathname === WEBHOOK_PATH && w.events.includes("CHAT"));
  if (ours.length === 0) return v.fail(`Owncast has ${webhooks.length} webhooks, none sends chat (CHAT) to ${WEBHOOK_PATH}.`, register);
  const urls = ours.map((w) => parseUrl(w.url)!);
  const withToken = urls.filter((u) => u.searchParams.has("token"));
  if (withToken.length > 0 && withToken.every((u) => u.searchParams.get("token") !== deps.webhookSecret)) {
    return v.fail("Owncast's chat webhook carries a ?token= that is not OWNCAST_WEBHOOK_SECRET: the app refuses its deliveries.", register);
  }
  const origins = [...new Set(urls.map((u) => u.origin))];
  const lastUsed = ours.map((w) => w.lastUsed).filter(Boolean).sort().at(-1);
  const detail = `Owncast sends chat to ${origins.join(", ")}${WEBHOOK_PATH}${lastUsed ? ` (last used ${lastUsed})` : " (not used yet)"}`;
  if (deps.publicUrl && !origins.includes(new URL(deps.publicUrl).origin)) {
    return v.warn(`${detail}, but PUBLIC_URL is ${deps.publicUrl}.`, `Check which address Owncast can reach. ${register}`);
  }
  if (withToken.length === 0) return v.ok(`${detail}; without ?token=, so Owncast (0.3 or newer) must sign with OWNCAST_WEBHOOK_SECRET.`);
  return v.ok(detail);
}
