/**
 * Build pressed → first nix log line, on a rehearsal nixpkgs of BENCH_SIZE (default 20,000)
 * packages, three ways, in one run:
 *
 * - warm pool (this app): fetch the PR's test merge commit by SHA into the preloaded warm clone,
 *   take a worktree from the pool and move it to that commit, start `nix build`.
 * - fresh worktree: the same fetch, then `git worktree add` of a new directory (what one
 *   worktree per PR costs the first time a PR is built).
 * - fresh shallow clone (the 2025 way): `git clone --depth 1`, fetch the merge commit by SHA
 *   with --depth 1, check it out, start `nix build`.
 *
 * Each round takes another PR, and the order of the ways alternates between rounds; the disk is
 * flushed (sync) before each measurement and the fresh trees are deleted only at the end, so no
 * way pays for the writes or deletes of another. The clock
 * stops at nix's first line (it is printed as evaluation starts), so evaluation is not in these
 * figures; nix is stopped right after. Then the whole show is timed the same way: the host's
 * Build (GitHub stand-in, fetch, attr choice, attr evaluation, worktree, nix) until the first
 * log line reaches the screens.
 *
 *   node --import tsx bench/checkout-vs-clone.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runNixBuild } from "../server/builds/run-nix-build";
import { loadConfig } from "../server/config";
import { startShow } from "../server/index";
import { submitPullRequest } from "../server/intake/submit-pull-request";
import { startRehearsalKit } from "../server/rehearsal/rehearsal-kit";
import type { LogLine } from "../server/show/views";
import { fetchPullRequestCommits, checkoutPullRequest } from "../server/workspace/checkout-pull-request";
import { runGit } from "../server/workspace/git";
import { preloadNixpkgs } from "../server/workspace/preload";
import { WorktreePool } from "../server/workspace/worktree-pool";

const SIZE = Number(process.env.BENCH_SIZE ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const PRS = [400001, 400002, 400003, 400004, 400005, 400007];

const tmp = await mkdtemp(path.join(os.tmpdir(), "mafhf-bench-checkout-"));
const system = loadConfig({}, {}).nixSystems[0]!;
const now = () => performance.now();

console.log(`generating a rehearsal nixpkgs with ${SIZE.toLocaleString("en-US")} extra packages…`);
const kit = await startRehearsalKit({ dir: path.join(tmp, "kit"), system, size: SIZE, chattyLines: 50, chattySeconds: 0 });
const { mini } = kit;
const files = (await runGit(["ls-files"], { cwd: mini.root })).split("\n").filter(Boolean).length;
const warmDir = path.join(tmp, "stage", "nixpkgs");
const worktreesDir = path.join(tmp, "stage", "worktrees");

console.log("preloading the warm clone and its worktree pool (before the show, not timed)…");
const preloadStarted = now();
await preloadNixpkgs({ nixpkgsDir: warmDir, gitUrl: mini.gitUrl, worktreesDir, poolSize: 4, diskBudgetGb: 0 });
const preloadMs = now() - preloadStarted;
const pool = new WorktreePool({ warmDir, worktreesDir, size: 4 });
// As the show does when it starts.
pool.warmUp();
await pool.settled();

function fixture(number: number) {
  const pr = mini.pullRequests.find((p) => p.number === number)!;
  const attr = /^pkgs\/by-name\/[^/]+\/([^/]+)\//.exec(pr.changedFiles[0]!)![1]!;
  return { pr, attr };
}

/** Starts nix build in `cwd`; resolves when nix prints its first line (then stops it). */
async function firstNixLine(cwd: string, attr: string): Promise<void> {
  let resolveFirst!: () => void;
  const first = new Promise<void>((resolve) => (resolveFirst = resolve));
  const build = runNixBuild({
    cwd,
    attrs: [attr],
    system,
    timeoutMs: 120_000,
    extraArgs: ["--option", "substituters", ""],
    onLine: () => resolveFirst(),
  });
  await Promise.race([first, build.done]);
  build.cancel("benchmark: first line seen");
  await build.done;
}

interface Timing {
  checkoutMs: number;
  firstLineMs: number;
}

async function warmPool(number: number): Promise<Timing> {
  const { pr, attr } = fixture(number);
  const started = now();
  const commits = await fetchPullRequestCommits({ warmDir, gitUrl: mini.gitUrl, pr: { number, headSha: pr.headSha, mergeCommitSha: pr.mergeSha } });
  const lease = await pool.acquire(number);
  try {
    await pool.checkout(lease, commits.checkedOutSha);
    const checkoutMs = now() - started;
    await firstNixLine(lease.path, attr);
    return { checkoutMs, firstLineMs: now() - started };
  } finally {
    lease.release();
    // The worktree is cleaned once given back, off the path to nix; do not let it overlap the next measurement.
    await pool.settled();
  }
}

async function freshWorktree(number: number, round: number): Promise<Timing> {
  const { pr, attr } = fixture(number);
  const worktree = path.join(tmp, "fresh-worktrees", `pr-${number}-${round}`);
  const started = now();
  const result = await checkoutPullRequest({
    warmDir,
    worktreesDir: path.dirname(worktree),
    worktree,
    gitUrl: mini.gitUrl,
    pr: { number, headSha: pr.headSha, mergeCommitSha: pr.mergeSha },
  });
  const checkoutMs = now() - started;
  await firstNixLine(result.worktree, attr);
  return { checkoutMs, firstLineMs: now() - started };
}

async function shallowClone(number: number, round: number): Promise<Timing> {
  const { pr, attr } = fixture(number);
  const dir = path.join(tmp, "clones", `pr-${number}-${round}`);
  const started = now();
  await runGit(["clone", "--quiet", "--depth", "1", "--no-checkout", mini.gitUrl, dir], { cwd: tmp });
  await runGit(["fetch", "--quiet", "--depth", "1", "origin", pr.mergeSha!], { cwd: dir });
  await runGit(["checkout", "--quiet", "--detach", pr.mergeSha!], { cwd: dir });
  const checkoutMs = now() - started;
  await firstNixLine(dir, attr);
  return { checkoutMs, firstLineMs: now() - started };
}

const ways = {
  "warm pool": (n: number) => warmPool(n),
  "fresh worktree": (n: number, round: number) => freshWorktree(n, round),
  "fresh shallow clone": (n: number, round: number) => shallowClone(n, round),
} as const;
type Way = keyof typeof ways;
const timings: Record<Way, Timing[]> = { "warm pool": [], "fresh worktree": [], "fresh shallow clone": [] };

for (let round = 0; round < ROUNDS; round++) {
  const number = PRS[round % PRS.length]!;
  const order = (Object.keys(ways) as Way[]).slice();
  if (round % 2 === 1) order.reverse();
  for (const way of order) {
    execFileSync("sync");
    timings[way].push(await ways[way](number, round));
  }
  console.log(
    `round ${round + 1}: PR ${number}  ` +
      order.map((way) => `${way} ${Math.round(timings[way].at(-1)!.firstLineMs)} ms`).join(", "),
  );
}

console.log("the whole show: host presses Build until the first log line reaches the screens…");
const show = await startShow({
  web: false,
  config: loadConfig(
    {
      ...kit.env,
      NIXPKGS_DIR: warmDir,
      NODE_ENV: "production",
      PORT: "0",
      BIND_HOST: "127.0.0.1",
      DATABASE_URL: `file:${path.join(tmp, "show.db")}`,
      VAR_DIR: path.join(tmp, "var"),
      HOST_PASSWORD: "benchmark-password",
    },
    {},
  ),
});
const showTimings: number[] = [];
try {
  const { builds, events, intake } = show.context;
  for (const number of PRS) {
    await submitPullRequest(intake, { source: "host", text: `#${number}`, nickname: "bench" });
    let buildId = -1;
    const firstLog = new Promise<void>((resolve) => {
      const onLog = ({ buildId: id }: { buildId: number; line: LogLine }) => {
        if (id !== buildId) return;
        events.off("build-log", onLog);
        resolve();
      };
      events.on("build-log", onLog);
    });
    execFileSync("sync");
    const started = now();
    const [build] = await builds.startBuild(number);
    buildId = build!.id;
    await firstLog;
    showTimings.push(now() - started);
    builds.cancel(buildId, "benchmark");
    await builds.idle();
  }
} finally {
  await show.close();
  await kit.close();
  await rm(tmp, { recursive: true, force: true });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ms = (v: number) => `${Math.round(v).toLocaleString("en-US")} ms`;
console.log("");
console.log(`rehearsal nixpkgs: ${SIZE.toLocaleString("en-US")} extra packages, ${files.toLocaleString("en-US")} files; ${ROUNDS} rounds; preload took ${ms(preloadMs)}`);
console.log(`${"".padEnd(22)}${"checkout (median)".padStart(20)}${"first nix line (median)".padStart(26)}`);
for (const way of Object.keys(ways) as Way[]) {
  const t = timings[way];
  console.log(`${way.padEnd(22)}${ms(median(t.map((x) => x.checkoutMs))).padStart(20)}${ms(median(t.map((x) => x.firstLineMs))).padStart(26)}`);
}
const warm = median(timings["warm pool"].map((x) => x.firstLineMs));
const clone = median(timings["fresh shallow clone"].map((x) => x.firstLineMs));
const fresh = median(timings["fresh worktree"].map((x) => x.firstLineMs));
console.log(`ratio fresh shallow clone / warm pool: ${(clone / warm).toFixed(1)}× (goal ≥ 10×: ${clone / warm >= 10 ? "met" : "NOT met"})`);
console.log(`ratio fresh worktree / warm pool: ${(fresh / warm).toFixed(1)}×`);
console.log(`the show, Build → first log line on screen (with GitHub, attr choice and evaluation): median ${ms(median(showTimings))} (${showTimings.map((t) => Math.round(t)).join(", ")} ms)`);
