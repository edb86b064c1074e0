/**
 * The show wired to a rehearsal kit (mini-nixpkgs + GitHub stand-in, run by
 * bench/rehearsal-kit-process.ts in a process of its own) on a fresh SQLite database, as its own
 * process, for the benchmarks: what tests/helpers/show-harness.ts does, plus a few bench-only
 * probes that live here and not in the app. --chatty-prs N adds PRs 400101… that each build a
 * chatty of their own version.
 *
 *   node --import tsx bench/serve-rehearsal.ts [--web] [--chatty-lines N] [--chatty-seconds S]
 *     [--chatty-prs N] [--metrics-ms MS] [--stamp-file PATH] [--max-minutes M] [--keep]
 *     [--env KEY=VALUE ...]
 *
 * stdout carries one JSON object per line with a "bench" key (pino's log lines go there too and
 * have none): first {"bench":"ready", url, databasePath, hostPassword, chattyPrs, …}, then with
 * --metrics-ms {"bench":"metrics", …} every MS (event-loop delay, memory, CPU of this process;
 * the run* fields since the last "mark" line on stdin; a "report" line samples at once; "gc"
 * prints {"bench":"retained"}, the heap after a forced collection, with node --expose-gc), and
 * {"bench":"stopped"} last. With --stamp-file it records when every log line was appended. It
 * stops on SIGTERM/SIGINT, when stdin closes (its parent died), or after --max-minutes.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { loadConfig } from "@/server/config";
import { ensureNextBuild } from "@/server/ensure-next-build";
import { startShow } from "@/server/index";
import type { LogLine } from "@/server/show/views";
import { STAMP_BYTES, startBenchChild } from "./bench-support";

const BENCH_HOST_PASSWORD = "bench-host-password";

const { values: args } = parseArgs({
  options: {
    web: { type: "boolean", default: false },
    "chatty-lines": { type: "string" },
    "chatty-seconds": { type: "string" },
    "chatty-prs": { type: "string", default: "0" },
    "metrics-ms": { type: "string", default: "0" },
    "stamp-file": { type: "string" },
    "max-minutes": { type: "string", default: "60" },
    size: { type: "string", default: "5" },
    keep: { type: "boolean", default: false },
    env: { type: "string", multiple: true, default: [] },
  },
});

function numberArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number of at least 0; got ${JSON.stringify(value)}`);
  return n;
}

function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

const envOverrides: Record<string, string> = {};
for (const pair of args.env) {
  const eq = pair.indexOf("=");
  if (eq < 1) throw new Error(`--env takes KEY=VALUE; got ${JSON.stringify(pair)}`);
  envOverrides[pair.slice(0, eq)] = pair.slice(eq + 1);
}

const chattyLines = numberArg("chatty-lines", args["chatty-lines"]);
const chattySeconds = numberArg("chatty-seconds", args["chatty-seconds"]);
const chattyPrCount = numberArg("chatty-prs", args["chatty-prs"]) ?? 0;
const metricsMs = numberArg("metrics-ms", args["metrics-ms"]) ?? 0;
const maxMinutes = numberArg("max-minutes", args["max-minutes"]) ?? 60;

if (args.web) ensureNextBuild();

const dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-bench-"));
// GitHub and the upstream git repository live in another process, as they would in production.
const kit = await startBenchChild<{ env: Record<string, string>; system: string; chattyPrs: number[] }>(
  "rehearsal-kit-process.ts",
  [
    "--dir", dir,
    "--size", args.size,
    "--chatty-prs", String(chattyPrCount),
    ...(chattyLines === undefined ? [] : ["--chatty-lines", String(chattyLines)]),
    ...(chattySeconds === undefined ? [] : ["--chatty-seconds", String(chattySeconds)]),
  ],
  { logPath: path.join(dir, "rehearsal-kit.log"), readyKey: "kit-ready" },
);
const { system, chattyPrs } = kit.ready;

const databasePath = path.join(dir, "show.db");
const config = loadConfig(
  {
    ...kit.ready.env,
    NODE_ENV: "production",
    PORT: "0",
    BIND_HOST: "127.0.0.1",
    DATABASE_URL: `file:${databasePath}`,
    VAR_DIR: path.join(dir, "var"),
    HOST_PASSWORD: BENCH_HOST_PASSWORD,
    ...envOverrides,
  },
  {},
);
const show = await startShow({ config, web: args.web });

// When each line was appended, recorded in this process (the app's LogLine has no timestamp).
// Written out in blocks so the stamps do not grow this process's memory.
const stampFile = args["stamp-file"];
let stampBlock = Buffer.alloc(4096 * STAMP_BYTES);
let stampUsed = 0;
let stamped = 0;
const flushStamps = () => {
  if (!stampFile || stampUsed === 0) return;
  appendFileSync(stampFile, stampBlock.subarray(0, stampUsed));
  stampBlock = Buffer.alloc(stampBlock.length);
  stampUsed = 0;
};
if (stampFile) {
  writeFileSync(stampFile, "");
  show.context.events.on("build-log", ({ buildId, line }: { buildId: number; line: LogLine }) => {
    stampBlock.writeInt32LE(buildId, stampUsed);
    stampBlock.writeInt32LE(line.seq, stampUsed + 4);
    stampBlock.writeDoubleLE(Date.now(), stampUsed + 8);
    stampUsed += STAMP_BYTES;
    stamped += 1;
    if (stampUsed === stampBlock.length) flushStamps();
  });
}

// Event-loop delay and memory of the server process, per window and since the last "mark".
const RESOLUTION_MS = 5;
const windowDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
const runDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
// The histograms hold the time between timer ticks, so the resolution is taken off.
const delayMs = (h: IntervalHistogram, p: number) => Math.max(0, h.percentile(p) / 1e6 - RESOLUTION_MS);
let runCpu = process.cpuUsage();
let runAt = performance.now();
let lastCpu = process.cpuUsage();
let lastAt = performance.now();
const sample = () => {
  flushStamps();
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  const sinceMark = process.cpuUsage(runCpu);
  const mem = process.memoryUsage();
  emit({
    bench: "metrics",
    at: Date.now(),
    loopP50Ms: delayMs(windowDelay, 50),
    loopP99Ms: delayMs(windowDelay, 99),
    loopMaxMs: Math.max(0, windowDelay.max / 1e6 - RESOLUTION_MS),
    cpuPercent: ((cpu.user + cpu.system) / 1000 / (now - lastAt)) * 100,
    runLoopP50Ms: delayMs(runDelay, 50),
    runLoopP99Ms: delayMs(runDelay, 99),
    runLoopMaxMs: Math.max(0, runDelay.max / 1e6 - RESOLUTION_MS),
    runCpuPercent: ((sinceMark.user + sinceMark.system) / 1000 / (now - runAt)) * 100,
    rssMb: mem.rss / 2 ** 20,
    heapUsedMb: mem.heapUsed / 2 ** 20,
    heapTotalMb: mem.heapTotal / 2 ** 20,
    externalMb: mem.external / 2 ** 20,
    stamped,
  });
  windowDelay.reset();
  lastCpu = process.cpuUsage();
  lastAt = now;
};
let metricsTimer: NodeJS.Timeout | null = null;
if (metricsMs > 0) {
  windowDelay.enable();
  runDelay.enable();
  metricsTimer = setInterval(sample, metricsMs);
}
/**
 * stdin commands from the benchmark: "mark" starts the measured run, "report" samples now, "gc"
 * (with node --expose-gc) collects garbage first and reports the heap that is really retained.
 */
const commands: Record<string, () => void> = {
  mark: () => {
    runDelay.reset();
    runCpu = process.cpuUsage();
    runAt = performance.now();
  },
  report: sample,
  gc: () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return emit({ bench: "retained", error: "start node with --expose-gc" });
    gc();
    gc();
    const mem = process.memoryUsage();
    emit({ bench: "retained", at: Date.now(), rssMb: mem.rss / 2 ** 20, heapUsedMb: mem.heapUsed / 2 ** 20, externalMb: mem.external / 2 ** 20 });
  },
};

emit({
  bench: "ready",
  url: show.url,
  databasePath,
  dir,
  logDir: config.logDir,
  hostPassword: BENCH_HOST_PASSWORD,
  githubApiUrl: config.githubApiUrl,
  githubToken: config.githubToken,
  system,
  chattyPrs,
  pid: process.pid,
});

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (metricsTimer) clearInterval(metricsTimer);
  flushStamps();
  try {
    await show.close();
    await kit.stop(10_000);
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    emit({ bench: "stopped", why, stamped });
    process.exit(0);
  }
}
process.once("SIGTERM", () => void stop("SIGTERM"));
process.once("SIGINT", () => void stop("SIGINT"));
createInterface({ input: process.stdin })
  .on("line", (line) => commands[line.trim()]?.())
  .on("close", () => void stop("stdin closed"));
setTimeout(() => void stop(`--max-minutes ${maxMinutes} reached`), maxMinutes * 60_000).unref();
