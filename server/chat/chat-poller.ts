import { AppError, isAppError } from "../errors";
import type { Logger } from "./chat-bot";
import type { ChatMessage } from "./chat.repo";
import { parseHistoryEntry } from "./handle-chat-event";

/**
 * For shows where Owncast cannot reach the app (a venue laptop behind NAT): read Owncast's chat
 * history every few seconds and hand every CHAT entry to the same handler as the webhook, which
 * dedupes on the message id. Needs an access token with HAS_ADMIN_ACCESS.
 */
export interface HistoryEntry {
  message: ChatMessage;
  sentAt: Date | null;
}

export interface ChatPollerOptions {
  /** Owncast's base URL. */
  url: string;
  accessToken: string;
  /** Receives each page of history in order; it skips ids it has already stored. */
  onHistory(entries: HistoryEntry[]): Promise<void>;
  log: Logger;
  intervalMs?: number;
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

export interface ChatPoller {
  start(): void;
  stop(): Promise<void>;
}

const HISTORY_PATH = "/api/integrations/chat";

export function createChatPoller(opts: ChatPollerOptions): ChatPoller {
  const endpoint = `${opts.url.replace(/\/+$/, "")}${HISTORY_PATH}`;
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const intervalMs = opts.intervalMs ?? 2500;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = true;
  let lastProblem: string | null = null;

  async function readHistory(): Promise<HistoryEntry[]> {
    let response: Response;
    try {
      response = await fetchImpl(endpoint, {
        headers: { authorization: `Bearer ${opts.accessToken}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new AppError("unavailable", `Owncast at ${opts.url} is unreachable: ${(error as Error).message}`);
    }
    if (response.status === 401) {
      await response.body?.cancel();
      throw new AppError(
        "unauthorized",
        "Owncast refused to show its chat history: OWNCAST_ACCESS_TOKEN is unknown or lacks the HAS_ADMIN_ACCESS scope polling needs (create one under /admin/access-tokens)",
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new AppError("unavailable", `Owncast answered ${response.status} for ${HISTORY_PATH}`);
    }
    const history: unknown = await response.json().catch(() => null);
    if (!Array.isArray(history)) throw new AppError("unavailable", `Owncast's ${HISTORY_PATH} did not answer with a list`);
    return history.flatMap((entry) => parseHistoryEntry(entry) ?? []);
  }

  async function pollOnce(): Promise<void> {
    await opts.onHistory(await readHistory());
  }

  function report(error: unknown): void {
    const problem = isAppError(error) ? error.message : String(error);
    // Once per distinct problem: a poll every 2.5 s must not fill the log with the same line.
    if (problem !== lastProblem) opts.log.error({ err: isAppError(error) ? undefined : error }, `chat polling: ${problem}`);
    lastProblem = problem;
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      timer = null;
      running = pollOnce()
        .then(() => {
          if (lastProblem !== null) opts.log.info("chat polling works again");
          lastProblem = null;
        }, report)
        .finally(() => {
          running = null;
          if (!stopped) schedule(intervalMs);
        });
    }, delayMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
