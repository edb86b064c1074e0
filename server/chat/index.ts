import type { Db } from "../db/client";
import { isAppError } from "../errors";
import type { IntakeDeps } from "../intake/submit-pull-request";
import { createLogger } from "../logger";
import type { ShowEvents } from "../show/show-events";
import { announceVerdicts, createChatBot, type BotClock, type ChatBot, type Logger } from "./chat-bot";
import { createChatPoller, type ChatPoller, type HistoryEntry } from "./chat-poller";
import {
  chatSubmittersOf,
  knownChatEventIds,
  listPendingChatEvents,
  recordChatEvent,
  setChatEventOutcome,
  type ChatMessage,
} from "./chat.repo";
import { handleChatMessage, parseWebhookPayload, type ChatHandlerDeps, type WebhookPayload } from "./handle-chat-event";
import { createOwncastClient } from "./owncast-client";
import { SIGNATURE_HEADER, verifyOwncastWebhook } from "./verify-webhook";

/**
 * Owncast chat as an audience source: webhooks (or polling) in, the intake in the middle, the bot's
 * replies and verdicts out. Every message is stored as a ChatEvent before anything else happens;
 * messages are then handled one at a time, in the order they arrived, so the queue follows chat.
 */
export const MAX_WEBHOOK_BYTES = 32 * 1024;
/** Polled history older than this before polling started is kept but not played (yesterday's chat). */
export const HISTORY_GRACE_MS = 10 * 60_000;

export interface ChatConfig {
  owncastUrl: string | null;
  owncastAccessToken: string | null;
  owncastWebhookSecret: string | null;
  /** Read chat by polling GET /api/integrations/chat (needs HAS_ADMIN_ACCESS) instead of waiting for webhooks. */
  owncastPoll: boolean;
  /** The show's systems; verdict lines name the system when there is more than one. */
  nixSystems?: string[];
}

export interface ChatOptions {
  fetch?: typeof globalThis.fetch;
  /** Gap between two bot posts; default one second. */
  replyGapMs?: number;
  botClock?: BotClock;
  pollIntervalMs?: number;
  now?: () => number;
  logger?: Logger;
}

export interface ChatDeps {
  db: Db;
  events: ShowEvents;
  intake: IntakeDeps;
  config: ChatConfig;
  options?: ChatOptions;
}

export interface WebhookResponse {
  status: number;
  body: unknown;
}

export interface Chat {
  /** The whole webhook edge after reading the body: size, authentication, JSON, envelope, store. */
  handleWebhook(rawBody: string, headers: Headers, url: URL): Promise<WebhookResponse>;
  /** Verdict announcements, polling when configured, and events a previous run left pending. */
  start(): void;
  stop(): Promise<void>;
  /** Resolves when every message received so far is handled; its reply may still wait for the bot. */
  handled(): Promise<void>;
  /** Resolves when every message received so far is handled and every reply posted. */
  idle(): Promise<void>;
  botEnabled: boolean;
  polling: boolean;
}

export function createChat(deps: ChatDeps): Chat {
  const { db, events, intake, config } = deps;
  const options = deps.options ?? {};
  const log = options.logger ?? createLogger({ component: "owncast-chat" });
  const now = options.now ?? Date.now;
  const integration =
    config.owncastUrl && config.owncastAccessToken ? { url: config.owncastUrl, accessToken: config.owncastAccessToken } : null;

  const bot: ChatBot = createChatBot({
    // The bot spaces its posts itself (that is what lets it merge them), so the client doesn't.
    client: integration && createOwncastClient({ ...integration, fetch: options.fetch, minIntervalMs: 0 }),
    gapMs: options.replyGapMs,
    clock: options.botClock,
    log,
  });

  const work = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    work.add(promise);
    const done = () => work.delete(promise);
    promise.then(done, done);
  };

  const handlerDeps: ChatHandlerDeps = {
    db,
    intake,
    onUnexpectedError: (error, context) => log.error({ err: error, ...context }, "unexpected error while submitting a chat PR"),
  };
  const inHand = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  async function handle(message: ChatMessage): Promise<void> {
    try {
      const { reply } = await handleChatMessage(handlerDeps, message);
      if (reply) bot.say(reply);
    } catch (error) {
      // The event stays "pending" in the database and is handled again at the next start.
      log.error({ err: error, chatEventId: message.id }, "could not handle a chat message");
    }
  }

  function enqueue(message: ChatMessage): void {
    if (stopped || inHand.has(message.id)) return;
    inHand.add(message.id);
    chain = chain.then(() => handle(message)).finally(() => inHand.delete(message.id));
    track(chain);
  }

  /** Stores the message first; false when its id was already stored (a duplicate). */
  async function receive(message: ChatMessage, notPlayedBecause: string | null = null): Promise<boolean> {
    const { created } = await recordChatEvent(db, message);
    if (!created) return false;
    if (notPlayedBecause) await setChatEventOutcome(db, message.id, "ignored", notPlayedBecause);
    else enqueue(message);
    return true;
  }

  let pollingSince = 0;
  const seen = new Set<string>();
  async function receiveHistory(entries: HistoryEntry[]): Promise<void> {
    const fresh = entries.filter((e) => !seen.has(e.message.id));
    const known = await knownChatEventIds(db, fresh.map((e) => e.message.id));
    for (const { message, sentAt } of fresh) {
      if (!known.has(message.id)) {
        const old = sentAt !== null && sentAt.getTime() < pollingSince - HISTORY_GRACE_MS;
        await receive(message, old ? "sent before the show started reading chat" : null);
      }
      seen.add(message.id);
    }
  }

  const poller: ChatPoller | null =
    config.owncastPoll && integration
      ? createChatPoller({ ...integration, fetch: options.fetch, intervalMs: options.pollIntervalMs, onHistory: receiveHistory, log })
      : null;

  async function resumePending(before: Date): Promise<void> {
    const pending = await listPendingChatEvents(db, before);
    if (pending.length > 0) log.info({ count: pending.length }, "handling chat messages a previous run stored but did not handle");
    for (const event of pending) enqueue(event);
  }

  let unsubscribe: (() => void) | null = null;

  return {
    botEnabled: bot.enabled,
    polling: poller !== null,

    async handleWebhook(rawBody, headers, url) {
      if (Buffer.byteLength(rawBody, "utf8") > MAX_WEBHOOK_BYTES) {
        return failure(413, "bad_request", `The webhook body is larger than ${MAX_WEBHOOK_BYTES / 1024} KB.`);
      }
      const verdict = verifyOwncastWebhook({
        secret: config.owncastWebhookSecret,
        rawBody,
        signature: headers.get(SIGNATURE_HEADER),
        urlToken: url.searchParams.get("token"),
        nowSeconds: now() / 1000,
      });
      if (!verdict.ok) {
        log.warn({ status: verdict.status }, `Owncast webhook refused: ${verdict.reason}`);
        return failure(verdict.status, verdict.status === 503 ? "unavailable" : "unauthorized", verdict.reason);
      }

      let value: unknown;
      try {
        value = JSON.parse(rawBody);
      } catch {
        return failure(400, "bad_request", "The webhook body is not valid JSON.");
      }
      let payload: WebhookPayload;
      try {
        payload = parseWebhookPayload(value);
      } catch (error) {
        if (isAppError(error)) return failure(400, error.code, error.message);
        throw error;
      }
      if (payload.kind === "ignored") return { status: 202, body: { ignored: true, type: payload.type } };

      const created = await receive(payload.message);
      return created
        ? { status: 202, body: { accepted: true, id: payload.message.id } }
        : { status: 200, body: { duplicate: true, id: payload.message.id } };
    },

    start() {
      if (unsubscribe) return;
      stopped = false;
      unsubscribe = announceVerdicts({
        events,
        bot,
        chatSubmittersOf: (prNumber) => chatSubmittersOf(db, prNumber),
        showSystem: (config.nixSystems?.length ?? 1) > 1,
        track,
        log,
      });
      if (config.owncastPoll && !poller) {
        log.warn("OWNCAST_POLL is on but OWNCAST_URL or OWNCAST_ACCESS_TOKEN is missing: chat is not polled");
      }
      if (poller) {
        pollingSince = now();
        poller.start();
      }
      track(resumePending(new Date(now())).catch((error: unknown) => log.error({ err: error }, "could not resume pending chat messages")));
    },

    async stop() {
      stopped = true;
      unsubscribe?.();
      unsubscribe = null;
      await poller?.stop();
      while (work.size > 0) await Promise.allSettled([...work]);
      await bot.stop();
    },

    async handled() {
      while (work.size > 0) await Promise.allSettled([...work]);
    },

    async idle() {
      for (;;) {
        if (work.size > 0) {
          await Promise.allSettled([...work]);
          continue;
        }
        await bot.idle();
        if (work.size === 0) return;
      }
    },
  };
}

function failure(status: number, code: string, message: string): WebhookResponse {
  return { status, body: { error: { code, message } } };
}

