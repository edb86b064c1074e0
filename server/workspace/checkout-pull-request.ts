import { mkdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors";
import { resolveCommit, runGit, shortSha } from "./git";
import { withWarmCloneLock } from "./warm-clone";

/**
 * Puts a pull request's code in a worktree of the warm clone, the way nixpkgs-review does:
 * fetch GitHub's test merge commit by SHA, take base = merge^1 and head = merge^2, and refuse
 * when that head is not the head GitHub reports (the merge commit is stale).
 *
 * Modes:
 * - "merge" (default) checks out the test merge commit. A PR without one (GitHub found a
 *   conflict, or has not computed it) is refused with a "conflict" error that suggests head mode;
 *   we do not merge locally, so what we build is always something GitHub computed.
 * - "head" checks out the PR head itself. It needs no merge commit and does not care whether the
 *   merge commit is stale; base is merge^1 when there is one, else the warm clone's origin/HEAD.
 */

export type CheckoutMode = "merge" | "head";

export interface CheckoutResult {
  worktree: string;
  checkedOutSha: string;
  headSha: string;
  baseSha: string;
  mode: CheckoutMode;
  /** Files the PR changes: base..merge in merge mode, merge-base(base, head)..head in head mode. */
  changedFiles: string[];
  /** False when the PR's worktree was made just now, true when an earlier one was reset. */
  reusedWorktree: boolean;
}

export interface CheckoutPullRequestOptions {
  warmDir: string;
  worktreesDir: string;
  gitUrl: string;
  pr: { number: number; headSha: string; mergeCommitSha: string | null };
  mode?: CheckoutMode;
  fetchTimeoutMs?: number;
}

const FETCH_TIMEOUT_MS = 10 * 60_000;
const SHA = /^[0-9a-f]{40}$/;

export function worktreePath(worktreesDir: string, prNumber: number): string {
  return path.join(path.resolve(worktreesDir), `pr-${prNumber}`);
}

/** Keeps the checked-out commit of PR N alive in the warm clone after worktrees are removed. */
function keepRef(prNumber: number): string {
  return `refs/mafhf/pr-${prNumber}`;
}

export async function checkoutPullRequest(opts: CheckoutPullRequestOptions): Promise<CheckoutResult> {
  const mode = opts.mode ?? "merge";
  const { number } = opts.pr;
  const headSha = opts.pr.headSha.toLowerCase();
  const mergeSha = opts.pr.mergeCommitSha?.toLowerCase() ?? null;
  if (!Number.isInteger(number) || number <= 0) {
    throw new AppError("bad_request", `"${number}" is not a pull request number.`);
  }
  if (!SHA.test(headSha) || (mergeSha !== null && !SHA.test(mergeSha))) {
    throw new AppError(
      "bad_request",
      `PR #${number}: expected full 40-character commit SHAs from GitHub, got head "${opts.pr.headSha}" and merge "${opts.pr.mergeCommitSha}".`,
    );
  }
  if (mode === "merge" && mergeSha === null) {
    throw new AppError(
      "conflict",
      `PR #${number} has no test merge commit on GitHub, usually because it conflicts with its base branch. Build it in head mode, or ask the author to rebase.`,
      { prNumber: number },
    );
  }

  const warmDir = path.resolve(opts.warmDir);
  return withWarmCloneLock(warmDir, async () => {
    if (mode === "head") await fetchCommits(warmDir, opts, [headSha]);
    let merge: string | null = null;
    if (mergeSha && mode === "merge") {
      await fetchCommits(warmDir, opts, [mergeSha]);
      merge = mergeSha;
    } else if (mergeSha) {
      // Head mode only takes the base from the merge commit; a stale one may be gone already.
      merge = await fetchCommits(warmDir, opts, [mergeSha]).then(() => mergeSha, () => null);
    }

    let baseSha: string;
    let checkedOutSha: string;
    if (merge) {
      const [base, fetchedHead] = await Promise.all([
        resolveCommit(warmDir, `${merge}^1`),
        resolveCommit(warmDir, `${merge}^2`),
      ]);
      if (!base || !fetchedHead) {
        throw new AppError(
          "git_failed",
          `PR #${number}: commit ${shortSha(merge)} is not a merge commit, so it cannot be GitHub's test merge. Refresh the PR from GitHub and try again.`,
        );
      }
      if (mode === "merge" && fetchedHead !== headSha) {
        throw new AppError(
          "head_moved",
          `PR #${number} moved: GitHub says head is ${shortSha(headSha)} but its test merge commit contains ${shortSha(fetchedHead)} — GitHub has not finished recomputing it; wait a minute and rebuild`,
          { prNumber: number, headSha, mergeHeadSha: fetchedHead, mergeSha: merge },
        );
      }
      baseSha = base;
      checkedOutSha = mode === "merge" ? merge : headSha;
    } else {
      const base = (await resolveCommit(warmDir, "refs/remotes/origin/HEAD")) ?? (await resolveCommit(warmDir, "HEAD"));
      if (!base) {
        throw new AppError("git_failed", `The warm clone at ${warmDir} has no origin/HEAD or HEAD to compare PR #${number} with. Refresh the warm clone.`);
      }
      baseSha = base;
      checkedOutSha = headSha;
    }

    await runGit(["update-ref", keepRef(number), checkedOutSha], { cwd: warmDir });
    const { worktree, reused } = await prepareWorktree(warmDir, worktreePath(opts.worktreesDir, number), checkedOutSha);
    const changedFiles = await diffNames(warmDir, mode === "merge" ? baseSha : await mergeBaseOr(warmDir, baseSha, headSha), checkedOutSha);

    return { worktree, checkedOutSha, headSha, baseSha, mode, changedFiles, reusedWorktree: reused };
  });
}

async function fetchCommits(warmDir: string, opts: CheckoutPullRequestOptions, shas: string[]): Promise<void> {
  // nixpkgs-review passes --depth only in shallow clones: in a full clone, --depth=2 writes
  // .git/shallow and cuts master's history at the fetched commits (nixpkgs-review #499, #573).
  // Without it, git negotiates with the history it has and downloads only what is new.
  const shallow = (await runGit(["rev-parse", "--is-shallow-repository"], { cwd: warmDir })).trim() === "true";
  await runGit(
    ["-c", "fetch.prune=false", "fetch", "--quiet", "--no-tags", "--force", ...(shallow ? ["--depth=2"] : []), opts.gitUrl, ...shas],
    {
      cwd: warmDir,
      timeoutMs: opts.fetchTimeoutMs ?? FETCH_TIMEOUT_MS,
      hint: `Could not fetch PR #${opts.pr.number} (${shas.map(shortSha).join(", ")}) from ${opts.gitUrl}. If the PR was force-pushed, refresh it from GitHub; otherwise check the network and try again.`,
    },
  );
}

async function mergeBaseOr(warmDir: string, baseSha: string, headSha: string): Promise<string> {
  // A shallow clone may not reach the fork point; then compare with the base itself.
  const mergeBase = await runGit(["merge-base", baseSha, headSha], { cwd: warmDir }).catch(() => "");
  return mergeBase.trim() || baseSha;
}

async function diffNames(cwd: string, from: string, to: string): Promise<string[]> {
  const out = await runGit(["diff", "--no-renames", "--name-only", "-z", from, to], { cwd });
  return out.split("\0").filter((name) => name.length > 0);
}

/**
 * One worktree per PR, reused: resetting an existing checkout rewrites only the files that
 * differ, where a fresh `worktree add` of nixpkgs writes 40,000 of them.
 */
async function prepareWorktree(
  warmDir: string,
  worktree: string,
  sha: string,
): Promise<{ worktree: string; reused: boolean }> {
  const registered = await registeredWorktrees(warmDir);
  const existing = await realpathOrNull(worktree);
  if (existing && registered.has(existing)) {
    const inWorktree = (args: string[]) => runGit(args, { cwd: worktree });
    await inWorktree(["checkout", "--quiet", "--detach", "--force", sha]);
    await inWorktree(["clean", "-fdxq"]);
    return { worktree, reused: true };
  }
  if (existing) {
    throw new AppError(
      "conflict",
      `${worktree} exists but is not a worktree of the warm clone ${warmDir}. Delete it, then build again.`,
    );
  }
  // A worktree deleted by hand is still registered; forget it before adding it again.
  await runGit(["worktree", "prune"], { cwd: warmDir });
  await mkdir(path.dirname(worktree), { recursive: true });
  await runGit(["worktree", "add", "--quiet", "--detach", worktree, sha], {
    cwd: warmDir,
    hint: `Could not create the worktree ${worktree}: if that directory exists, delete it and build again; otherwise check free disk space.`,
  });
  return { worktree, reused: false };
}

async function registeredWorktrees(warmDir: string): Promise<Set<string>> {
  const out = await runGit(["worktree", "list", "--porcelain"], { cwd: warmDir });
  const paths = out
    .split("\n")
    .filter((line) => line.startsWith("worktree "))
    .map((line) => line.slice("worktree ".length));
  const resolved = await Promise.all(paths.map(realpathOrNull));
  return new Set(resolved.filter((p): p is string => p !== null));
}

async function realpathOrNull(p: string): Promise<string | null> {
  try {
    await stat(p);
    return await realpath(p);
  } catch {
    return null;
  }
}

/** Removes PR N's worktree (and its keep-alive ref). Does nothing when there is none. */
export async function removeWorktree(opts: { warmDir: string; worktreesDir: string; prNumber: number }): Promise<void> {
  const warmDir = path.resolve(opts.warmDir);
  await withWarmCloneLock(warmDir, async () => {
    const worktree = await realpathOrNull(worktreePath(opts.worktreesDir, opts.prNumber));
    if (worktree && (await registeredWorktrees(warmDir)).has(worktree)) {
      await runGit(["worktree", "remove", "--force", worktree], { cwd: warmDir });
    }
    await runGit(["worktree", "prune"], { cwd: warmDir });
    await runGit(["update-ref", "-d", keepRef(opts.prNumber)], { cwd: warmDir }).catch(() => undefined);
  });
}

/** Forgets worktrees whose directories were deleted by hand. */
export async function pruneWorktrees(warmDir: string): Promise<void> {
  await withWarmCloneLock(path.resolve(warmDir), () => runGit(["worktree", "prune"], { cwd: path.resolve(warmDir) }));
}
