import { randomBytes, randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { io, type Socket } from "socket.io-client";
import { AppError } from "../errors";
import type { ClientToServerEvents, ServerToClientEvents } from "../realtime/socket-events";
import type { QueueItemView } from "../show/views";
import { startOwncastStandIn, type OwncastStandIn } from "./owncast-stand-in";

/**
 * A simulated audience for rehearsals and soak tests: phones that join, keep a Socket.IO
 * connection as the phone page does, name PRs, upvote and predict at a person's pace, plus viewers
 * chatting through a local Owncast stand-in. Everything goes to the one show URL it is given (and
 * the stand-in it starts on 127.0.0.1). It reports what a rehearsal wants to know: how many
 * requests, which failed and why, how slow they were, and how the server's memory grew.
 */

/** The rehearsal nixpkgs' PRs (demo mode): passes, fails, a chain, a chatty log, a dependency failure, a moved head, a new package. */
export const DEMO_PR_NUMBERS = [400001, 400002, 400003, 400004, 400005, 400006, 400007];

export const MAX_PHONES = 1000;
export const MAX_DURATION_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 15_000;

export type AudienceAction = "join" | "submit" | "vote" | "predict" | "standing" | "my-submissions" | "chat";

/** What a live show answers to an audience that is doing nothing wrong: shown on the phone, not a fault. */
const REFUSAL_CODES = new Set(["rate_limited", "conflict", "not_found", "invalid_pr_reference"]);

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

export interface SimulateAudienceOptions {
  /** The show, e.g. http://127.0.0.1:3000. */
  url: string;
  phones: number;
  durationMs: number;
  /** A phone's pause between two actions, drawn evenly from [min, max]: reading, thinking, tapping. */
  thinkMs?: [number, number];
  /** Phones join spread over this long at the start, as a room fills after the QR code goes up. */
  rampUpMs?: number;
  prNumbers?: number[];
  /** Owncast chat through a local stand-in that delivers webhooks to the show; null for none. */
  chat?: { webhookSecret: string; messagesPerMinute: number } | null;
  /** The server's memory; by default `memory` from GET /api/health, when it reports it. */
  sampleMemory?: () => Promise<MemorySample | null>;
  memorySampleMs?: number;
  /** Makes the audience's choices repeatable. */
  seed?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface RehearsalReport {
  url: string;
  phones: number;
  durationMs: number;
  /** Per action: answered requests, those that succeeded, and those refused as a live show would. */
  requests: Record<AudienceAction, { sent: number; ok: number; refused: number; errors: number }>;
  /** Everything that is a fault: 5xx, unexpected 4xx, network failures, socket errors; by message. */
  errors: Array<{ what: string; count: number }>;
  /** Expected refusals (rate limits, closed predictions, PRs that do not exist), by message. */
  refusals: Array<{ what: string; count: number }>;
  latencyMs: Partial<Record<AudienceAction, LatencySummary>>;
  sockets: { connected: number; connectErrors: number; unexpectedDisconnects: number; events: number };
  chat: { sent: number; delivered: number; note: string | null };
  memory: { samples: number; first: MemorySample; last: MemorySample; peak: MemorySample } | null;
  notes: string[];
}

/** Mulberry32: small, seedable, good enough to pick what a phone does next. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function tally(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sortedCounts(map: Map<string, number>): Array<{ what: string; count: number }> {
  return [...map.entries()].map(([what, count]) => ({ what, count })).sort((a, b) => b.count - a.count);
}

/** fetch says "fetch failed"; the cause says why (ECONNREFUSED, a timeout). */
function reason(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

function checkOptions(opts: SimulateAudienceOptions): URL {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new AppError("bad_request", `${opts.url} is not a URL; give the show's address, like http://127.0.0.1:3000.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new AppError("bad_request", "The show's URL must start with http:// or https://.");
  if (!Number.isInteger(opts.phones) || opts.phones < 1 || opts.phones > MAX_PHONES) {
    throw new AppError("bad_request", `Simulate between 1 and ${MAX_PHONES} phones.`);
  }
  if (!(opts.durationMs > 0) || opts.durationMs > MAX_DURATION_MS) throw new AppError("bad_request", "Rehearse for more than 0 and at most 24 hours.");
  return url;
}

export async function simulateAudience(opts: SimulateAudienceOptions): Promise<RehearsalReport> {
  const base = checkOptions(opts).origin;
  const random = seeded(opts.seed ?? Date.now());
  const log = opts.log ?? (() => undefined);
  const [thinkMin, thinkMax] = opts.thinkMs ?? [5_000, 20_000];
  const rampUpMs = opts.rampUpMs ?? Math.min(30_000, opts.durationMs / 4);
  const prNumbers = opts.prNumbers?.length ? opts.prNumbers : DEMO_PR_NUMBERS;
  const between = (min: number, max: number) => min + random() * (max - min);
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(random() * list.length)];

  const stop = new AbortController();
  // Every phone waits on it.
  setMaxListeners(opts.phones + 10, stop.signal);
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const deadline = setTimeout(() => stop.abort(), opts.durationMs);
  const startedAt = performance.now();

  const actions: AudienceAction[] = ["join", "submit", "vote", "predict", "standing", "my-submissions", "chat"];
  const requests = Object.fromEntries(actions.map((a) => [a, { sent: 0, ok: 0, refused: 0, errors: 0 }])) as RehearsalReport["requests"];
  const latencies = new Map<AudienceAction, number[]>();
  const errors = new Map<string, number>();
  const refusals = new Map<string, number>();
  const notes: string[] = [];
  const sockets = { connected: 0, connectErrors: 0, unexpectedDisconnects: 0, events: 0 };

  /** One request as the phone page makes it; the answer's JSON, or null when it was not a success. */
  async function call(action: AudienceAction, method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    requests[action].sent += 1;
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      const list = latencies.get(action) ?? [];
      list.push(performance.now() - t0);
      latencies.set(action, list);
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // A non-JSON answer is reported below by its status.
      }
      if (res.ok) {
        requests[action].ok += 1;
        return json;
      }
      const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
      const what = `${method} ${path.replace(/\?.*$/, "")} → ${res.status} ${error?.code ?? ""}: ${(error?.message ?? text).slice(0, 160)}`;
      if (res.status < 500 && error?.code && REFUSAL_CODES.has(error.code)) {
        requests[action].refused += 1;
        tally(refusals, what.replace(/#?\d{4,}/g, "#N").replace(/\d+ s\b/g, "N s"));
      } else {
        requests[action].errors += 1;
        tally(errors, what);
      }
    } catch (error) {
      requests[action].errors += 1;
      tally(errors, `${method} ${path.replace(/\?.*$/, "")} → no answer: ${reason(error)}`);
    }
    return null;
  }

  function submissionText(): string {
    const roll = random();
    const n = pick(prNumbers)!;
    if (roll < 0.06) return pick(["lol", "build everything!", "nixpkgs#hello", "can we build firefox"])!;
    if (roll < 0.1) return `#${390000 + Math.floor(random() * 9000)}`;
    if (roll < 0.4) return `https://github.com/NixOS/nixpkgs/pull/${n}`;
    if (roll < 0.7) return `#${n}`;
    return String(n);
  }

  async function phone(index: number): Promise<void> {
    await sleep((rampUpMs * index) / Math.max(1, opts.phones), stop.signal);
    if (stop.signal.aborted) return;
    const token = randomUUID();
    const joined = await call("join", "POST", "/api/devices", { deviceToken: token, nickname: `Rehearsal${index + 1}`, via: "web" });
    if (joined === null) return;

    let queue: QueueItemView[] = [];
    let closing = false;
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(base, {
      path: "/socket.io/",
      transports: ["websocket", "polling"],
      forceNew: true,
      auth: { role: "phone", deviceToken: token },
    });
    socket.on("connect", () => (sockets.connected += 1));
    socket.on("connect_error", (error) => {
      sockets.connectErrors += 1;
      tally(errors, `socket.io connect → ${error.message}`);
    });
    socket.on("disconnect", (reason) => {
      if (closing) return;
      sockets.unexpectedDisconnects += 1;
      tally(errors, `socket.io disconnected: ${reason}`);
    });
    socket.onAny(() => (sockets.events += 1));
    socket.on("snapshot", (s) => (queue = s.queue));
    socket.on("queue", (q) => (queue = q));

    const mine = new Set<number>();
    try {
      while (!stop.signal.aborted) {
        await sleep(between(thinkMin, thinkMax), stop.signal);
        if (stop.signal.aborted) break;
        const roll = random();
        const open = queue.filter((q) => q.state === "queued");
        if (roll < 0.15 || queue.length === 0) {
          const answer = (await call("submit", "POST", "/api/submissions", { pr: submissionText(), deviceToken: token })) as { prNumber?: number } | null;
          if (answer?.prNumber) mine.add(answer.prNumber);
        } else if (roll < 0.5) {
          const target = pick(queue.filter((q) => !mine.has(q.prNumber)));
          if (target) await call("vote", "POST", "/api/votes", { deviceToken: token, prNumber: target.prNumber });
        } else if (roll < 0.8) {
          const target = pick(open.filter((q) => !q.predictionsLocked));
          if (target) await call("predict", "POST", "/api/predictions", { deviceToken: token, prNumber: target.prNumber, guess: random() < 0.6 ? "builds" : "fails" });
        } else if (roll < 0.9) {
          await call("standing", "GET", "/api/devices/me/standing", undefined, { "x-device-token": token });
        } else {
          await call("my-submissions", "GET", "/api/devices/me/submissions", undefined, { "x-device-token": token });
        }
      }
    } finally {
      closing = true;
      socket.disconnect();
    }
  }

  const chat = { sent: 0, delivered: 0, note: null as string | null };
  async function chatter(): Promise<void> {
    if (!opts.chat) {
      chat.note = "No chat rehearsed: that needs the show's OWNCAST_WEBHOOK_SECRET.";
      return;
    }
    let owncast: OwncastStandIn | null = null;
    try {
      owncast = await startOwncastStandIn({
        webhookUrl: `${base}/api/owncast/webhook?token=${encodeURIComponent(opts.chat.webhookSecret)}`,
        webhookSecret: opts.chat.webhookSecret,
        accessToken: randomBytes(16).toString("hex"),
      });
      const gapMs = 60_000 / Math.max(0.1, opts.chat.messagesPerMinute);
      const say = async () => {
        const n = pick(prNumbers)!;
        const body = pick([`!pr ${n}`, `#${n} please`, `build ${n}!`, "this is so nix", "what is a derivation?", "go go go"])!;
        chat.sent += 1;
        requests.chat.sent += 1;
        const t0 = performance.now();
        const { status } = await owncast!.sendChat({ displayName: `viewer${1 + Math.floor(random() * 40)}`, body });
        const list = latencies.get("chat") ?? [];
        list.push(performance.now() - t0);
        latencies.set("chat", list);
        return status;
      };
      const first = await say();
      if (first !== 200 && first !== 202) {
        requests.chat.sent -= 1;
        chat.sent -= 1;
        latencies.delete("chat");
        chat.note = `Chat skipped: the show answered ${first === 0 ? "nothing" : first} to the Owncast webhook (chat not wired in, or OWNCAST_WEBHOOK_SECRET differs).`;
        log(chat.note);
        return;
      }
      chat.delivered += 1;
      requests.chat.ok += 1;
      while (!stop.signal.aborted) {
        await sleep(between(gapMs / 2, gapMs * 1.5), stop.signal);
        if (stop.signal.aborted) break;
        const status = await say();
        if (status === 200 || status === 202) {
          chat.delivered += 1;
          requests.chat.ok += 1;
        } else {
          requests.chat.errors += 1;
          tally(errors, `Owncast webhook → ${status === 0 ? "no answer" : status}`);
        }
      }
    } finally {
      await owncast?.close();
    }
  }

  const sampleMemory =
    opts.sampleMemory ??
    (async () => {
      const res = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const body = (await res.json().catch(() => null)) as { memory?: { rss?: unknown; heapUsed?: unknown } } | null;
      const m = body?.memory;
      return typeof m?.rss === "number" && typeof m.heapUsed === "number" ? { rss: m.rss, heapUsed: m.heapUsed } : null;
    });
  const memory: MemorySample[] = [];
  let memoryNote: string | null = null;
  async function sample(): Promise<void> {
    try {
      const m = await sampleMemory();
      if (m) memory.push(m);
      else memoryNote ??= "The server does not report its memory (GET /api/health has no `memory` field), so memory growth is not measured.";
    } catch (error) {
      memoryNote ??= `Could not read the server's memory: ${reason(error)}.`;
    }
  }
  async function memoryWatch(): Promise<void> {
    while (!stop.signal.aborted) {
      await sleep(opts.memorySampleMs ?? 10_000, stop.signal);
      if (!stop.signal.aborted) await sample();
    }
  }

  const progress = setInterval(() => {
    const sent = Object.values(requests).reduce((n, r) => n + r.sent, 0);
    const failed = Object.values(requests).reduce((n, r) => n + r.errors, 0);
    log(`${Math.round((performance.now() - startedAt) / 1000)} s: ${sent} requests, ${failed} errors, ${sockets.connected} sockets connected`);
  }, 30_000);

  try {
    await sample();
    await Promise.all([...Array.from({ length: opts.phones }, (_, i) => phone(i)), chatter(), memoryWatch()]);
    await sample();
  } finally {
    clearTimeout(deadline);
    clearInterval(progress);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }

  if (memoryNote) notes.push(memoryNote);
  if (chat.note) notes.push(chat.note);
  const latencyMs: RehearsalReport["latencyMs"] = {};
  for (const [action, samples] of latencies) latencyMs[action] = summarise(samples);
  const peakOf = (key: keyof MemorySample) => Math.max(...memory.map((m) => m[key]));
  return {
    url: base,
    phones: opts.phones,
    durationMs: Math.round(performance.now() - startedAt),
    requests,
    errors: sortedCounts(errors),
    refusals: sortedCounts(refusals),
    latencyMs,
    sockets,
    chat,
    memory: memory.length ? { samples: memory.length, first: memory[0]!, last: memory.at(-1)!, peak: { rss: peakOf("rss"), heapUsed: peakOf("heapUsed") } } : null,
    notes,
  };
}

const MB = 1024 * 1024;

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function signedMb(bytes: number): string {
  return `${bytes >= 0 ? "+" : "−"}${mb(Math.abs(bytes))}`;
}

/** The report as a person reads it at the end of a rehearsal. */
export function formatRehearsalReport(r: RehearsalReport): string {
  const lines = [`Rehearsal against ${r.url}: ${r.phones} phones for ${Math.round(r.durationMs / 1000)} s`, ""];
  lines.push("requests        sent     ok  refused  errors    p50     p95     p99     max (ms)");
  for (const [action, c] of Object.entries(r.requests)) {
    if (c.sent === 0) continue;
    const l = r.latencyMs[action as AudienceAction];
    const num = (n: number | undefined) => String(n ?? "–").padStart(7);
    lines.push(
      `${action.padEnd(14)} ${String(c.sent).padStart(5)} ${String(c.ok).padStart(6)} ${String(c.refused).padStart(8)} ${String(c.errors).padStart(7)} ${num(l?.p50)} ${num(l?.p95)} ${num(l?.p99)} ${num(l?.max)}`,
    );
  }
  lines.push("", `sockets: ${r.sockets.connected} connected, ${r.sockets.connectErrors} connect errors, ${r.sockets.unexpectedDisconnects} dropped, ${r.sockets.events} events received`);
  if (r.chat.sent) lines.push(`chat: ${r.chat.delivered} of ${r.chat.sent} messages delivered`);
  if (r.memory) {
    const { first, last, peak } = r.memory;
    lines.push(
      `server memory: rss ${mb(first.rss)} → ${mb(last.rss)} (${signedMb(last.rss - first.rss)}, peak ${mb(peak.rss)}); heap ${mb(first.heapUsed)} → ${mb(last.heapUsed)} (${signedMb(last.heapUsed - first.heapUsed)}), ${r.memory.samples} samples`,
    );
  }
  if (r.refusals.length) lines.push("", "refused, as a live show would (not errors):", ...r.refusals.slice(0, 10).map((e) => `  ${String(e.count).padStart(5)} × ${e.what}`));
  lines.push("", r.errors.length ? "ERRORS:" : "No errors.", ...r.errors.slice(0, 20).map((e) => `  ${String(e.count).padStart(5)} × ${e.what}`));
  if (r.notes.length) lines.push("", ...r.notes.map((n) => `note: ${n}`));
  return lines.join("\n");
}
