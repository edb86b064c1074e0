import { mkdir, readdir, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors";
import { checkDiskBudget } from "./disk-budget";
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
 *
 * Fetching and checking out are two steps: `fetchPullRequestCommits` needs no worktree (the
 * changed files come from the warm clone), so the build service chooses attrs before it takes a
 * worktree from its pool and moves it with `checkoutWorktree`. `checkoutPullRequest` does both.
 */

export type CheckoutMode = "merge" | "head";

export interface PullRequestCommits {
  checkedOutSha: string;
  headSha: string;
  baseSha: string;
  mode: CheckoutMode;
  /** Files the PR changes: base..merge in merge mode, merge-base(base, head)..head in head mode. */
  changedFiles: string[];
}

export interface CheckoutResult extends PullRequestCommits {
  worktree: string;
  /** False when the worktree was made just now, true when an existing one was moved. */
  reusedWorktree: boolean;
}

export interface FetchPullRequestOptions {
  warmDir: string;
  gitUrl: string;
  pr: { number: number; headSha: string; mergeCommitSha: string | null };
  mode?: CheckoutMode;
  fetchTimeoutMs?: number;
  /** Refuse to fetch with less than this many GB free next to the warm clone (0 or absent: no check). */
  diskBudgetGb?: number;
}

export interface CheckoutPullRequestOptions extends FetchPullRequestOptions {
  worktreesDir: string;
  /** Where to check out; default `<worktreesDir>/pr-<number>`. */
  worktree?: string;
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

/** Fetches PR N's commits into the warm clone by SHA and checks its head; touches no worktree. */
export async function fetchPullRequestCommits(opts: FetchPullRequestOptions): Promise<PullRequestCommits> {
  const checked = checkRequest(opts);
  const warmDir = path.resolve(opts.warmDir);
  return withWarmCloneLock(warmDir, () => fetchUnlocked(warmDir, opts, checked));
}

/** Fetches PR N and checks it out in one worktree (by default its own, `<worktreesDir>/pr-N`). */
export async function checkoutPullRequest(opts: CheckoutPullRequestOptions): Promise<CheckoutResult> {
  const checked = checkRequest(opts);
  const warmDir = path.resolve(opts.warmDir);
  return withWarmCloneLock(warmDir, async () => {
    const commits = await fetchUnlocked(warmDir, opts, checked);
    const target = opts.worktree ? path.resolve(opts.worktree) : worktreePath(opts.worktreesDir, checked.number);
    const { worktree, reused } = await prepareWorktree(warmDir, target, commits.checkedOutSha);
    return { worktree, ...commits, reusedWorktree: reused };
  });
}

/**
 * Moves `worktree` (a worktree of the warm clone, or a path where one may be created) to `sha`,
 * discarding whatever a previous build left in it. The commit must already be in the warm clone.
 * `clean: false` skips removing untracked files, for a caller that knows there are none.
 */
export async function checkoutWorktree(opts: { warmDir: string; worktree: string; sha: string; clean?: boolean }): Promise<{ reused: boolean }> {
  const warmDir = path.resolve(opts.warmDir);
  return withWarmCloneLock(warmDir, async () => {
    const { reused } = await prepareWorktree(warmDir, path.resolve(opts.worktree), opts.sha, opts.clean ?? true);
    return { reused };
  });
}

/**
 * Removes every untracked and ignored file from a worktree (what a build or a person left), then
 * lets git refresh its index: entries written in the same second as the index are "racily clean"
 * and make the next checkout read every such file again, which after a fresh `worktree add` of
 * nixpkgs is most of them.
 */
export async function cleanWorktree(worktree: string): Promise<void> {
  await runGit(["clean", "-fdxq"], { cwd: worktree });
  await runGit(["status", "--porcelain", "--untracked-files=no"], { cwd: worktree });
}

interface CheckedRequest {
  number: number;
  headSha: string;
  mergeSha: string | null;
  mode: CheckoutMode;
}

function checkRequest(opts: FetchPullRequestOptions): CheckedRequest {
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
  return { number, headSha, mergeSha, mode };
}

async function fetchUnlocked(warmDir: string, opts: FetchPullRequestOptions, req: CheckedRequest): Promise<PullRequestCommits> {
  const { number, headSha, mergeSha, mode } = req;
  if (opts.diskBudgetGb) await checkDiskBudget({ dir: warmDir, budgetGb: opts.diskBudgetGb });
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

  // Keeps the commit alive until a worktree holds it; cleanWorkspace deletes these refs later.
  await runGit(["update-ref", keepRef(number), checkedOutSha], { cwd: warmDir });
  const changedFiles = await diffNames(warmDir, mode === "merge" ? baseSha : await mergeBaseOr(warmDir, baseSha, headSha), checkedOutSha);
  return { checkedOutSha, headSha, baseSha, mode, changedFiles };
}

async function fetchCommits(warmDir: string, opts: FetchPullRequestOptions, shas: string[]): Promise<void> {
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
 * Worktrees are reused: moving an existing checkout to another commit rewrites only the files
 * that differ, where a fresh `worktree add` of nixpkgs writes 40,000 of them.
 */
async function prepareWorktree(
  warmDir: string,
  worktree: string,
  sha: string,
  clean = true,
): Promise<{ worktree: string; reused: boolean }> {
  const registered = await registeredWorktrees(warmDir);
  const existing = await realpathOrNull(worktree);
  if (existing && registered.has(existing)) {
    await runGit(["checkout", "--quiet", "--detach", "--force", sha], { cwd: worktree });
    if (clean) await cleanWorktree(worktree);
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

/** True when `dir` exists and is a registered worktree of the warm clone. */
export async function isWorktreeOf(warmDir: string, dir: string): Promise<boolean> {
  const existing = await realpathOrNull(dir);
  return existing !== null && (await registeredWorktrees(path.resolve(warmDir))).has(existing);
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

/** Our own worktree directories: the pool's slots and the per-PR ones of checkoutPullRequest. */
const OWN_WORKTREE = /^(?:slot|pr)-\d+$/;

/**
 * Cleans what earlier checkouts left behind: every worktree directory of ours under
 * `worktreesDir` that is not in `keep`, or that git no longer knows as a worktree, is removed;
 * registrations of deleted directories are pruned; and the `refs/mafhf/*` keep-alive refs are
 * deleted (a worktree's HEAD keeps its commit alive). Files that are not ours are left alone.
 */
export async function cleanWorkspace(opts: {
  warmDir: string;
  worktreesDir: string;
  keep?: string[];
}): Promise<{ removedWorktrees: string[]; removedRefs: string[] }> {
  const warmDir = path.resolve(opts.warmDir);
  const worktreesDir = path.resolve(opts.worktreesDir);
  return withWarmCloneLock(warmDir, async () => {
    await runGit(["worktree", "prune"], { cwd: warmDir });
    const keep = new Set(await Promise.all((opts.keep ?? []).map(async (p) => (await realpathOrNull(p)) ?? path.resolve(p))));
    const registered = await registeredWorktrees(warmDir);
    const realWorktreesDir = (await realpathOrNull(worktreesDir)) ?? worktreesDir;
    const removedWorktrees: string[] = [];
    let entries: string[] = [];
    try {
      entries = (await readdir(worktreesDir)).filter((name) => OWN_WORKTREE.test(name));
    } catch {
      // No worktrees directory yet: nothing to clean.
    }
    for (const name of entries) {
      const dir = path.join(realWorktreesDir, name);
      // A kept directory that git no longer knows as a worktree is a leftover: it goes too.
      if (keep.has(dir) && registered.has(dir)) continue;
      if (registered.has(dir)) await runGit(["worktree", "remove", "--force", "--force", dir], { cwd: warmDir });
      await rm(dir, { recursive: true, force: true });
      removedWorktrees.push(dir);
    }
    await runGit(["worktree", "prune"], { cwd: warmDir });

    const refs = (await runGit(["for-each-ref", "--format=%(refname)", "refs/mafhf/"], { cwd: warmDir }))
      .split("\n")
      .filter((ref) => ref.length > 0);
    if (refs.length > 0) {
      await runGit(["update-ref", "--stdin"], { cwd: warmDir, input: refs.map((ref) => `delete ${ref}\n`).join("") });
    }
    return { removedWorktrees, removedRefs: refs };
  });
}

/** Forgets worktrees whose directories were deleted by hand. */
export async function pruneWorktrees(warmDir: string): Promise<void> {
  await withWarmCloneLock(path.resolve(warmDir), () => runGit(["worktree", "prune"], { cwd: path.resolve(warmDir) }));
}
