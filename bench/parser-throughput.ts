/**
 * Parser throughput: how many lines of `nix build --log-format internal-json -v` output the
 * InternalJsonParser handles per second on one core.
 *
 * It records a real stream first (a rehearsal nixpkgs build of chatty, which prints
 * BENCH_CHATTY_LINES log lines, plus the libchain chain and a failing build), then replays it
 * through a fresh parser, again and again, for at least BENCH_SECONDS. The recorded fixtures of
 * tests/fixtures/internal-json are replayed the same way, for comparison.
 *
 *   node --import tsx bench/parser-throughput.ts
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InternalJsonParser } from "../server/builds/parse-internal-json";
import { runNixBuild } from "../server/builds/run-nix-build";
import { generateMiniNixpkgs } from "../server/rehearsal/mini-nixpkgs";
import { runGit } from "../server/workspace/git";

const CHATTY_LINES = Number(process.env.BENCH_CHATTY_LINES ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const FIXTURES = path.join(import.meta.dirname, "../tests/fixtures/internal-json");

async function recordStream(): Promise<string[]> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "mafhf-bench-parser-"));
  try {
    const mini = await generateMiniNixpkgs({ dir: tmp, size: 0, chattyLines: CHATTY_LINES, chattySeconds: 0 });
    // PR 400002's merge commit: broken-tool fails there, so the stream has a failure in it too.
    const pr = mini.pullRequests.find((p) => p.number === 400002)!;
    const worktree = path.join(tmp, "pr");
    await runGit(["worktree", "add", "--quiet", "--detach", worktree, pr.mergeSha!], { cwd: mini.root });
    const lines: string[] = [];
    const build = runNixBuild({
      cwd: worktree,
      attrs: ["chatty", "chain-app", "broken-tool", "hello"],
      timeoutMs: 10 * 60_000,
      extraArgs: ["--option", "substituters", ""],
      onLine: (line) => lines.push(line),
    });
    await build.done;
    return lines;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function measure(name: string, lines: string[]): { name: string; lines: number; linesPerSecond: number } {
  // Warm up the JIT before timing.
  for (let i = 0; i < 3; i++) replay(lines);
  let replayed = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < SECONDS * 1000) {
    replay(lines);
    replayed += lines.length;
    elapsed = performance.now() - started;
  }
  return { name, lines: lines.length, linesPerSecond: Math.round(replayed / (elapsed / 1000)) };
}

function replay(lines: string[]): void {
  const parser = new InternalJsonParser();
  for (const line of lines) parser.push(line);
  parser.finish(1);
}

const recorded = await recordStream();
const results = [measure(`real nix build (chatty ${CHATTY_LINES} lines, a chain, a failure)`, recorded)];
for (const file of (await readdir(FIXTURES)).filter((f) => f.endsWith(".jsonl")).sort()) {
  const lines = (await readFile(path.join(FIXTURES, file), "utf8")).split("\n").filter((l) => l.length > 0);
  results.push(measure(`fixture ${file}`, lines));
}

console.log(`parser throughput, one core, node ${process.version}, at least ${SECONDS} s per stream`);
for (const r of results) {
  console.log(`  ${r.name.padEnd(62)} ${String(r.lines).padStart(6)} lines  ${r.linesPerSecond.toLocaleString("en-US").padStart(11)} lines/s`);
}
const main = results[0]!;
console.log(`goal ≥ 200,000 lines/s: ${main.linesPerSecond >= 200_000 ? "met" : "NOT met"} (${main.linesPerSecond.toLocaleString("en-US")} lines/s)`);
