import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import type { BuildView } from "@/server/show/views";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/**
 * The whole slice on real git, real nix and a real database, without the browser: submit a PR,
 * build it, read the verdict. The browser version is tests/e2e/show-slice.test.ts.
 */
let h: ShowHarness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

async function submitAndBuild(prNumber: number, nickname = "tester"): Promise<BuildView> {
  const { intake, builds } = h.show.context;
  await submitPullRequest(intake, { source: "web", text: `#${prNumber}`, nickname });
  const [started] = await builds.startBuild(prNumber);
  await builds.idle();
  return (await builds.getBuild(started!.id))!;
}

describe("a PR from submission to verdict", () => {
  it("builds a passing PR with the attrs its pkgs/by-name paths name", async () => {
    const build = await submitAndBuild(400001, "alice");
    expect(build.status).toBe("passed");
    expect(build.targets).toEqual([{ attr: "hello", source: "by-name" }]);
    const fixture = h.kit.mini.pullRequests.find((p) => p.number === 400001)!;
    expect(build.headSha).toBe(fixture.headSha);
    expect(build.derivations.map((d) => [d.name, d.state])).toContainEqual(["hello-1.1", "built"]);
    expect(build.submitters).toEqual(["alice"]);
    const lines = h.show.context.logs.read(build.id);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const queue = await h.show.context.snapshot();
    expect(queue.queue.find((q) => q.prNumber === 400001)?.state).toBe("passed");
  });

  it("names the failing derivation and its phase for a failing PR, and keeps the error in the log", async () => {
    const fixture = h.kit.mini.pullRequests.find((p) => p.number === 400002)!;
    const build = await submitAndBuild(400002);
    expect(build.status).toBe("failed");
    expect(build.failedDrv).toMatch(/^broken-tool-/);
    expect(build.failedPhase).toBe(fixture.failure!.phase);
    const log = h.show.context.logs.text(build.id);
    expect(log).toContain(fixture.failure!.line);
  });

  it("takes the attrs from the CI comparison artifact when the PR has one", async () => {
    const fixture = h.kit.mini.pullRequests.find((p) => p.kind === "dependency-chain")!;
    const build = await submitAndBuild(fixture.number);
    expect(build.status).toBe("passed");
    expect(build.targets.map((t) => t.source)).toEqual(fixture.changedAttrs.map(() => "ci-artifact"));
    expect(build.targets.map((t) => t.attr).sort()).toEqual([...fixture.changedAttrs].sort());
    expect(build.derivations.filter((d) => d.state === "built").length).toBeGreaterThanOrEqual(3);
  });

  it("refuses to build a PR whose head moved after GitHub computed its merge commit", async () => {
    const fixture = h.kit.mini.pullRequests.find((p) => p.expected === "head-moved")!;
    const build = await submitAndBuild(fixture.number);
    expect(build.status).toBe("error");
    expect(build.error).toMatch(/moved/);
    expect(build.error).toContain(fixture.headSha.slice(0, 7));
    expect(build.derivations).toEqual([]);
  });

  it("builds only the systems the host chose, and refuses one the show does not build for", async () => {
    const { intake, builds, config } = h.show.context;
    await submitPullRequest(intake, { source: "web", text: "#400007" });
    await expect(builds.startBuild(400007, { systems: ["riscv64-linux"] })).rejects.toThrow(/riscv64-linux is not one of this show's systems/);
    const started = await builds.startBuild(400007, { systems: [config.nixSystems[0]!] });
    expect(started.map((b) => b.system)).toEqual([config.nixSystems[0]]);
    await builds.idle();
  });

  it("refuses an unknown PR at submission with the reason, and stores the attempt", async () => {
    await expect(submitPullRequest(h.show.context.intake, { source: "web", text: "#999999", nickname: "x" })).rejects.toThrow(
      /does not exist/,
    );
    await expect(submitPullRequest(h.show.context.intake, { source: "web", text: "rm -rf /", nickname: "x" })).rejects.toMatchObject({
      code: "invalid_pr_reference",
    });
    const stored = await h.show.context.db.submission.findMany({ where: { outcome: "refused" } });
    expect(stored.map((s) => s.rawText)).toEqual(["#999999", "rm -rf /"]);
  });
});
