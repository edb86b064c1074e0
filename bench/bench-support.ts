/** What the benchmarks share: the server child process, HTTP calls, percentiles, the machine. */
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

export const BENCH_DIR = import.meta.dirname;
export const PROJECT_ROOT = path.resolve(BENCH_DIR, "..");

/** One stamp per log line in serve-rehearsal's --stamp-file: buildId (int32 LE), seq (int32 LE), Date.now() (float64 LE). */
export const STAMP_BYTES = 16;

export interface Ready {
  url: string;
  databasePath: string;
  dir: string;
  logDir: string;
  hostPassword: string;
  /** The GitHub stand-in (another process) and the token the show uses with it. */
  githubApiUrl: string;
  githubToken: string;
  system: string;
  chattyPrs: number[];
  pid: number;
}

export interface ServerMetrics {
  at: number;
  loopP50Ms: number;
  loopP99Ms: number;
  loopMaxMs: number;
  cpuPercent: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  runLoopP50Ms: number;
  runLoopP99Ms: number;
  runLoopMaxMs: number;
  runCpuPercent: number;
  stamped: number;
}

export interface BenchChild<R> {
  ready: R;
  pid: number;
  /** Every other JSON line with a "bench" key it printed so far. */
  records: Array<Record<string, unknown> & { bench: string }>;
  /** Writes one line to its stdin (serve-rehearsal takes "mark" and "report"). */
  send(line: string): void;
  /** SIGTERM, then waits for it to exit (SIGKILL to its process group after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `bench/<script>` in a child process (its own process group) that prints JSON lines with
 * a "bench" key on stdout, and waits for the one whose "bench" is `readyKey`. Its other output
 * (pino's log lines, stderr) goes to `logPath`. The child should stop when its stdin closes, so
 * it never outlives this process.
 */
export async function startBenchChild<R>(
  script: string,
  args: string[],
  opts: { logPath: string; readyKey?: string; nodeArgs?: string[]; readyTimeoutMs?: number },
): Promise<BenchChild<R>> {
  const readyKey = opts.readyKey ?? "ready";
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10 * 60_000;
  const log = createWriteStream(opts.logPath);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", path.join(BENCH_DIR, script), ...args], {
    cwd: PROJECT_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stderr.pipe(log, { end: false });
  const records: BenchChild<R>["records"] = [];
  let onReady: (r: R) => void = () => {};
  const ready = new Promise<R>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    let record: (Record<string, unknown> & { bench?: unknown }) | null = null;
    if (line.startsWith("{")) {
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        record = null;
      }
    }
    if (record && record.bench === readyKey) onReady(record as R);
    else if (record && typeof record.bench === "string") records.push(record as BenchChild<R>["records"][number]);
    else log.write(`${line}\n`);
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    ready,
    exited.then((code) => new Error(`${script} exited with code ${code} before it was ready; see ${opts.logPath}`)),
    new Promise<Error>((resolve) => (timer = setTimeout(() => resolve(new Error(`${script} was not ready after ${readyTimeoutMs} ms; see ${opts.logPath}`)), readyTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (first instanceof Error) {
    killGroup("SIGKILL");
    throw first;
  }
  let stopping: Promise<void> | null = null;
  return {
    ready: first,
    pid: child.pid!,
    records,
    send: (line) => child.stdin.write(`${line}\n`),
    stop: (graceMs = 60_000) =>
      (stopping ??= (async () => {
        child.kill("SIGTERM");
        const killer = setTimeout(() => killGroup("SIGKILL"), graceMs);
        await exited;
        clearTimeout(killer);
        log.end();
      })()),
  };
}

export interface ServeProcess {
  ready: Ready;
  /** Samples the server printed so far (with --metrics-ms). */
  metrics: ServerMetrics[];
  /** Every other record it printed ("retained", …). */
  records: BenchChild<Ready>["records"];
  send(line: string): void;
  stop(): Promise<void>;
}

/** bench/serve-rehearsal.ts in a child process, so the load generator does not share its event loop. */
export async function startServeProcess(args: string[], logPath: string, opts: { nodeArgs?: string[] } = {}): Promise<ServeProcess> {
  const child = await startBenchChild<Ready>("serve-rehearsal.ts", args, { logPath, nodeArgs: opts.nodeArgs });
  return {
    ready: child.ready,
    get metrics() {
      return child.records.filter((r) => r.bench === "metrics") as unknown as ServerMetrics[];
    },
    records: child.records,
    send: (line) => child.send(line),
    stop: () => child.stop(),
  };
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** From the request's start to the last byte of the response. */
  ms: number;
}

export function httpRequest(
  url: string,
  opts: { method?: string; json?: unknown; headers?: Record<string, string>; agent?: http.Agent; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const body = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? (body ? "POST" : "GET"),
        agent: opts.agent,
        headers: { ...(body ? { "content-type": "application/json", "content-length": String(body.length) } : {}), ...opts.headers },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - started }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const at = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!);
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, p50: at(50), p95: at(95), p99: at(99), max: n ? sorted[n - 1]! : NaN, mean: n ? sum / n : NaN };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function machine(): { cpus: number; model: string; memoryGb: number; node: string; kernel: string; loadAverage: number[] } {
  let model = os.cpus()[0]?.model ?? "unknown";
  try {
    const hypervisor = /hypervisor/.test(readFileSync("/proc/cpuinfo", "utf8")) ? " (VM)" : "";
    model += hypervisor;
  } catch {
    // Not Linux.
  }
  return {
    cpus: os.cpus().length,
    model,
    memoryGb: round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Linux CPU pressure: the share of time some runnable task waited for a CPU (other work on the machine). */
export function cpuPressure(): { avg10: number; avg60: number } | null {
  try {
    const some = readFileSync("/proc/pressure/cpu", "utf8").split("\n").find((l) => l.startsWith("some"));
    const field = (name: string) => Number(new RegExp(`${name}=([0-9.]+)`).exec(some ?? "")?.[1]);
    return { avg10: field("avg10"), avg60: field("avg60") };
  } catch {
    return null;
  }
}

/** Busy and total jiffies of all CPUs, to measure how busy the whole machine was over a run. */
export function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  return { busy: total - idle, total };
}

/** Waits (up to maxMs) until CPU pressure from other work has settled below `threshold` percent. */
export async function waitForQuiet(threshold: number, maxMs: number): Promise<{ waitedS: number; pressure: ReturnType<typeof cpuPressure> }> {
  const started = Date.now();
  for (;;) {
    const p = cpuPressure();
    if (!p || p.avg10 <= threshold || Date.now() - started >= maxMs) return { waitedS: Math.round((Date.now() - started) / 1000), pressure: p };
    await sleep(5_000);
  }
}
