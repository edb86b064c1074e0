import { AppError } from "../errors";

/**
 * Posts to Owncast's integration API with an access token (Authorization: Bearer). Posts are
 * sent one at a time and spaced out, because Owncast does not rate-limit integrations and a
 * burst of bot messages drowns the audience's chat.
 */
export interface OwncastClientOptions {
  /** Owncast's base URL, e.g. https://live.example.org. */
  url: string;
  accessToken: string;
  fetch?: typeof globalThis.fetch;
  /** Minimum gap between two posts; defaults to one second. */
  minIntervalMs?: number;
  timeoutMs?: number;
}

export interface OwncastClient {
  /** Posted as the access token's bot user (needs the CAN_SEND_MESSAGES scope). */
  sendChatMessage(body: string): Promise<void>;
  /** Posted as the server itself (needs the CAN_SEND_SYSTEM_MESSAGES scope). */
  sendSystemMessage(body: string): Promise<void>;
}

const ENDPOINTS = {
  chat: { path: "/api/integrations/chat/send", scope: "CAN_SEND_MESSAGES" },
  system: { path: "/api/integrations/chat/system", scope: "CAN_SEND_SYSTEM_MESSAGES" },
} as const;

export function createOwncastClient(opts: OwncastClientOptions): OwncastClient {
  const baseUrl = opts.url.replace(/\/+$/, "");
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const minIntervalMs = opts.minIntervalMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let queue: Promise<unknown> = Promise.resolve();
  let lastPostAt = 0;

  async function post(kind: keyof typeof ENDPOINTS, body: string): Promise<void> {
    const endpoint = ENDPOINTS[kind];
    if (body.trim() === "") throw new AppError("bad_request", "Cannot post an empty message to Owncast chat");
    const wait = lastPostAt + minIntervalMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    lastPostAt = Date.now();

    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl}${endpoint.path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${opts.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new AppError("unavailable", `Owncast at ${baseUrl} is unreachable: ${(error as Error).message}`);
    }
    const text = await response.text().catch(() => "");
    if (response.ok) return;
    if (response.status === 401) {
      throw new AppError(
        "unauthorized",
        `Owncast refused the access token: it is unknown or lacks the ${endpoint.scope} scope (create one under /admin/access-tokens)`,
        { status: 401 },
      );
    }
    if (response.status === 400) {
      throw new AppError("bad_request", `Owncast rejected the message: ${errorText(text)}`, { status: 400 });
    }
    throw new AppError("unavailable", `Owncast answered ${response.status}: ${errorText(text)}`, { status: response.status });
  }

  const serialized = (kind: keyof typeof ENDPOINTS) => (body: string) => {
    const result = queue.then(() => post(kind, body));
    queue = result.catch(() => undefined);
    return result;
  };

  return { sendChatMessage: serialized("chat"), sendSystemMessage: serialized("system") };
}

function errorText(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && typeof (parsed as { error?: unknown }).error === "string") {
      return (parsed as { error: string }).error;
    }
  } catch {
    // Not JSON: use the text as it is.
  }
  return text.trim() || "no details";
}
