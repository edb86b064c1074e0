import type { MergeView } from "../merge/views";
import { mergeAnnouncement } from "../merge/announcement";
import type { createLogger } from "../logger";
import type { ShowEvents } from "../show/show-events";
import type { BuildView } from "../show/views";
import type { OwncastClient } from "./owncast-client";

/**
 * The show's voice in Owncast chat. Lines are posted at most once per `gapMs`; lines that pile up
 * meanwhile go out together as one message ("@alice #400001 queued · @bob #999999 does not
 * exist…"), so a busy chat gets one bot message a second, not a flood. Without an Owncast URL and
 * access token the bot is off: every call is a no-op.
 */
export type Logger = ReturnType<typeof createLogger>;

export interface BotClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface ChatBotOptions {
  /** Null when OWNCAST_URL or OWNCAST_ACCESS_TOKEN is missing. */
  client: OwncastClient | null;
  log: Logger;
  /** Minimum gap between two posts; default one second. */
  gapMs?: number;
  /** Longest message; lines are merged up to it, and a longer single line is cut. Default 500. */
  maxLength?: number;
  clock?: BotClock;
}

export interface ChatBot {
  enabled: boolean;
  say(line: string): void;
  /** Resolves when every line said so far has been posted (or failed and been logged). */
  idle(): Promise<void>;
  /** Stops posting; lines still waiting are dropped and counted in the log. */
  stop(): Promise<void>;
}

export const MERGE_SEPARATOR = " · ";
const realClock: BotClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export function createChatBot(opts: ChatBotOptions): ChatBot {
  const { client, log } = opts;
  const gapMs = opts.gapMs ?? 1000;
  const maxLength = opts.maxLength ?? 500;
  const clock = opts.clock ?? realClock;
  const pending: string[] = [];
  let pumping: Promise<void> | null = null;
  let lastPostAt = Number.NEGATIVE_INFINITY;
  let stopped = false;

  function takeMessage(): string {
    let message = clip(pending.shift()!, maxLength);
    while (pending.length > 0 && message.length + MERGE_SEPARATOR.length + pending[0]!.length <= maxLength) {
      message += MERGE_SEPARATOR + pending.shift()!;
    }
    return message;
  }

  async function pump(sender: OwncastClient): Promise<void> {
    while (pending.length > 0 && !stopped) {
      const wait = lastPostAt + gapMs - clock.now();
      // Waiting before taking the lines is what merges them: whatever arrives meanwhile joins.
      if (wait > 0) await clock.sleep(wait);
      if (stopped || pending.length === 0) return;
      const message = takeMessage();
      lastPostAt = clock.now();
      try {
        await sender.sendChatMessage(message);
      } catch (error) {
        log.warn({ err: error, message }, "could not post to Owncast chat");
      }
    }
  }

  function kick(): void {
    if (pumping || !client || stopped) return;
    pumping = pump(client).finally(() => {
      pumping = null;
      if (pending.length > 0) kick();
    });
  }

  return {
    enabled: client !== null,
    say(line) {
      if (!client || stopped || line.trim() === "") return;
      pending.push(line);
      kick();
    },
    async idle() {
      while (pumping) await pumping;
    },
    async stop() {
      stopped = true;
      if (pending.length > 0) log.warn({ dropped: pending.length }, "chat replies not posted because the server is stopping");
      pending.length = 0;
      while (pumping) await pumping;
    },
  };
}

function clip(line: string, maxLength: number): string {
  const chars = Array.from(line);
  return chars.length > maxLength ? `${chars.slice(0, maxLength - 1).join("")}…` : line;
}

/** "@alice #400001 builds ✔" or "@alice #400002 Hydra failure ✘ broken-tool-1.0 in buildPhase". */
function verdictLine(build: BuildView, mentions: string[], opts: { showSystem?: boolean } = {}): string | null {
  const who = mentions.map((name) => `@${name} `).join("");
  const where = opts.showSystem ? ` on ${build.system}` : "";
  if (build.status === "passed") return `${who}#${build.prNumber} builds ✔${where}`;
  if (build.status !== "failed") return null;
  const culprit = build.failedDrv ? ` ${build.failedDrv}${build.failedPhase ? ` in ${build.failedPhase}` : ""}` : "";
  return `${who}#${build.prNumber} Hydra failure ✘${culprit}${where}`;
}

export interface VerdictAnnouncerOptions {
  events: ShowEvents;
  bot: ChatBot;
  /** Display names of the chat viewers who submitted the PR; empty means the PR is not chat's. */
  chatSubmittersOf(prNumber: number): Promise<string[]>;
  /** Name the system in the line (when the show builds for more than one). */
  showSystem: boolean;
  /** Keeps the lookup in the caller's in-flight work, so shutdown and tests can wait for it. */
  track(work: Promise<unknown>): void;
  log: Logger;
}

/**
 * Announces each build's verdict in chat once, when it becomes passed or failed, addressed to the
 * viewers who sent the PR from chat. PRs nobody sent from chat stay off the chat: the stream
 * shows the projector, and the bot speaks to the people who asked. Returns the unsubscribe.
 */
export function announceVerdicts(opts: VerdictAnnouncerOptions): () => void {
  const announced = new Set<number>();
  const onBuild = (build: BuildView) => {
    if ((build.status !== "passed" && build.status !== "failed") || announced.has(build.id)) return;
    announced.add(build.id);
    if (!opts.bot.enabled) return;
    opts.track(
      opts
        .chatSubmittersOf(build.prNumber)
        .then((names) => {
          const line = names.length > 0 ? verdictLine(build, names, { showSystem: opts.showSystem }) : null;
          if (line) opts.bot.say(line);
        })
        .catch((error: unknown) => opts.log.error({ err: error, buildId: build.id }, "could not announce a verdict in chat")),
    );
  };
  // A merge is news for the whole chat, not only for the viewers who sent the PR.
  const onMerge = (view: MergeView) => {
    if (view.state === "merged" && opts.bot.enabled) opts.bot.say(mergeAnnouncement(view));
  };
  return opts.events.subscribe({ "build-updated": onBuild, "merge-updated": onMerge });
}
