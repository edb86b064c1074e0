import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@/server/errors";
import { generateMiniNixpkgs, type MiniNixpkgs } from "@/server/rehearsal/mini-nixpkgs";
import { checkoutPullRequest, fetchPullRequestCommits, worktreePath } from "@/server/workspace/checkout-pull-request";
import { checkDiskBudget } from "@/server/workspace/disk-budget";
import { runGit } from "@/server/workspace/git";
import { preloadNixpkgs } from "@/server/workspace/preload";
import { WorktreePool, defaultPoolSize, slotPath } from "@/server/workspace/worktree-pool";

/** The preload command and the worktree pool, on a generated mini-nixpkgs with real git. */

async function caught(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected an AppError, but the call succeeded");
}

describe("preload and the worktree pool", () => {
  let tmp: string;
  let mini: MiniNixpkgs;
  let warmDir: string;
  let worktreesDir: string;
  const git = (cwd: string, args: string[]) => runGit(args, { cwd }).then((out) => out.trim());
  const pr = (n: number) => mini.pullRequests.find((p) => p.number === n)!;
  const fetchPr = (n: number) =>
    fetchPullRequestCommits({ warmDir, gitUrl: mini.gitUrl, pr: { number: n, headSha: pr(n).headSha, mergeCommitSha: pr(n).mergeSha } });

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "mafhf-pool-"));
    mini = await generateMiniNixpkgs({ dir: path.join(tmp, "fixture"), size: 20 });
    warmDir = path.join(tmp, "var", "nixpkgs");
    worktreesDir = path.join(tmp, "var", "worktrees");
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("refuses to start with less free disk than the budget, saying where and how much", async () => {
    const error = await caught(
      preloadNixpkgs({ nixpkgsDir: warmDir, gitUrl: mini.gitUrl, worktreesDir, poolSize: 4, diskBudgetGb: 1_000_000 }),
    );
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/^Only \d+(\.\d)? GB free on \/\S*; the show needs 1000000 GB \(DISK_BUDGET_GB\) to fetch pull requests and build them\./);
    expect(existsSync(warmDir)).toBe(false);
    expect((await checkDiskBudget({ dir: warmDir, budgetGb: 0 })).freeGb).toBeGreaterThan(0);
  });

  it("clones nixpkgs and makes every worktree of the pool ready at the default branch", async () => {
    const steps: string[] = [];
    const result = await preloadNixpkgs({
      nixpkgsDir: warmDir,
      gitUrl: mini.gitUrl,
      worktreesDir,
      poolSize: defaultPoolSize(3),
      diskBudgetGb: 1,
      onStep: (s) => steps.push(s),
    });
    expect(result.clone).toMatchObject({ created: true, originHeadSha: mini.masterSha });
    expect(result.slots).toEqual([1, 2, 3, 4].map((i) => ({ path: slotPath(worktreesDir, i), created: true })));
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const slot of result.slots) expect(await git(slot.path, ["rev-parse", "HEAD"])).toBe(mini.masterSha);
    expect(await git(warmDir, ["rev-parse", "--abbrev-ref", "HEAD"])).toBe("master");
  });

  it("a second preload refreshes the clone, keeps the worktrees and cleans what old checkouts left", async () => {
    // What an older version (one worktree per PR) and earlier shows left behind.
    const legacy = await checkoutPullRequest({
      warmDir,
      worktreesDir,
      gitUrl: mini.gitUrl,
      pr: { number: 400002, headSha: pr(400002).headSha, mergeCommitSha: pr(400002).mergeSha },
    });
    expect(legacy.worktree).toBe(worktreePath(worktreesDir, 400002));
    await fetchPr(400003);
    expect(await git(warmDir, ["for-each-ref", "--format=%(refname)", "refs/mafhf/"])).toBe("refs/mafhf/pr-400002\nrefs/mafhf/pr-400003");
    await writeFile(path.join(worktreesDir, "notes.txt"), "not ours to delete\n");

    const result = await preloadNixpkgs({ nixpkgsDir: warmDir, gitUrl: mini.gitUrl, worktreesDir, poolSize: 4, diskBudgetGb: 1 });
    expect(result.clone.created).toBe(false);
    expect(result.slots.every((s) => !s.created)).toBe(true);
    expect(result.removedWorktrees).toEqual([worktreePath(worktreesDir, 400002)]);
    expect(result.removedRefs).toEqual(["refs/mafhf/pr-400002", "refs/mafhf/pr-400003"]);
    expect((await readdir(worktreesDir)).sort()).toEqual(["notes.txt", "slot-1", "slot-2", "slot-3", "slot-4"]);
    expect(await git(warmDir, ["worktree", "list", "--porcelain"])).not.toContain("pr-400002");
  });

  it("moves a worktree from one PR to the next instead of checking out a fresh one", async () => {
    const pool = new WorktreePool({ warmDir, worktreesDir, size: 1 });
    const first = await pool.acquire(400001);
    const hello = await fetchPr(400001);
    expect(await pool.checkout(first, hello.checkedOutSha)).toEqual({ reused: true });
    await writeFile(path.join(first.path, "result"), "left by a build\n");
    await writeFile(path.join(first.path, "pkgs/by-name/he/hello/package.nix"), "# edited\n");
    first.release();
    // What the build left is removed once the worktree is given back, not when the next build waits for it.
    await pool.settled();
    expect(existsSync(path.join(first.path, "result"))).toBe(false);

    const second = await pool.acquire(400003);
    expect(second.path).toBe(first.path);
    const chain = await fetchPr(400003);
    expect(await pool.checkout(second, chain.checkedOutSha)).toEqual({ reused: true });
    expect(await git(second.path, ["rev-parse", "HEAD"])).toBe(pr(400003).mergeSha);
    expect(await git(second.path, ["status", "--porcelain", "--ignored"])).toBe("");
    second.release();
  });

  it("never hands out a worktree in use: the next build waits in order, prefers its PR's old worktree, and can stop waiting", async () => {
    const pool = new WorktreePool({ warmDir, worktreesDir, size: 2 });
    const a = await pool.acquire(1);
    const b = await pool.acquire(2);
    expect(a.path).not.toBe(b.path);

    const order: string[] = [];
    const third = pool.acquire(3).then((lease) => (order.push("third"), lease));
    const abort = new AbortController();
    const gaveUp = pool.acquire(4, abort.signal).catch((reason: unknown) => (order.push("gave up"), reason));
    const fifth = pool.acquire(5).then((lease) => (order.push("fifth"), lease));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]);
    expect(pool.usage()).toEqual({ busy: 2, waiting: 3 });

    abort.abort(new AppError("conflict", "cancelled"));
    expect(await gaveUp).toMatchObject({ message: "cancelled" });
    b.release();
    expect((await third).path).toBe(b.path);
    a.release();
    expect((await fifth).path).toBe(a.path);
    expect(order).toEqual(["gave up", "third", "fifth"]);

    (await third).release();
    (await fifth).release();
    // PR 5 last held a's worktree; with both free it gets that one back.
    expect((await pool.acquire(5)).path).toBe(a.path);
  });
});
