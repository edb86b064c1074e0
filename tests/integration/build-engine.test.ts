import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as getLogRoute } from "@/app/api/builds/[id]/log/route";
import { GET as getReportRoute } from "@/app/api/builds/[id]/report/route";
import type { NixpkgsReviewReportJson } from "@/server/builds/nixpkgs-review-report";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { addPullRequest } from "@/server/rehearsal/mini-nixpkgs";
import { DEPFAIL_TEST_ERROR, HELLO_TEST_PASSED, LIBCHAIN_NIX } from "@/server/rehearsal/mini-nixpkgs-templates";
import type { StartBuildOptions } from "@/server/builds/build-service";
import { FINISHED_BUILD_STATUSES, type BuildView, type LogLine } from "@/server/show/views";
import { runGit } from "@/server/workspace/git";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/**
 * The build engine on a generated mini-nixpkgs with real git, real nix and a real database:
 * checkout modes, where attrs come from, the runner's queue, cancel, timeout, restart and the
 * nixpkgs-review report. Nothing here measures time; benchmarks live in bench/.
 */

const ctx = (h: ShowHarness) => h.show.context;

function fixture(h: ShowHarness, number: number) {
  const pr = h.kit.mini.pullRequests.find((p) => p.number === number);
  if (!pr) throw new Error(`no fixture PR ${number}`);
  return pr;
}

async function queue(h: ShowHarness, number: number): Promise<void> {
  await submitPullRequest(ctx(h).intake, { source: "host", text: `#${number}`, nickname: "tester" });
}

async function build(h: ShowHarness, number: number, options: StartBuildOptions = {}): Promise<BuildView> {
  await queue(h, number);
  const [started] = await ctx(h).builds.startBuild(number, options);
  await ctx(h).builds.idle();
  return (await ctx(h).builds.getBuild(started!.id))!;
}

async function stored(h: ShowHarness, id: number) {
  return ctx(h).db.build.findUniqueOrThrow({ where: { id } });
}

/** Polls until `check` holds; the deadline only keeps a broken build from hanging the suite. */
async function until(check: () => Promise<boolean> | boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Resolves with the first stored log line of `buildId` that matches. */
function firstLogLine(h: ShowHarness, buildId: () => number | undefined, pattern: RegExp): Promise<LogLine> {
  return new Promise((resolve) => {
    const onLog = ({ buildId: id, line }: { buildId: number; line: LogLine }) => {
      if (id === buildId() && pattern.test(line.text)) {
        ctx(h).events.off("build-log", onLog);
        resolve(line);
      }
    };
    ctx(h).events.on("build-log", onLog);
  });
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  cmdline: string;
}

function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state = "", ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      found.push({ pid: Number(entry), ppid: Number(ppid), state, cmdline });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/**
 * This show's `nix build` processes (their `-I` names a worktree of its pool; other test files may
 * build at the same time) and all their descendants.
 */
function nixBuildProcessTree(h: ShowHarness): number[] {
  const worktrees = realpathSync(ctx(h).config.worktreesDir);
  const all = processes();
  const roots = all
    .filter((p) => p.cmdline.includes("--log-format internal-json") && p.cmdline.includes(` -I ${worktrees}/`))
    .map((p) => p.pid);
  const tree = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (tree.has(p.ppid) && !tree.has(p.pid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

function living(pids: number[]): number[] {
  const alive = new Map(processes().map((p) => [p.pid, p.state]));
  return pids.filter((pid) => alive.has(pid) && alive.get(pid) !== "Z");
}

function callRoute(handler: typeof getReportRoute, url: string, id: number): Promise<Response> {
  return handler(new Request(`http://show.test${url}`), { params: Promise.resolve({ id: String(id) }) });
}

describe("build engine", () => {
  let h: ShowHarness;

  beforeAll(async () => {
    h = await startHarness({ chattyLines: 200, chattySeconds: 6 });
  });

  afterAll(async () => {
    await h?.close();
  });

  describe("checkout", () => {
    it("builds GitHub's test merge commit in merge mode and the PR head in head mode, in pooled worktrees", async () => {
      const pr = fixture(h, 400001);
      const merge = await build(h, 400001);
      expect(merge).toMatchObject({ status: "passed", checkoutMode: "merge", headSha: pr.headSha });
      expect(await stored(h, merge.id)).toMatchObject({ checkedOutSha: pr.mergeSha, baseSha: h.kit.mini.masterSha });

      const head = await build(h, 400001, { mode: "head" });
      expect(head).toMatchObject({ status: "passed", checkoutMode: "head", headSha: pr.headSha });
      expect(await stored(h, head.id)).toMatchObject({ checkedOutSha: pr.headSha });

      // The PR was checked out in a worktree of the pool, which stays at its commit for a rebuild.
      const { worktreesDir, nixpkgsDir } = ctx(h).config;
      const dirs = readdirSync(worktreesDir);
      expect(dirs.length).toBeGreaterThan(0);
      for (const dir of dirs) expect(dir).toMatch(/^slot-\d+$/);
      const heads = await Promise.all(dirs.map((d) => runGit(["rev-parse", "HEAD"], { cwd: path.join(worktreesDir, d) })));
      expect(heads.map((s) => s.trim())).toContain(pr.headSha);

      // The warm clone's own checkout is never touched.
      expect((await runGit(["rev-parse", "HEAD"], { cwd: nixpkgsDir })).trim()).toBe(h.kit.mini.masterSha);
      expect((await runGit(["status", "--porcelain"], { cwd: nixpkgsDir })).trim()).toBe("");
    });

    it("refuses a PR whose head moved after GitHub computed its merge commit, naming both heads; head mode builds it", async () => {
      const pr = fixture(h, 400006);
      const refused = await build(h, 400006);
      expect(refused.status).toBe("error");
      expect(refused.error).toContain("PR #400006 moved");
      expect(refused.error).toContain(pr.headSha.slice(0, 12));
      expect(refused.error).toContain(pr.staleHeadSha!.slice(0, 12));
      expect(refused.derivations).toEqual([]);
      await expect(ctx(h).builds.getReport(refused.id)).rejects.toMatchObject({ code: "not_found" });

      const head = await build(h, 400006, { mode: "head" });
      expect(head.status).toBe("passed");
      expect(head.derivations.map((d) => [d.name, d.state])).toContainEqual(["hello-1.2", "built"]);
    });
  });

  describe("choosing attrs", () => {
    it("takes them from the CI comparison artifact first", async () => {
      const b = await build(h, 400003);
      expect(b.status).toBe("passed");
      expect(b.targets).toEqual(
        ["chain-app", "libchain", "libchain-core"].map((attr) => ({ attr, source: "ci-artifact" })),
      );
    });

    it("then from changed pkgs/by-name paths", async () => {
      const b = await build(h, 400007);
      expect(b.status).toBe("passed");
      expect(b.targets).toEqual([{ attr: "cowsay", source: "by-name" }]);
    });

    it("then from commit titles when no by-name path changed", async () => {
      const title = "libchain: 1.4 -> 1.5";
      await addPullRequest(h.kit.mini.upstreamDir, {
        number: 400101,
        title,
        author: "chain-smith",
        files: { "pkgs/development/libraries/libchain/default.nix": LIBCHAIN_NIX.replace('version = "1.4"', 'version = "1.5"') },
      });
      h.kit.github.setPullRequest({ number: 400101, title, author: "chain-smith", baseRef: "master" });
      const b = await build(h, 400101);
      expect(b.targets).toEqual([{ attr: "libchain", source: "commit-title" }]);
      expect(b.targetNote).toBe("1 attr from commit titles");
      expect(b.status).toBe("passed");
      expect(b.derivations.map((d) => [d.name, d.state])).toContainEqual(["libchain-1.5", "built"]);
    });

    it("and the host's own list wins over all of them; attrs that do not exist are skipped and named", async () => {
      const b = await build(h, 400003, { attrs: ["sl", "no-such-package"] });
      expect(b.targets).toEqual([
        { attr: "sl", source: "host" },
        { attr: "no-such-package", source: "host" },
      ]);
      expect(b.status).toBe("passed");
      expect(b.targetNote).toContain("skipped 1 attr not found in the checkout: “no-such-package”");
      const { json } = await ctx(h).builds.getReport(b.id);
      const result = json.result[b.system]!;
      expect(result.built).toEqual([{ aliases: [], name: "sl" }]);
      expect(result["non-existent"]).toEqual([{ aliases: [], name: "no-such-package" }]);
      expect(json.only_packages).toEqual(["no-such-package", "sl"]);
    });

    it("shows a PR that yields no attr as nothing to build, never as a green build", async () => {
      await addPullRequest(h.kit.mini.upstreamDir, {
        number: 400102,
        title: "Explain the rehearsal in the README",
        author: "doc-writer",
        files: { "README.md": "# rehearsal nixpkgs\n\nNow with more words.\n" },
      });
      h.kit.github.setPullRequest({ number: 400102, title: "Explain the rehearsal in the README", author: "doc-writer", baseRef: "master" });
      const b = await build(h, 400102);
      expect(b.status).toBe("nothing-to-build");
      expect(b.targets).toEqual([]);
      expect(b.targetNote).toBe(
        "nothing to build — no CI comparison artifact, no pkgs/by-name changes, no package names in commit titles; host, pick attrs",
      );
      expect((await ctx(h).snapshot({ host: true })).queue.find((q) => q.prNumber === 400102)?.state).toBe("queued");
      await expect(ctx(h).builds.getReport(b.id)).rejects.toThrow(/had nothing to build/);
    });

    it("also when every attr it names turns out not to exist or not to evaluate", async () => {
      await addPullRequest(h.kit.mini.upstreamDir, {
        number: 400103,
        title: "oldtool: init at 0.1",
        author: "retro-fan",
        files: {
          "pkgs/by-name/ol/oldtool/package.nix":
            '{ stdenv }:\n\nstdenv.mkDerivation { pname = "oldtool"; version = "0.1"; } // { drvPath = throw "oldtool is marked as broken"; }\n',
        },
      });
      h.kit.github.setPullRequest({ number: 400103, title: "oldtool: init at 0.1", author: "retro-fan", baseRef: "master" });
      const b = await build(h, 400103);
      expect(b.status).toBe("nothing-to-build");
      expect(b.targets).toEqual([{ attr: "oldtool", source: "by-name" }]);
      expect(b.targetNote).toBe("nothing to build — skipped 1 attr that fail to evaluate (broken): “oldtool”; host, pick attrs");

      const picked = await build(h, 400103, { attrs: ["oldtool", "hello"] });
      expect(picked.status).toBe("passed");
      const { json, markdown } = await ctx(h).builds.getReport(picked.id);
      expect(json.result[picked.system]).toMatchObject({ broken: [{ name: "oldtool" }], built: [{ name: "hello" }], failed: [] });
      expect(markdown).toContain(":fast_forward: 1 package marked as broken and skipped:");
    });

    it("adds passthru.tests when the host asks for them, labelled as tests", async () => {
      const b = await build(h, 400001, { passthruTests: true });
      expect(b.status).toBe("passed");
      expect(b.targets).toEqual([
        { attr: "hello", source: "by-name" },
        { attr: "hello.passthru.tests.greeting", source: "passthru-tests" },
      ]);
      expect(ctx(h).logs.text(b.id)).toContain(HELLO_TEST_PASSED);
      const { json, markdown } = await ctx(h).builds.getReport(b.id);
      expect(json.result[b.system]).toMatchObject({
        built: [{ name: "hello", aliases: [] }],
        tests: [{ name: "hello.passthru.tests.greeting", aliases: [] }],
      });
      expect(markdown).toContain("Command: `nixpkgs-review pr 400001 --tests`");
      expect(markdown).toContain(":white_check_mark: 1 test built:");
    });
  });

  describe("runner", () => {
    it("keeps going past a failing dependency and reports it the way nixpkgs-review does", async () => {
      const b = await build(h, 400005, { attrs: ["depfail-lib", "depfail-app", "sl"] });
      expect(b.status).toBe("failed");
      expect(b.failedDrv).toBe("depfail-lib-1.1");
      expect(b.failedPhase).toBe("checkPhase");
      const states = Object.fromEntries(b.derivations.map((d) => [d.name, d.state]));
      expect(states).toMatchObject({ "depfail-lib-1.1": "failed", "depfail-app-2.3": "dependency-failed" });
      expect(ctx(h).logs.text(b.id)).toContain(DEPFAIL_TEST_ERROR);

      const dir = path.join(ctx(h).config.varDir, "reports", `build-${b.id}`);
      const json = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as NixpkgsReviewReportJson;
      expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
      expect(json).toMatchObject({ pr: 400005, commit: fixture(h, 400005).headSha, checkout: "merge", systems: [b.system] });
      expect(json.result[b.system]).toEqual({
        blacklisted: [],
        broken: [],
        built: [{ aliases: [], name: "sl" }],
        failed: [
          { aliases: [], name: "depfail-app" },
          { aliases: [], name: "depfail-lib" },
        ],
        "non-existent": [],
        tests: [],
      });
      const markdown = readFileSync(path.join(dir, "report.md"), "utf8");
      expect(markdown.startsWith("## `nixpkgs-review` result\n")).toBe(true);
      expect(markdown).toContain(`### \`${b.system}\``);
      expect(markdown).toContain("<summary>:x: 2 packages failed to build:</summary>");
      expect(markdown).toContain(`<summary>Error logs: \`${b.system}\`</summary>`);
      const tail = /<summary>depfail-lib<\/summary>\n<pre>([^]*?)<\/pre>/.exec(markdown)?.[1];
      expect(tail).toContain(DEPFAIL_TEST_ERROR);
      expect(tail!.split("\n").length).toBeLessThanOrEqual(20);

      // Served over HTTP as JSON and as markdown.
      const asJson = await callRoute(getReportRoute, `/api/builds/${b.id}/report`, b.id);
      expect(asJson.status).toBe(200);
      expect(await asJson.json()).toEqual(json);
      const asMarkdown = await callRoute(getReportRoute, `/api/builds/${b.id}/report?format=md`, b.id);
      expect(asMarkdown.headers.get("content-type")).toContain("text/markdown");
      expect(await asMarkdown.text()).toBe(markdown);
    });

    it("runs three builds at once and queues the rest; a cancelled queued build never starts", async () => {
      const prs = [400001, 400002, 400003, 400007, 400005];
      const history: Array<{ id: number; status: string }> = [];
      const onUpdate = (v: BuildView) => history.push({ id: v.id, status: v.status });
      ctx(h).events.on("build-updated", onUpdate);
      try {
        const ids: number[] = [];
        for (const pr of prs) {
          await queue(h, pr);
          const [started] = await ctx(h).builds.startBuild(pr, { attrs: ["chatty"] });
          ids.push(started!.id);
        }
        const views = () => Promise.all(ids.map(async (id) => (await ctx(h).builds.getBuild(id))!));
        await until(async () => {
          const now = await views();
          return now.filter((v) => v.status === "running").length === 3 && now.filter((v) => v.status === "queued").length === 2;
        }, "three builds run and two wait");
        const waiting = (await views()).filter((v) => v.status === "queued");
        expect(waiting.every((v) => v.targets.length === 1)).toBe(true);
        const [fourth, fifth] = waiting.map((v) => v.id);
        ctx(h).builds.cancel(fifth!);
        await ctx(h).builds.idle();

        const final = await views();
        expect(final.find((v) => v.id === fifth)).toMatchObject({ status: "cancelled", error: "Cancelled by the host before nix started." });
        expect(final.filter((v) => v.id !== fifth).map((v) => v.status)).toEqual(["passed", "passed", "passed", "passed"]);

        // Replay what every screen saw: never more than three running, and the fourth only once one had finished.
        const running = new Set<number>();
        let most = 0;
        for (const { id, status } of history) {
          if (status === "running") running.add(id);
          else running.delete(id);
          most = Math.max(most, running.size);
        }
        expect(most).toBe(3);
        const fourthRan = history.findIndex((e) => e.id === fourth && e.status === "running");
        expect(fourthRan).toBeGreaterThan(-1);
        expect(history.slice(0, fourthRan).some((e) => e.status === "passed" && ids.includes(e.id))).toBe(true);
        expect(history.some((e) => e.id === fifth && e.status === "running")).toBe(false);
      } finally {
        ctx(h).events.off("build-updated", onUpdate);
      }
    });

    it("cancels a running build: nix and everything it started are gone, and the reason is recorded", async () => {
      let id: number | undefined;
      const firstLine = firstLogLine(h, () => id, /^CC src\/module-/);
      await queue(h, 400004);
      [{ id }] = (await ctx(h).builds.startBuild(400004)) as [BuildView];
      await firstLine;
      const tree = nixBuildProcessTree(h);
      expect(tree.length).toBeGreaterThan(0);

      ctx(h).builds.cancel(id!);
      await ctx(h).builds.idle();
      const b = (await ctx(h).builds.getBuild(id!))!;
      expect(b.status).toBe("cancelled");
      expect(b.error).toMatch(/^Cancelled by the host after \d+ s, during chatty-2\.1: buildPhase; nix was stopped\.$/);
      expect((await stored(h, id!)).error).toBe(b.error);
      expect(living(tree)).toEqual([]);
      expect(ctx(h).logs.text(id!)).toContain("CC src/module-1.o");
      expect(() => ctx(h).builds.cancel(id!)).toThrow(/not running/);
    });

    it("a restart during a build marks it interrupted with its log intact; it can be built again", async () => {
      let id: number | undefined;
      const firstLine = firstLogLine(h, () => id, /^CC src\/module-/);
      await queue(h, 400004);
      [{ id }] = (await ctx(h).builds.startBuild(400004)) as [BuildView];
      await firstLine;
      const tree = nixBuildProcessTree(h);
      expect(tree.length).toBeGreaterThan(0);

      await h.restart();
      expect(living(tree)).toEqual([]);
      const interrupted = (await ctx(h).builds.getBuild(id!))!;
      expect(interrupted.status).toBe("interrupted");
      expect(interrupted.error).toMatch(/server was stopped during this build.*press Build/i);
      const log = ctx(h).logs.read(id!, 1, 100_000);
      expect(log.length).toBe(interrupted.logLineCount);
      expect(log.map((l) => l.seq)).toEqual(log.map((_, i) => i + 1));
      expect(log.map((l) => l.text)).toContain("CC src/module-1.o (1/200)");
      for (const b of await ctx(h).builds.listBuilds(100)) expect(FINISHED_BUILD_STATUSES).toContain(b.status);
      expect((await ctx(h).snapshot({ host: true })).queue.find((q) => q.prNumber === 400004)?.state).toBe("queued");

      // The kept log is served by line range after the restart.
      const range = await callRoute(getLogRoute, `/api/builds/${id}/log?from=2&limit=3`, id!);
      const body = (await range.json()) as { total: number; lines: LogLine[] };
      expect(body.total).toBe(log.length);
      expect(body.lines).toEqual(log.slice(1, 4));

      const again = await build(h, 400004);
      expect(again.status).toBe("passed");
      expect(ctx(h).logs.read(id!, 1, 100_000)).toEqual(log);

      // A crash leaves no chance to record anything: the next start marks what was in flight.
      await ctx(h).db.build.update({ where: { id: again.id }, data: { status: "running", finishedAt: null } });
      await h.restart();
      expect(await ctx(h).builds.getBuild(again.id)).toMatchObject({ status: "interrupted", error: expect.stringMatching(/server restarted/) });
    });
  });

  it("cleans old refs on start and keeps only the pool's worktrees", async () => {
    const { nixpkgsDir, worktreesDir } = ctx(h).config;
    // The restarts above cleaned up; no build has run since the last one.
    const refs = (await runGit(["for-each-ref", "--format=%(refname)", "refs/mafhf/"], { cwd: nixpkgsDir })).trim();
    expect(refs).toBe("");
    expect(readdirSync(worktreesDir).every((d) => /^slot-[1-4]$/.test(d))).toBe(true);
    expect(existsSync(path.join(worktreesDir, "pr-400001"))).toBe(false);
  });
});

describe("build timeout", () => {
  let h: ShowHarness;

  beforeAll(async () => {
    h = await startHarness({ chattyLines: 300, chattySeconds: 60, env: { BUILD_TIMEOUT_SECONDS: "4" } });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("stops a build that runs past BUILD_TIMEOUT_SECONDS and says so", async () => {
    const b = await build(h, 400004);
    expect(b.status).toBe("failed");
    expect(b.error).toBe("Timed out after 4 s (BUILD_TIMEOUT_SECONDS); nix was stopped.");
    expect(b.failedDrv).toBe("chatty-2.1");
    expect(nixBuildProcessTree(h)).toEqual([]);
    expect(ctx(h).logs.text(b.id)).toContain("CC src/module-1.o");
  });
});
