import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@/server/errors";
import { generateMiniNixpkgs, type MiniNixpkgs, type PullRequestFixture } from "@/server/rehearsal/mini-nixpkgs";
import {
  checkoutPullRequest,
  removeWorktree,
  worktreePath,
  type CheckoutMode,
} from "@/server/workspace/checkout-pull-request";
import { runGit } from "@/server/workspace/git";
import { ensureWarmClone } from "@/server/workspace/warm-clone";

const HELLO = "pkgs/by-name/he/hello/package.nix";

async function caught(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected an AppError, but the call succeeded");
}

function nixEval(cwd: string, expr: string): Promise<string> {
  const args = ["eval", "--extra-experimental-features", "nix-command", "--option", "substituters", "", "--impure", "--raw", "--expr", expr];
  return new Promise((resolve, reject) => {
    const child = spawn("nix", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
}

describe("workspace: warm clone and PR worktrees", () => {
  let tmp: string;
  let mini: MiniNixpkgs;
  let warmDir: string;
  let worktreesDir: string;

  const git = (cwd: string, args: string[]) => runGit(args, { cwd }).then((out) => out.trim());
  const fixture = (number: number): PullRequestFixture => {
    const pr = mini.pullRequests.find((p) => p.number === number);
    if (!pr) throw new Error(`no fixture ${number}`);
    return pr;
  };
  const checkout = (number: number, mode?: CheckoutMode, override: Partial<{ mergeCommitSha: string | null; gitUrl: string }> = {}) => {
    const pr = fixture(number);
    return checkoutPullRequest({
      warmDir,
      worktreesDir,
      gitUrl: override.gitUrl ?? mini.gitUrl,
      pr: { number, headSha: pr.headSha, mergeCommitSha: "mergeCommitSha" in override ? (override.mergeCommitSha ?? null) : pr.mergeSha },
      ...(mode ? { mode } : {}),
    });
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "mafhf-workspace-"));
    mini = await generateMiniNixpkgs({ dir: path.join(tmp, "fixture") });
    warmDir = path.join(tmp, "warm", "nixpkgs");
    worktreesDir = path.join(tmp, "worktrees");
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("clones the warm nixpkgs once, then refreshes it with a fetch", async () => {
    const first = await ensureWarmClone({ dir: warmDir, gitUrl: mini.gitUrl });
    expect(first).toMatchObject({ dir: warmDir, created: true, headSha: mini.masterSha, originHeadSha: mini.masterSha });
    expect(await git(warmDir, ["rev-parse", "--abbrev-ref", "HEAD"])).toBe("master");

    // master moves upstream
    await git(mini.root, ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-m", "treewide: nothing"]);
    await git(mini.root, ["push", "--quiet", "origin", "master"]);
    const newMaster = await git(mini.root, ["rev-parse", "HEAD"]);

    const second = await ensureWarmClone({ dir: warmDir, gitUrl: mini.gitUrl });
    expect(second).toMatchObject({ created: false, headSha: mini.masterSha, originHeadSha: newMaster });
    expect(await git(warmDir, ["rev-parse", "origin/master"])).toBe(newMaster);
  });

  it("checks out PR 400001's test merge commit in its own worktree", async () => {
    const pr = fixture(400001);
    const result = await checkout(400001);
    expect(result).toEqual({
      worktree: worktreePath(worktreesDir, 400001),
      checkedOutSha: pr.mergeSha,
      headSha: pr.headSha,
      baseSha: mini.masterSha,
      mode: "merge",
      changedFiles: [HELLO],
      reusedWorktree: false,
    });
    expect(await git(result.worktree, ["rev-parse", "HEAD"])).toBe(pr.mergeSha);
    expect(await readFile(path.join(result.worktree, HELLO), "utf8")).toContain('version = "1.1"');
    expect(await nixEval(result.worktree, `(import ${result.worktree} { }).hello.version`)).toBe("1.1");
    expect(await git(warmDir, ["rev-parse", "refs/mafhf/pr-400001"])).toBe(pr.mergeSha);
  });

  it("reuses the PR's worktree for a head-mode checkout and cleans what a build left behind", async () => {
    const pr = fixture(400001);
    const worktree = worktreePath(worktreesDir, 400001);
    await symlink("/nix/store/nonexistent-hello-1.1", path.join(worktree, "result"));
    await writeFile(path.join(worktree, HELLO), "# edited by hand\n");

    const result = await checkout(400001, "head");
    expect(result).toMatchObject({ worktree, checkedOutSha: pr.headSha, headSha: pr.headSha, baseSha: mini.masterSha, mode: "head", reusedWorktree: true });
    expect(result.changedFiles).toEqual([HELLO]);
    expect(await git(worktree, ["rev-parse", "HEAD"])).toBe(pr.headSha);
    expect(await git(worktree, ["status", "--porcelain", "--ignored"])).toBe("");
    expect(existsSync(path.join(worktree, "result"))).toBe(false);
    expect(await readFile(path.join(worktree, HELLO), "utf8")).toContain('version = "1.1"');
  });

  it("refuses PR 400006 in merge mode because its test merge commit is stale, without making a worktree", async () => {
    const pr = fixture(400006);
    const error = await caught(checkout(400006));
    expect(error.code).toBe("head_moved");
    expect(error.message).toContain("PR #400006 moved");
    expect(error.message).toContain(pr.headSha.slice(0, 12));
    expect(error.message).toContain(pr.staleHeadSha?.slice(0, 12));
    expect(error.message).toContain("wait a minute and rebuild");
    expect(existsSync(worktreePath(worktreesDir, 400006))).toBe(false);
    expect(await git(warmDir, ["for-each-ref", "refs/mafhf/pr-400006"])).toBe("");

    // Head mode builds what the author pushed last.
    const head = await checkout(400006, "head");
    expect(head.checkedOutSha).toBe(pr.headSha);
    expect(head.changedFiles).toEqual([HELLO]);
    const source = await readFile(path.join(head.worktree, HELLO), "utf8");
    expect(source).toContain('version = "1.2"');
    expect(source).toContain("doCheck = true;");
  });

  it("asks for head mode when GitHub has no test merge commit", async () => {
    const error = await caught(checkout(400007, "merge", { mergeCommitSha: null }));
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(/PR #400007 has no test merge commit.*head mode/);
    expect(existsSync(worktreePath(worktreesDir, 400007))).toBe(false);

    const head = await checkout(400007, "head", { mergeCommitSha: null });
    expect(head).toMatchObject({ checkedOutSha: fixture(400007).headSha, changedFiles: ["pkgs/by-name/co/cowsay/package.nix"] });
    // Without a merge commit the base is the warm clone's origin/HEAD, which moved past the fork point.
    expect(head.baseSha).toBe(await git(warmDir, ["rev-parse", "origin/master"]));
  });

  it("builds the head in head mode even when the merge commit GitHub names is gone", async () => {
    const gone = checkout(400005, "head", { mergeCommitSha: "2".repeat(40) });
    await expect(gone).resolves.toMatchObject({
      checkedOutSha: fixture(400005).headSha,
      changedFiles: ["pkgs/by-name/de/depfail-lib/package.nix"],
    });
  });

  it("explains a repository URL git cannot reach", async () => {
    const missing = path.join(tmp, "no-such-upstream.git");
    const fetchError = await caught(checkout(400003, "merge", { gitUrl: `file://${missing}` }));
    expect(fetchError.code).toBe("git_failed");
    expect(fetchError.message).toContain("git fetch exited with code 128");
    expect(fetchError.message).toContain("does not appear to be a git repository");
    expect(fetchError.message).toContain("Could not fetch PR #400003");
    expect(existsSync(worktreePath(worktreesDir, 400003))).toBe(false);

    const cloneDir = path.join(tmp, "warm-bad", "nixpkgs");
    const cloneError = await caught(ensureWarmClone({ dir: cloneDir, gitUrl: `file://${missing}` }));
    expect(cloneError.code).toBe("git_failed");
    expect(cloneError.message).toContain("git clone exited with code 128");
    expect(cloneError.message).toContain(`Could not clone file://${missing}`);
    expect(existsSync(cloneDir)).toBe(false);
    expect(await readdir(path.dirname(cloneDir))).toEqual([]);
  });

  it("explains a commit the remote does not have", async () => {
    const error = await caught(
      checkoutPullRequest({
        warmDir,
        worktreesDir,
        gitUrl: mini.gitUrl,
        pr: { number: 400099, headSha: "1".repeat(40), mergeCommitSha: "2".repeat(40) },
      }),
    );
    expect(error.code).toBe("git_failed");
    expect(error.message).toContain("not our ref");
    expect(error.message).toContain("If the PR was force-pushed, refresh it from GitHub");
  });

  it("refuses a warm clone directory that holds something else", async () => {
    const dir = path.join(tmp, "not-a-clone");
    await mkdir(dir);
    await writeFile(path.join(dir, "notes.txt"), "mine\n");
    const error = await caught(ensureWarmClone({ dir, gitUrl: mini.gitUrl }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("is not a git clone");
    expect(await readFile(path.join(dir, "notes.txt"), "utf8")).toBe("mine\n");
  });

  it("checks out two PRs at once", async () => {
    const [chain, broken] = await Promise.all([checkout(400003), checkout(400002)]);
    expect(chain.checkedOutSha).toBe(fixture(400003).mergeSha);
    expect(broken.checkedOutSha).toBe(fixture(400002).mergeSha);
    expect(await git(chain.worktree, ["rev-parse", "HEAD"])).toBe(fixture(400003).mergeSha);
    expect(await git(broken.worktree, ["rev-parse", "HEAD"])).toBe(fixture(400002).mergeSha);
    expect(chain.changedFiles).toEqual(["pkgs/by-name/li/libchain-core/package.nix"]);
    expect(broken.changedFiles).toEqual(["pkgs/by-name/br/broken-tool/package.nix"]);
  });

  it("takes two checkouts of the same PR in turn: the second reuses the first's worktree", async () => {
    const pr = fixture(400004);
    const [merge, head] = await Promise.all([checkout(400004, "merge"), checkout(400004, "head")]);
    expect(merge).toMatchObject({ checkedOutSha: pr.mergeSha, reusedWorktree: false });
    expect(head).toMatchObject({ checkedOutSha: pr.headSha, reusedWorktree: true, worktree: merge.worktree });
    expect(await git(head.worktree, ["rev-parse", "HEAD"])).toBe(pr.headSha);
  });

  it("never touches the warm clone's own checkout, and keeps its history whole", async () => {
    expect(await git(warmDir, ["rev-parse", "HEAD"])).toBe(mini.masterSha);
    expect(await git(warmDir, ["rev-parse", "--abbrev-ref", "HEAD"])).toBe("master");
    expect(await git(warmDir, ["status", "--porcelain", "--ignored"])).toBe("");
    expect(await git(warmDir, ["rev-parse", "--is-shallow-repository"])).toBe("false");
    expect(await readFile(path.join(warmDir, HELLO), "utf8")).toContain('version = "1.0"');
  });

  it("fetches with --depth=2 into a shallow warm clone and still finds base and head", async () => {
    const shallowDir = path.join(tmp, "shallow-warm");
    await runGit(["clone", "--quiet", "--depth=1", mini.gitUrl, shallowDir], { cwd: tmp });
    const pr = fixture(400003);
    const result = await checkoutPullRequest({
      warmDir: shallowDir,
      worktreesDir: path.join(tmp, "shallow-worktrees"),
      gitUrl: mini.gitUrl,
      pr: { number: pr.number, headSha: pr.headSha, mergeCommitSha: pr.mergeSha },
    });
    expect(result).toMatchObject({ checkedOutSha: pr.mergeSha, headSha: pr.headSha, baseSha: mini.masterSha });
    expect(result.changedFiles).toEqual(pr.changedFiles);
  });

  it("removes a PR's worktree", async () => {
    const worktree = worktreePath(worktreesDir, 400002);
    expect(existsSync(worktree)).toBe(true);
    await removeWorktree({ warmDir, worktreesDir, prNumber: 400002 });
    expect(existsSync(worktree)).toBe(false);
    expect(await git(warmDir, ["worktree", "list", "--porcelain"])).not.toContain("pr-400002");
    expect(await git(warmDir, ["for-each-ref", "refs/mafhf/pr-400002"])).toBe("");
  });
});
