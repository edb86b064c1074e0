import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateMiniNixpkgs, pushToPullRequest, type MiniNixpkgs } from "@/server/rehearsal/mini-nixpkgs";
import { BROKEN_TOOL_ERROR, DEPFAIL_TEST_ERROR } from "@/server/rehearsal/mini-nixpkgs-templates";
import { runGit } from "@/server/workspace/git";

const NIX_FLAGS = ["--extra-experimental-features", "nix-command", "--option", "substituters", ""];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function nixEvalJson<T>(cwd: string, expr: string): Promise<T> {
  const result = await run("nix", ["eval", ...NIX_FLAGS, "--impure", "--json", "--expr", expr], cwd);
  if (result.code !== 0) throw new Error(`nix eval failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface NixRecord {
  action: string;
  type?: number;
  id?: number;
  fields?: unknown[];
  level?: number;
  msg?: string;
}

/** `nix build … --log-format internal-json -v`, with its `@nix` records parsed. */
async function nixBuild(cwd: string, attrs: string[]): Promise<Run & { records: NixRecord[] }> {
  const result = await run(
    "nix",
    ["build", ...NIX_FLAGS, "--keep-going", "--log-format", "internal-json", "-v", "--no-link", "-f", ".", ...attrs],
    cwd,
  );
  const records = result.stderr
    .split("\n")
    .filter((line) => line.startsWith("@nix "))
    .map((line) => JSON.parse(line.slice(5)) as NixRecord);
  return { ...result, records };
}

const logLines = (records: NixRecord[]) =>
  records.filter((r) => r.action === "result" && r.type === 101).map((r) => String(r.fields?.[0]));
// Nix 2.8 colours error messages, even raw_msg, even when stderr is not a terminal.
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "");
const errors = (records: NixRecord[]) =>
  records.filter((r) => r.action === "msg" && r.level === 0).map((r) => stripAnsi(String(r.msg)));
const builtDrvs = (records: NixRecord[]) =>
  records.filter((r) => r.action === "start" && r.type === 105).map((r) => String(r.fields?.[0]));

describe("rehearsal nixpkgs", () => {
  let tmp: string;
  let mini: MiniNixpkgs;
  const worktrees = new Map<number, string>();

  /** A checkout of PR N's test merge commit, as the app would build it. */
  async function mergeCheckout(number: number): Promise<string> {
    const existing = worktrees.get(number);
    if (existing) return existing;
    const pr = mini.pullRequests.find((p) => p.number === number);
    if (!pr?.mergeSha) throw new Error(`no merge commit for ${number}`);
    const dir = path.join(tmp, `merge-${number}`);
    await runGit(["worktree", "add", "--quiet", "--detach", dir, pr.mergeSha], { cwd: mini.root });
    worktrees.set(number, dir);
    return dir;
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "mafhf-mini-"));
    mini = await generateMiniNixpkgs({ dir: tmp, chattyLines: 120, chattySeconds: 1 });
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("evaluates master into the by-name packages plus the explicit ones", async () => {
    const attrs = await nixEvalJson<string[]>(mini.root, `builtins.attrNames (import ${mini.root} { })`);
    expect(attrs).toEqual(mini.attrs);
    expect(attrs).toEqual(
      expect.arrayContaining(["hello", "libchain-core", "libchain", "chain-app", "broken-tool", "chatty", "depfail-lib", "depfail-app", "sl"]),
    );
    expect(attrs).not.toContain("cowsay");
    expect(existsSync(path.join(mini.root, "pkgs/by-name/he/hello/package.nix"))).toBe(true);
  });

  it("builds hello offline, announcing each phase as a setPhase result", async () => {
    const build = await nixBuild(mini.root, ["hello"]);
    expect(build.code, build.stderr).toBe(0);
    const phases = build.records.filter((r) => r.action === "result" && r.type === 104).map((r) => r.fields?.[0]);
    expect(phases).toEqual(["unpackPhase", "configurePhase", "buildPhase", "installPhase", "fixupPhase"]);
    expect(builtDrvs(build.records)).toEqual([expect.stringMatching(/-hello-1\.0\.drv$/)]);

    const outPath = await nixEvalJson<string>(mini.root, `(import ${mini.root} { }).hello.outPath`);
    const greeting = await run(path.join(outPath, "bin/hello"), [], mini.root);
    expect(greeting.stdout.trim()).toBe("Hello, world! (hello 1.0)");
  });

  it("bakes the salt into every derivation, so a new rehearsal really builds", async () => {
    const drvOf = async (dir: string) => nixEvalJson<string>(dir, `(import ${dir} { }).hello.drvPath`);
    const a = await generateMiniNixpkgs({ dir: path.join(tmp, "salt-a"), size: 0, salt: "same-salt" });
    const b = await generateMiniNixpkgs({ dir: path.join(tmp, "salt-b"), size: 0, salt: "same-salt" });
    const c = await generateMiniNixpkgs({ dir: path.join(tmp, "salt-c"), size: 0, salt: "other-salt" });
    expect(b.masterSha).toBe(a.masterSha);
    expect(await drvOf(b.root)).toBe(await drvOf(a.root));
    expect(await drvOf(c.root)).not.toBe(await drvOf(a.root));
    expect(mini.salt).toMatch(/^[0-9a-f]{16}$/);
  });

  it("lets the chatty knob set how many lines chatty prints", async () => {
    const build = await nixBuild(mini.root, ["chatty"]);
    expect(build.code, build.stderr).toBe(0);
    const lines = logLines(build.records).filter((line) => line.startsWith("CC src/module-"));
    expect(lines).toHaveLength(120);
    expect(lines.at(-1)).toBe("CC src/module-120.o (120/120)");
  });

  it("publishes every PR as refs/pull/N/head and a GitHub-style test merge commit", async () => {
    const refs = new Map(
      (await runGit(["for-each-ref", "--format=%(refname) %(objectname)", "refs/pull", "refs/heads"], { cwd: mini.upstreamDir }))
        .trim()
        .split("\n")
        .map((line) => line.split(" ") as [string, string]),
    );
    expect(refs.get("refs/heads/master")).toBe(mini.masterSha);
    expect(mini.pullRequests.map((p) => p.number)).toEqual([400001, 400002, 400003, 400004, 400005, 400006, 400007]);
    const upstream = (args: string[]) => runGit(args, { cwd: mini.upstreamDir }).then((out) => out.trim());

    for (const pr of mini.pullRequests) {
      expect(refs.get(`refs/pull/${pr.number}/head`)).toBe(pr.headSha);
      expect(refs.get(`refs/pull/${pr.number}/merge`)).toBe(pr.mergeSha);
      expect(pr.baseSha).toBe(mini.masterSha);
      expect(await upstream(["rev-parse", `${pr.mergeSha}^1`])).toBe(mini.masterSha);
      const mergeHead = await upstream(["rev-parse", `${pr.mergeSha}^2`]);
      if (pr.expected === "head-moved") {
        expect(mergeHead).not.toBe(pr.headSha);
        expect(mergeHead).toBe(pr.staleHeadSha);
        expect(await upstream(["rev-parse", `${pr.headSha}^1`])).toBe(pr.staleHeadSha);
        expect(await upstream(["log", "-1", "--format=%s", mergeHead])).toBe(pr.title);
      } else {
        expect(mergeHead).toBe(pr.headSha);
        expect(await upstream(["log", "-1", "--format=%s", pr.headSha])).toBe(pr.title);
      }
      // The merge commit holds exactly what git itself would merge.
      expect(await upstream(["merge-tree", "--write-tree", mini.masterSha, mergeHead])).toBe(
        await upstream(["rev-parse", `${pr.mergeSha}^{tree}`]),
      );
      expect(pr.changedFiles.length).toBeGreaterThan(0);
      for (const file of pr.changedFiles) expect(file).toMatch(/^pkgs\/by-name\/([a-z0-9-]{2})\/\1[^/]*\/package\.nix$/);
    }
    expect(await upstream(["config", "uploadpack.allowAnySHA1InWant"])).toBe("true");
    expect(await upstream(["config", "uploadpack.allowReachableSHA1InWant"])).toBe("true");
  });

  it("lists in changedAttrs exactly the attributes whose derivations change at the merge commit", async () => {
    const drvPaths = (dir: string) =>
      nixEvalJson<Record<string, string>>(dir, `builtins.mapAttrs (_: p: p.drvPath) (import ${dir} { })`);
    const onMaster = await drvPaths(mini.root);
    for (const pr of mini.pullRequests) {
      const atMerge = await drvPaths(await mergeCheckout(pr.number));
      const changed = Object.keys(atMerge)
        .filter((attr) => atMerge[attr] !== onMaster[attr])
        .sort();
      expect(changed, `PR ${pr.number}`).toEqual(pr.changedAttrs);
    }
  });

  it("rebuilds the whole chain, bottom first, for the libchain-core bump", async () => {
    const build = await nixBuild(await mergeCheckout(400003), ["chain-app"]);
    expect(build.code, build.stderr).toBe(0);
    expect(builtDrvs(build.records)).toEqual([
      expect.stringMatching(/-libchain-core-2\.0\.drv$/),
      expect.stringMatching(/-libchain-1\.4\.drv$/),
      expect.stringMatching(/-chain-app-0\.3\.drv$/),
    ]);
  });

  it("fails broken-tool at PR 400002's merge commit with a readable error in buildPhase", async () => {
    const build = await nixBuild(await mergeCheckout(400002), ["broken-tool"]);
    expect(build.code).toBe(1);
    expect(logLines(build.records)).toContain(BROKEN_TOOL_ERROR);
    const phases = build.records.filter((r) => r.type === 104).map((r) => r.fields?.[0]);
    expect(phases.at(-1)).toBe("buildPhase");
    expect(errors(build.records).join("\n")).toMatch(/builder for '\/nix\/store\/[a-z0-9]+-broken-tool-1\.0\.drv' failed with exit code 1/);
  });

  it("fails depfail-lib's tests at PR 400005 and reports depfail-app as a dependency failure", async () => {
    const build = await nixBuild(await mergeCheckout(400005), ["depfail-lib", "depfail-app"]);
    expect(build.code).toBe(1);
    expect(logLines(build.records)).toContain(DEPFAIL_TEST_ERROR);
    const messages = errors(build.records).join("\n");
    expect(messages).toMatch(/builder for '[^']+-depfail-lib-1\.1\.drv' failed with exit code 1/);
    expect(messages).toMatch(/1 dependencies of derivation '[^']+-depfail-app-2\.3\.drv' failed to build/);
  });

  it("adds cowsay as a new by-name package in PR 400007", async () => {
    const dir = await mergeCheckout(400007);
    const source = await readFile(path.join(dir, "pkgs/by-name/co/cowsay/package.nix"), "utf8");
    expect(source).toContain('version = "3.8"');
    const build = await nixBuild(dir, ["cowsay"]);
    expect(build.code, build.stderr).toBe(0);
  });

  it("pushToPullRequest moves refs/pull/N/head and leaves the merge ref stale", async () => {
    const pr = mini.pullRequests.find((p) => p.number === 400007);
    if (!pr?.mergeSha) throw new Error("fixture without 400007");
    const newHead = await pushToPullRequest(mini.upstreamDir, 400007, {
      title: "cowsay: add meta.homepage",
      files: { "pkgs/by-name/co/cowsay/README": "moo\n" },
    });
    const upstream = (args: string[]) => runGit(args, { cwd: mini.upstreamDir }).then((out) => out.trim());
    expect(await upstream(["rev-parse", "refs/pull/400007/head"])).toBe(newHead);
    expect(await upstream(["rev-parse", `${newHead}^1`])).toBe(pr.headSha);
    expect(await upstream(["rev-parse", "refs/pull/400007/merge"])).toBe(pr.mergeSha);
    expect(await upstream(["log", "-1", "--format=%s %an", newHead])).toBe("cowsay: add meta.homepage moo-maintainer");
    expect(await upstream(["show", `${newHead}:pkgs/by-name/co/cowsay/README`])).toBe("moo");
  });

  it("generates 2000 extra packages that all evaluate", async () => {
    const big = await generateMiniNixpkgs({ dir: path.join(tmp, "big"), size: 2000 });
    expect(big.attrs).toHaveLength(2009);
    const count = await nixEvalJson<number>(big.root, `builtins.length (builtins.attrNames (import ${big.root} { }))`);
    expect(count).toBe(2009);
    const shards = await nixEvalJson<string[]>(big.root, `builtins.attrNames (builtins.readDir ${big.root}/pkgs/by-name)`);
    expect(shards.length).toBeGreaterThan(20);
    const drv = await nixEvalJson<string>(big.root, `(import ${big.root} { })."${big.attrs[0]}".drvPath`);
    expect(drv).toMatch(/^\/nix\/store\/.+\.drv$/);
  });
});
