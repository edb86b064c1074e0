/**
 * Realtime log streaming: real nix builds of the rehearsal `chatty` package, three at a time at
 * about 2,000 log lines a second each, streamed to projector sockets while a crowd of phone
 * sockets is connected. Measures projector latency (line appended on the server → chunk received),
 * the server's event-loop delay, CPU and memory, and lines lost after each projector backfills.
 *
 *   node --import tsx bench/realtime.ts [--minutes 10] [--phones 1000] [--projectors 3] [--builds 3]
 *     [--lines-per-second 2000] [--build-seconds 90] [--batch-overhead-ms 4.5] [--wait-quiet PCT]
 *     [--profile DIR] [--json out.json]
 *
 * The log store keeps at most 200,000 lines per build, so a long run chains builds: three lanes,
 * each starting the next chatty PR (400101…, one chatty version each, so every build is a new
 * derivation) as soon as its previous build ends; the builds still running at the end are cancelled.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { io, type Socket } from "socket.io-client";
import { ensureNextBuild } from "@/server/ensure-next-build";
import type { ClientToServerEvents, ServerToClientEvents } from "@/server/realtime/socket-events";
import { FINISHED_BUILD_STATUSES, type BuildView, type LogLine } from "@/server/show/views";
import {
  STAMP_BYTES,
  cpuPressure,
  cpuTimes,
  httpRequest,
  machine,
  round,
  sleep,
  startBenchChild,
  startServeProcess,
  summarize,
  waitForQuiet,
  type ServerMetrics,
} from "./bench-support";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    phones: { type: "string", default: "1000" },
    projectors: { type: "string", default: "3" },
    builds: { type: "string", default: "3" },
    "lines-per-second": { type: "string", default: "2000" },
    "build-seconds": { type: "string", default: "90" },
    "batch-overhead-ms": { type: "string", default: "4.5" },
    "wait-quiet": { type: "string", default: "0" },
    profile: { type: "string" },
    json: { type: "string" },
  },
});
const durationMs = Number(args.minutes) * 60_000;
const phoneCount = Number(args.phones);
const projectorCount = Number(args.projectors);
const lanes = Number(args.builds);
const linesPerSecond = Number(args["lines-per-second"]);
const buildSeconds = Number(args["build-seconds"]);
const linesPerBuild = Math.round(linesPerSecond * buildSeconds);
if (!(durationMs > 0) || !(lanes >= 1) || !(projectorCount >= 1) || !(phoneCount >= 0) || !(linesPerBuild >= 1)) {
  throw new Error("--minutes, --builds, --projectors, --phones, --lines-per-second and --build-seconds must be positive numbers");
}
// LogStore's default cap (200,000) plus room for nix's own lines.
if (linesPerBuild > 195_000) throw new Error(`${linesPerBuild} lines per build is over the log store's cap; lower --build-seconds`);
const prsPerLane = Math.ceil(durationMs / (buildSeconds * 1000)) + 1;
// chatty sleeps after every 50 lines; the loop and the `sleep` fork around it cost about
// --batch-overhead-ms per batch on this machine, so its pause is shortened by that much.
const chattySeconds = Math.max(0, buildSeconds - (Math.ceil(linesPerBuild / 50) * Number(args["batch-overhead-ms"])) / 1000);

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What one projector received of one build: whether it has each line, and when it came live. */
class Track {
  got = new Uint8Array(1 << 18);
  /** Date.now() when the line arrived in a pushed chunk; 0 when it came from a backfill. */
  live = new Float64Array(1 << 18);
  liveLines = 0;
  backfilledLines = 0;
  duplicates = 0;
  chunks = 0;
  /** Pushed chunks that did not start right after the highest line seen so far (a gap or a repeat). */
  gaps = 0;
  maxSeq = 0;

  private ensure(seq: number) {
    if (seq < this.got.length) return;
    let size = this.got.length;
    while (size <= seq) size *= 2;
    const got = new Uint8Array(size);
    got.set(this.got);
    const live = new Float64Array(size);
    live.set(this.live);
    this.got = got;
    this.live = live;
  }

  take(lines: LogLine[], at: number | null): void {
    for (const { seq } of lines) {
      this.ensure(seq);
      if (this.got[seq]) {
        this.duplicates += 1;
        continue;
      }
      this.got[seq] = 1;
      if (at === null) this.backfilledLines += 1;
      else {
        this.live[seq] = at;
        this.liveLines += 1;
      }
      if (seq > this.maxSeq) this.maxSeq = seq;
    }
  }

  missing(total: number): number[] {
    const out: number[] = [];
    for (let seq = 1; seq <= total; seq++) if (seq >= this.got.length || !this.got[seq]) out.push(seq);
    return out;
  }
}

class Projector {
  readonly socket: Client;
  readonly builds = new Map<number, Track>();
  reconnects = 0;
  subscribeErrors = 0;

  constructor(url: string, onBuild: (b: BuildView) => void) {
    this.socket = io(url, { path: "/socket.io/", transports: ["websocket"], forceNew: true, auth: { role: "screen" } });
    this.socket.on("build", (b) => {
      onBuild(b);
      if (!this.builds.has(b.id) && !FINISHED_BUILD_STATUSES.includes(b.status)) this.subscribe(b.id, 1);
    });
    this.socket.on("log", (chunk) => {
      const at = Date.now();
      const track = this.builds.get(chunk.buildId);
      if (!track) return;
      track.chunks += 1;
      if (chunk.fromSeq !== track.maxSeq + 1) track.gaps += 1;
      track.take(chunk.lines, at);
    });
    // Like the stage page: after a reconnect, subscribe again from the last line of each build.
    this.socket.io.on("reconnect", () => {
      this.reconnects += 1;
      for (const [id, track] of this.builds) this.subscribe(id, track.maxSeq + 1);
    });
  }

  private subscribe(buildId: number, fromSeq: number): void {
    if (!this.builds.has(buildId)) this.builds.set(buildId, new Track());
    this.socket.emit("log:subscribe", { buildId, fromSeq }, (res) => {
      if ("error" in res) this.subscribeErrors += 1;
      else this.builds.get(buildId)!.take(res.lines, null);
    });
  }

  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("connect_error", reject);
    });
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return num / den;
}

console.log("[bench] making sure the production web build is current…");
ensureNextBuild();
const stampFile = path.join(os.tmpdir(), `mafhf-bench-stamps-${Date.now()}.bin`);
const logPath = path.join(os.tmpdir(), `mafhf-bench-realtime-${Date.now()}.log`);
console.log(
  `[bench] starting the show with ${lanes * prsPerLane} chatty PRs of ${linesPerBuild} lines in ~${buildSeconds} s each; server log: ${logPath}`,
);
const server = await startServeProcess(
  [
    "--web",
    "--chatty-prs", String(lanes * prsPerLane),
    "--chatty-lines", String(linesPerBuild),
    "--chatty-seconds", String(round(chattySeconds, 2)),
    "--metrics-ms", "10000",
    "--stamp-file", stampFile,
    "--max-minutes", String(Number(args.minutes) + 30),
    "--env", `MAX_PARALLEL_BUILDS=${lanes}`,
    "--env", "BUILD_TIMEOUT_SECONDS=3600",
  ],
  logPath,
  { nodeArgs: ["--expose-gc", ...(args.profile ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(args.profile)] : [])] },
);
const { url, hostPassword, chattyPrs } = server.ready;
console.log(`[bench] show at ${url}`);

let phones: Awaited<ReturnType<typeof startBenchChild<Record<string, unknown>>>> | null = null;
const projectors: Projector[] = [];
try {
  for (const p of ["/api/health", "/api/snapshot", "/stage"]) await httpRequest(`${url}${p}`);

  if (phoneCount > 0) {
    console.log(`[bench] connecting ${phoneCount} phone sockets (another process)…`);
    phones = await startBenchChild<Record<string, unknown>>("phone-crowd.ts", ["--url", url, "--count", String(phoneCount)], {
      logPath: `${logPath}.phones`,
      readyKey: "phones-ready",
      readyTimeoutMs: 5 * 60_000,
    });
    console.log(`[bench] phones: ${JSON.stringify(phones.ready)}`);
  }

  const views = new Map<number, BuildView>();
  for (let i = 0; i < projectorCount; i++) {
    projectors.push(new Projector(url, i === 0 ? (b) => views.set(b.id, b) : () => {}));
  }
  await Promise.all(projectors.map((p) => p.connected()));

  // The host signs in; every build is started the way the host console does it.
  const session = await httpRequest(`${url}/api/host/session`, { json: { password: hostPassword } });
  if (session.status !== 200) throw new Error(`host sign-in failed: ${session.status} ${session.body}`);
  const hostHeaders = {
    cookie: String(session.headers["set-cookie"]?.[0] ?? "").split(";")[0]!,
    "x-csrf-token": (JSON.parse(session.body) as { csrfToken: string }).csrfToken,
  };
  const finished = (id: number) => {
    const status = views.get(id)?.status;
    return status !== undefined && FINISHED_BUILD_STATUSES.includes(status);
  };
  const startBuild = async (pr: number): Promise<number> => {
    const submitted = await httpRequest(`${url}/api/submissions`, { json: { pr: `#${pr}`, deviceToken: `bench-host-${randomUUID()}` } });
    if (submitted.status !== 201) throw new Error(`submitting #${pr} gave ${submitted.status}: ${submitted.body}`);
    const started = await httpRequest(`${url}/api/host/builds`, { json: { pr }, headers: hostHeaders });
    if (started.status !== 202) throw new Error(`starting #${pr} gave ${started.status}: ${started.body}`);
    return (JSON.parse(started.body) as { builds: BuildView[] }).builds[0]!.id;
  };

  const quiet = Number(args["wait-quiet"]);
  if (quiet > 0) {
    console.log(`[bench] waiting (up to 10 min) for CPU pressure from other work to fall below ${quiet}%…`);
    console.log(`[bench] ${JSON.stringify(await waitForQuiet(quiet, 10 * 60_000))}`);
  }
  const retainedBefore = await retained();
  const clientLoop = monitorEventLoopDelay({ resolution: 10 });
  clientLoop.enable();
  const pressureBefore = cpuPressure();
  const cpuBefore = cpuTimes();
  server.send("mark");
  const startedAt = Date.now();
  const deadline = startedAt + durationMs;
  console.log(`[bench] ${lanes} lanes of builds for ${args.minutes} min…`);

  const buildIds: number[] = [];
  const cancelled: number[] = [];
  const lane = async (prs: number[]) => {
    for (const pr of prs) {
      if (Date.now() >= deadline) return;
      const id = await startBuild(pr);
      buildIds.push(id);
      while (!finished(id) && Date.now() < deadline) await sleep(200);
      if (!finished(id)) {
        const r = await httpRequest(`${url}/api/host/builds/${id}/cancel`, { method: "POST", json: {}, headers: hostHeaders });
        if (r.status >= 300) console.log(`[bench] cancelling build ${id}: ${r.status} ${r.body}`);
        cancelled.push(id);
      }
    }
  };
  const progress = setInterval(() => {
    const m = server.metrics.at(-1);
    const running = [...views.values()].filter((v) => v.status === "running").length;
    console.log(
      `[bench] ${round((Date.now() - startedAt) / 60_000)} min: ${running} running, ${buildIds.length} started, lines stamped ${m?.stamped ?? "?"}, loop p99 ${round(m?.loopP99Ms ?? NaN)} ms, rss ${round(m?.rssMb ?? NaN)} MB`,
    );
  }, 30_000);
  await Promise.all(Array.from({ length: lanes }, (_, i) => lane(chattyPrs.slice(i * prsPerLane, (i + 1) * prsPerLane))));
  for (let i = 0; i < 300 && !buildIds.every(finished); i++) await sleep(200);
  clearInterval(progress);
  const endedAt = Date.now();
  const cpuAfter = cpuTimes();
  const pressureAfter = cpuPressure();
  server.send("report");
  await sleep(1_000); // the last batch leaves within LOG_BATCH_MS; the report arrives
  const clientLoopP99 = Math.max(0, clientLoop.percentile(99) / 1e6 - 10);

  // ----- each projector backfills what it did not get live, like the stage does after a gap
  const perBuild: Array<{ id: number; total: number; status: string; missingLive: number[]; lostAfterBackfill: number[] }> = [];
  for (const id of buildIds) {
    const first = await httpRequest(`${url}/api/builds/${id}/log?from=1&limit=1`);
    const total = (JSON.parse(first.body) as { total: number }).total;
    const missingLive: number[] = [];
    const lost: number[] = [];
    for (const p of projectors) {
      const track = p.builds.get(id) ?? new Track();
      if (!p.builds.has(id)) p.builds.set(id, track);
      let missing = track.missing(total);
      missingLive.push(missing.length);
      while (missing.length > 0) {
        const from = missing[0]!;
        const page = await httpRequest(`${url}/api/builds/${id}/log?from=${from}&limit=20000`);
        const lines = (JSON.parse(page.body) as { lines: LogLine[] }).lines;
        track.take(lines, null);
        const still = track.missing(total);
        if (still.length === missing.length) break; // the store has nothing more to give
        missing = still;
      }
      lost.push(track.missing(total).length);
    }
    perBuild.push({ id, total, status: views.get(id)?.status ?? "?", missingLive, lostAfterBackfill: lost });
  }

  // Every build is over and every client is idle: what the server still holds after a full GC.
  const retainedAfter = await retained();
  const phonesFinal = phones ? await stopPhones(phones) : null;
  phones = null;
  for (const p of projectors) p.socket.disconnect();
  const metrics: ServerMetrics[] = server.metrics.filter((m) => m.at >= startedAt);
  await server.stop();

  // ----- join: when the server appended each line × when each projector got it live
  const stamps = readFileSync(stampFile);
  rmSync(stampFile, { force: true });
  const latencies = new Float64Array((stamps.length / STAMP_BYTES) * projectors.length);
  let n = 0;
  const perMinute = new Map<number, number[]>();
  let firstStamp = Infinity;
  let lastStamp = 0;
  let stampCount = 0;
  const buildSpans = new Map<number, { first: number; last: number; count: number }>();
  for (let off = 0; off + STAMP_BYTES <= stamps.length; off += STAMP_BYTES) {
    const buildId = stamps.readInt32LE(off);
    const seq = stamps.readInt32LE(off + 4);
    const at = stamps.readDoubleLE(off + 8);
    if (at < startedAt || at > endedAt) continue;
    stampCount += 1;
    const span = buildSpans.get(buildId) ?? { first: at, last: at, count: 0 };
    span.last = at;
    span.count += 1;
    buildSpans.set(buildId, span);
    firstStamp = Math.min(firstStamp, at);
    lastStamp = Math.max(lastStamp, at);
    const minute = Math.floor((at - startedAt) / 60_000);
    for (const p of projectors) {
      const received = p.builds.get(buildId)?.live[seq];
      if (!received) continue;
      latencies[n++] = received - at;
      if (!perMinute.has(minute)) perMinute.set(minute, []);
      perMinute.get(minute)!.push(received - at);
    }
  }
  const latency = summarize(latencies.subarray(0, n));
  const streamedS = (lastStamp - firstStamp) / 1000;

  const steady = metrics.filter((m) => m.at >= startedAt + 60_000);
  const lastMetrics = metrics.at(-1);
  const memory = {
    samples: metrics.map((m) => ({ min: round((m.at - startedAt) / 60_000, 2), rssMb: round(m.rssMb), heapUsedMb: round(m.heapUsedMb), externalMb: round(m.externalMb) })),
    retainedAfterGc: { before: retainedBefore, after: retainedAfter },
    rssSlopeMbPerMin: round(slope(steady.map((m) => [(m.at - startedAt) / 60_000, m.rssMb])), 2),
    heapSlopeMbPerMin: round(slope(steady.map((m) => [(m.at - startedAt) / 60_000, m.heapUsedMb])), 2),
    rssMinMaxMb: steady.length ? [round(Math.min(...steady.map((m) => m.rssMb))), round(Math.max(...steady.map((m) => m.rssMb)))] : null,
    heapMinMaxMb: steady.length ? [round(Math.min(...steady.map((m) => m.heapUsedMb))), round(Math.max(...steady.map((m) => m.heapUsedMb)))] : null,
  };
  const lostTotal = perBuild.reduce((a, b) => a + b.lostAfterBackfill.reduce((x, y) => x + y, 0), 0);
  const loopP99 = lastMetrics?.runLoopP99Ms ?? NaN;
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    machineBusyPercent: round((100 * (cpuAfter.busy - cpuBefore.busy)) / (cpuAfter.total - cpuBefore.total)),
    cpuPressure: { before: pressureBefore, after: pressureAfter },
    command: `node --import tsx bench/realtime.ts --minutes ${args.minutes} --phones ${phoneCount} --projectors ${projectorCount} --builds ${lanes} --lines-per-second ${linesPerSecond} --build-seconds ${buildSeconds} --batch-overhead-ms ${args["batch-overhead-ms"]}`,
    runS: round((endedAt - startedAt) / 1000),
    builds: perBuild.length,
    cancelledAtEnd: cancelled.length,
    linesStreamed: stampCount,
    linesPerSecondAllBuilds: round(stampCount / streamedS),
    projectorLatencyMs: {
      count: latency.count,
      p50: round(latency.p50),
      p95: round(latency.p95),
      p99: round(latency.p99),
      max: round(latency.max),
      mean: round(latency.mean),
      p99ByMinute: [...perMinute].sort((a, b) => a[0] - b[0]).map(([m, v]) => [m, round(summarize(v).p99)]),
    },
    serverLoopDelayMs: {
      p50: round(lastMetrics?.runLoopP50Ms ?? NaN),
      p99: round(loopP99),
      max: round(lastMetrics?.runLoopMaxMs ?? NaN),
      worstWindowP99: round(Math.max(...metrics.map((m) => m.loopP99Ms))),
    },
    serverCpuPercent: round(lastMetrics?.runCpuPercent ?? NaN),
    memory,
    lines: {
      storedTotal: perBuild.reduce((a, b) => a + b.total, 0),
      missingLivePerProjector: projectors.map((_, i) => perBuild.reduce((a, b) => a + b.missingLive[i]!, 0)),
      lostAfterBackfill: lostTotal,
      gapsSeenLive: projectors.map((p) => [...p.builds.values()].reduce((a, t) => a + t.gaps, 0)),
      duplicates: projectors.map((p) => [...p.builds.values()].reduce((a, t) => a + t.duplicates, 0)),
      chunks: projectors.map((p) => [...p.builds.values()].reduce((a, t) => a + t.chunks, 0)),
    },
    perBuild: perBuild.map((b) => {
      const span = buildSpans.get(b.id);
      const rate = span ? span.count / Math.max(0.001, (span.last - span.first) / 1000) : NaN;
      return { id: b.id, status: b.status, total: b.total, linesPerSecond: round(rate), missingLive: b.missingLive, lost: b.lostAfterBackfill };
    }),
    projectors: projectors.map((p) => ({ reconnects: p.reconnects, subscribeErrors: p.subscribeErrors })),
    clientLoopP99Ms: round(clientLoopP99),
    phones: phonesFinal,
    goals: {
      latencyP99AtMost250ms: latency.p99 <= 250,
      loopP99AtMost50ms: loopP99 <= 50,
      zeroLost: lostTotal === 0,
      flatMemory: "see memory: slopes and min/max after the first minute",
    },
  };
  console.log(JSON.stringify(report, null, 2));
  if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  if (phones) await stopPhones(phones);
  for (const p of projectors) p.socket.disconnect();
  await server.stop();
  rmSync(stampFile, { force: true });
}

/** Asks the server for a forced GC and the heap it retains afterwards. */
async function retained(): Promise<{ rssMb: number; heapUsedMb: number; externalMb: number } | null> {
  const seen = server.records.length;
  server.send("gc");
  for (let i = 0; i < 100; i++) {
    const r = server.records.slice(seen).find((x) => x.bench === "retained");
    if (r) return { rssMb: round(Number(r.rssMb)), heapUsedMb: round(Number(r.heapUsedMb)), externalMb: round(Number(r.externalMb)) };
    await sleep(100);
  }
  return null;
}

async function stopPhones(child: NonNullable<typeof phones>): Promise<Record<string, unknown> | null> {
  await child.stop(10_000);
  return child.records.find((r) => r.bench === "phones-final") ?? null;
}
