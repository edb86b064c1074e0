/**
 * Audience submissions against the running server (production Next build, rehearsal kit, fresh
 * SQLite): 1,000 devices each join (POST /api/devices) and submit one PR (POST /api/submissions)
 * at a random moment of the window, plus one spammer that fires 100 submissions at once.
 * Reports latency, throughput and status counts, then checks the database: every accepted
 * submission and every refusal is stored, and no 429 is.
 *
 *   node --import tsx bench/submissions.ts [--minutes 1] [--devices 1000] [--spam 100]
 *     [--wait-quiet PCT] [--profile DIR] [--json out.json]
 *
 * --wait-quiet waits (up to 10 min) until CPU pressure from other work is below PCT %; --profile
 * writes a CPU profile of the server process into DIR.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { ensureNextBuild } from "@/server/ensure-next-build";
import {
  cpuPressure,
  cpuTimes,
  httpRequest,
  machine,
  round,
  sleep,
  startServeProcess,
  summarize,
  waitForQuiet,
  type HttpResult,
} from "./bench-support";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    devices: { type: "string", default: "1000" },
    spam: { type: "string", default: "100" },
    json: { type: "string" },
    profile: { type: "string" },
    "wait-quiet": { type: "string", default: "0" },
  },
});
const windowMs = Number(args.minutes) * 60_000;
const deviceCount = Number(args.devices);
const spamCount = Number(args.spam);
if (!(windowMs > 0) || !(deviceCount >= 1) || !(spamCount >= 0)) throw new Error("--minutes, --devices and --spam must be positive numbers");

const REHEARSAL_PRS = [400001, 400002, 400003, 400004, 400005, 400006, 400007];
const INVALID_TEXTS = ["please build firefox", "#", "the one that fixes python", "nixpkgs", "pr forty two", "https://example.com/pull/12"];

type Kind = "rehearsal" | "invalid" | "unknown";
interface Attempt {
  device: string;
  kind: Kind | "spam";
  pr: string;
  result: HttpResult | null;
  error: string | null;
  /** When it was sent, in ms from the start of the window. */
  sentAt?: number;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** Mostly the rehearsal PRs; some text that is no PR reference; some numbers GitHub does not know. */
function chooseSubmission(): { kind: Kind; pr: string } {
  const r = Math.random();
  if (r < 0.85) return { kind: "rehearsal", pr: pick(["#", "", "https://github.com/NixOS/nixpkgs/pull/"]) + pick(REHEARSAL_PRS) };
  if (r < 0.925) return { kind: "invalid", pr: pick(INVALID_TEXTS) };
  return { kind: "unknown", pr: `#${490_000 + Math.floor(Math.random() * 9_000)}` };
}

async function attempt(fn: () => Promise<HttpResult>): Promise<{ result: HttpResult | null; error: string | null }> {
  try {
    return { result: await fn(), error: null };
  } catch (error) {
    return { result: null, error: (error as Error).message };
  }
}

console.log("[bench] making sure the production web build is current…");
ensureNextBuild();
const logPath = path.join(os.tmpdir(), `mafhf-bench-submissions-${Date.now()}.log`);
console.log(`[bench] starting the show (rehearsal kit, fresh SQLite) in a child process; its log: ${logPath}`);
const server = await startServeProcess(["--web", "--metrics-ms", "5000"], logPath, {
  nodeArgs: args.profile ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(args.profile)] : [],
});
const { url, databasePath } = server.ready;
console.log(`[bench] show at ${url}, database ${databasePath}`);

try {
  // What a projector and the first phone do before the audience arrives: load the route modules.
  const warm = new http.Agent({ keepAlive: true });
  for (const p of ["/api/health", "/api/snapshot", "/"]) await httpRequest(`${url}${p}`, { agent: warm });
  const warmDevice = `warmup-${randomUUID()}`;
  await httpRequest(`${url}/api/devices`, { agent: warm, json: { deviceToken: warmDevice, nickname: "warm-up" } });
  // A body without `pr` is turned away by the route's schema: nothing is stored or counted.
  await httpRequest(`${url}/api/submissions`, { agent: warm, json: { deviceToken: warmDevice } });
  warm.destroy();

  const quiet = Number(args["wait-quiet"]);
  if (quiet > 0) {
    console.log(`[bench] waiting (up to 10 min) for CPU pressure from other work to fall below ${quiet}%…`);
    console.log(`[bench] ${JSON.stringify(await waitForQuiet(quiet, 10 * 60_000))}`);
  }
  const pressureBefore = cpuPressure();
  const cpuBefore = cpuTimes();
  const registrations: HttpResult[] = [];
  const registrationErrors: string[] = [];
  const attempts: Attempt[] = [];
  const started = performance.now();

  const device = async (at: number, spam: number) => {
    await sleep(at);
    const token = randomUUID();
    // A phone keeps its connection between joining and submitting.
    const agent = new http.Agent({ keepAlive: true, maxSockets: spam > 0 ? spam : 1 });
    try {
      const join = await attempt(() => httpRequest(`${url}/api/devices`, { agent, json: { deviceToken: token, nickname: `phone-${token.slice(0, 6)}` } }));
      if (join.result) registrations.push(join.result);
      else registrationErrors.push(join.error ?? "unknown");
      if (spam > 0) {
        const burst = Array.from({ length: spam }, () => ({ kind: "spam" as const, pr: `#${pick(REHEARSAL_PRS)}` }));
        const results = await Promise.all(burst.map((b) => attempt(() => httpRequest(`${url}/api/submissions`, { agent, json: { pr: b.pr, deviceToken: token } }))));
        results.forEach((r, i) => attempts.push({ device: token, kind: "spam", pr: burst[i]!.pr, ...r }));
        return;
      }
      const choice = chooseSubmission();
      const sentAt = performance.now() - started;
      const r = await attempt(() => httpRequest(`${url}/api/submissions`, { agent, json: { pr: choice.pr, nickname: `phone-${token.slice(0, 6)}`, deviceToken: token } }));
      attempts.push({ device: token, ...choice, ...r, sentAt });
    } finally {
      agent.destroy();
    }
  };
  // The GitHub check each submission waits for, measured on its own: one PR lookup every 500 ms.
  const githubLookups: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const pr = pick(REHEARSAL_PRS);
      const r = await attempt(() =>
        httpRequest(`${server.ready.githubApiUrl}/repos/NixOS/nixpkgs/pulls/${pr}`, { headers: { authorization: `token ${server.ready.githubToken}` } }),
      );
      if (r.result?.status === 200) githubLookups.push(r.result.ms);
      await sleep(500);
    }
  })();
  console.log(`[bench] ${deviceCount} devices over ${windowMs / 1000} s, one spammer with ${spamCount} submissions at once halfway…`);
  await Promise.all([
    ...Array.from({ length: deviceCount }, () => device(Math.random() * windowMs, 0)),
    ...(spamCount > 0 ? [device(windowMs / 2, spamCount)] : []),
  ]);
  const elapsedS = (performance.now() - started) / 1000;
  probing = false;
  await probe;
  const cpuAfter = cpuTimes();
  const pressureAfter = cpuPressure();

  // ----- what the clients saw
  const submitted = attempts.filter((a) => a.kind !== "spam");
  const spam = attempts.filter((a) => a.kind === "spam");
  const statusCounts = (list: Attempt[]) => {
    const counts: Record<string, number> = {};
    for (const a of list) {
      const key = a.result ? String(a.result.status) : "network-error";
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };
  const byKind = Object.fromEntries((["rehearsal", "invalid", "unknown"] as const).map((k) => [k, statusCounts(submitted.filter((a) => a.kind === k))]));
  const latency = (list: Array<HttpResult | null>) => {
    const s = summarize(list.filter((r): r is HttpResult => r !== null).map((r) => r.ms));
    return { count: s.count, p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max), mean: round(s.mean) };
  };
  const spam429 = spam.filter((a) => a.result?.status === 429);
  const rateLimitedAll = attempts.filter((a) => a.result?.status === 429);
  const retryAfter = spam429.map((a) => Number(a.result!.headers["retry-after"]));

  // ----- what the database kept
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  const rows = db.prepare("SELECT deviceToken, outcome, reason, prNumber FROM Submission").all() as Array<{ deviceToken: string | null; outcome: string; reason: string | null; prNumber: number | null }>;
  const deviceRows = (db.prepare("SELECT COUNT(*) AS n FROM Device").get() as { n: number }).n;
  db.close();
  const stored = new Map<string, typeof rows>();
  for (const r of rows) if (r.deviceToken) stored.set(r.deviceToken, [...(stored.get(r.deviceToken) ?? []), r]);

  const accepted = submitted.filter((a) => a.result && a.result.status >= 200 && a.result.status < 300);
  const refused = submitted.filter((a) => a.result && a.result.status >= 400 && a.result.status < 500 && a.result.status !== 429);
  const lostAccepted = accepted.filter((a) => (stored.get(a.device) ?? []).filter((r) => r.outcome === "queued" || r.outcome === "duplicate" || r.outcome === "pending").length !== 1);
  const lostRefusals = refused.filter((a) => (stored.get(a.device) ?? []).filter((r) => r.outcome === "refused").length !== 1);
  const spamRows = spam.length ? (stored.get(spam[0]!.device) ?? []).length : 0;
  const spamNon429 = spam.filter((a) => a.result && a.result.status !== 429).length;
  const unexpected = submitted.filter((a) => {
    const s = a.result?.status;
    if (a.kind === "rehearsal") return s !== 200 && s !== 201 && s !== 409;
    if (a.kind === "invalid") return s !== 400;
    return s !== 404;
  });

  const allRequests = [...registrations, ...attempts.map((a) => a.result)];
  const submitLatency = latency(submitted.map((a) => a.result));
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    command: `node --import tsx bench/submissions.ts --minutes ${args.minutes} --devices ${deviceCount} --spam ${spamCount}`,
    machineBusyPercent: round((100 * (cpuAfter.busy - cpuBefore.busy)) / (cpuAfter.total - cpuBefore.total)),
    cpuPressure: { before: pressureBefore, after: pressureAfter },
    devices: deviceCount,
    windowS: windowMs / 1000,
    elapsedS: round(elapsedS),
    requests: allRequests.length,
    throughputPerS: round(allRequests.filter(Boolean).length / elapsedS),
    submissionsPerS: round(submitted.length / elapsedS),
    latencyMs: {
      submissions: submitLatency,
      registrations: latency(registrations),
      // rehearsal: GitHub check + queue; unknown: GitHub check + refusal; invalid: refused before GitHub.
      submissionsByKind: Object.fromEntries(
        (["rehearsal", "unknown", "invalid"] as const).map((k) => [k, latency(submitted.filter((a) => a.kind === k).map((a) => a.result))]),
      ),
      // Accepted submissions per tenth of the window: does the cost grow with the audience?
      rehearsalByTenth: Array.from({ length: 10 }, (_, i) => {
        const inTenth = submitted.filter((a) => a.kind === "rehearsal" && Math.floor(((a.sentAt ?? 0) / windowMs) * 10) === i);
        const s = latency(inTenth.map((a) => a.result));
        return [s.p50, s.p99];
      }),
      spamBurst: latency(spam.map((a) => a.result)),
      all: latency(allRequests),
      githubStandInLookup: latency(githubLookups.map((ms) => ({ status: 200, headers: {}, body: "", ms }))),
    },
    registrationStatus: statusCounts(registrations.map((r) => ({ device: "", kind: "rehearsal", pr: "", result: r, error: null }))),
    registrationErrors: registrationErrors.length,
    submissionStatus: statusCounts(submitted),
    submissionStatusByKind: byKind,
    unexpectedStatuses: unexpected.slice(0, 5).map((a) => ({ kind: a.kind, pr: a.pr, status: a.result?.status ?? a.error, body: a.result?.body.slice(0, 200) })),
    unexpectedCount: unexpected.length,
    spam: { sent: spam.length, status: statusCounts(spam), retryAfterS: retryAfter.length ? [Math.min(...retryAfter), Math.max(...retryAfter)] : null },
    rejectedAsSpam: rateLimitedAll.length,
    database: {
      submissionRows: rows.length,
      deviceRows,
      accepted: accepted.length,
      acceptedStored: accepted.length - lostAccepted.length,
      lostAccepted: lostAccepted.length,
      refusedNon429: refused.length,
      refusalsStored: refused.length - lostRefusals.length,
      lostRefusals: lostRefusals.length,
      spamRowsStored: spamRows,
      spamNon429Responses: spamNon429,
      spam429NotStored: spamRows === spamNon429,
    },
    server: server.metrics.map((m) => ({ loopP99Ms: round(m.loopP99Ms), loopMaxMs: round(m.loopMaxMs), cpuPercent: round(m.cpuPercent), rssMb: round(m.rssMb) })),
    goals: {
      p99AtMost200ms: submitLatency.p99 <= 200,
      zeroLost: lostAccepted.length === 0 && lostRefusals.length === 0 && spamRows === spamNon429,
    },
  };
  console.log(JSON.stringify(report, null, 2));
  if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await server.stop();
}
