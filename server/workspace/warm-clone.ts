import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors";
import { resolveCommit, runGit } from "./git";

/**
 * The warm clone: one full clone of nixpkgs, made once and refreshed with `git fetch`. PR work
 * happens in worktrees next to it; its own checkout is never touched.
 */

export interface WarmClone {
  dir: string;
  created: boolean;
  /** The warm clone's own checkout, which refreshing leaves alone. */
  headSha: string;
  /** The remote's default branch as of this call (refs/remotes/origin/HEAD after the fetch). */
  originHeadSha: string;
}

export interface EnsureWarmCloneOptions {
  dir: string;
  gitUrl: string;
  /** A first clone of nixpkgs takes many minutes; later fetches are quick. */
  cloneTimeoutMs?: number;
  fetchTimeoutMs?: number;
}

const CLONE_TIMEOUT_MS = 60 * 60_000;
const FETCH_TIMEOUT_MS = 10 * 60_000;

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `task` after every task queued earlier on the same warm clone has settled. Fetches into
 * one repository from two places at once fight over its lock files, so everything that writes
 * to a warm clone goes through here (in this process; other processes are not coordinated).
 */
export function withWarmCloneLock<T>(warmDir: string, task: () => Promise<T>): Promise<T> {
  const key = path.resolve(warmDir);
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return run;
}

export async function ensureWarmClone(opts: EnsureWarmCloneOptions): Promise<WarmClone> {
  const dir = path.resolve(opts.dir);
  return withWarmCloneLock(dir, async () => {
    if (await isCloneRoot(dir)) {
      await checkOrigin(dir, opts.gitUrl);
      await runGit(["fetch", "--quiet", "--prune", "origin"], {
        cwd: dir,
        timeoutMs: opts.fetchTimeoutMs ?? FETCH_TIMEOUT_MS,
        hint: `Could not refresh the warm clone at ${dir} from ${opts.gitUrl}; check the network. The last fetched state is still usable.`,
      });
      return { dir, created: false, ...(await headsOf(dir)) };
    }

    if (!(await isMissingOrEmpty(dir))) {
      throw new AppError(
        "conflict",
        `${dir} exists but is not a git clone, so it cannot be the warm nixpkgs clone. Move it away or choose another directory.`,
      );
    }
    // Clone next to the target and rename at the end, so a clone interrupted halfway is never
    // mistaken for a warm clone.
    const partial = `${dir}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await runGit(["clone", "--quiet", opts.gitUrl, partial], {
        cwd: path.dirname(dir),
        timeoutMs: opts.cloneTimeoutMs ?? CLONE_TIMEOUT_MS,
        hint: `Could not clone ${opts.gitUrl}; check the URL and the network, then try again.`,
      });
      await rm(dir, { recursive: true, force: true });
      await rename(partial, dir);
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
    return { dir, created: true, ...(await headsOf(dir)) };
  });
}

async function isCloneRoot(dir: string): Promise<boolean> {
  try {
    await stat(path.join(dir, ".git"));
  } catch {
    return false;
  }
  const top = await runGit(["rev-parse", "--show-toplevel"], { cwd: dir }).catch(() => "");
  return path.resolve(top.trim()) === dir;
}

async function isMissingOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

async function checkOrigin(dir: string, gitUrl: string): Promise<void> {
  const origin = (await runGit(["config", "--get", "remote.origin.url"], { cwd: dir }).catch(() => "")).trim();
  if (origin !== gitUrl) {
    throw new AppError(
      "conflict",
      `The warm clone at ${dir} fetches from ${origin || "nowhere (no origin remote)"}, not ${gitUrl}. Point the app at another directory, or fix it with: git -C ${dir} remote set-url origin ${gitUrl}`,
    );
  }
}

async function headsOf(dir: string): Promise<{ headSha: string; originHeadSha: string }> {
  const headSha = await resolveCommit(dir, "HEAD");
  if (!headSha) {
    throw new AppError("git_failed", `The warm clone at ${dir} has no commit checked out. Delete it and let the app clone again.`);
  }
  return { headSha, originHeadSha: (await resolveCommit(dir, "refs/remotes/origin/HEAD")) ?? headSha };
}
