import { stat } from "node:fs/promises";
import path from "node:path";
import { isAppError } from "../errors";
import { runGit } from "../workspace/git";
import { resultOf, type CheckName, type PreflightCheck } from "./preflight-check";

export const WARM_CLONE_CHECK: CheckName = { id: "warm-clone", label: "Warm nixpkgs clone" };

export const DEFAULT_WARM_CLONE_MAX_AGE_DAYS = 3;
const PRELOAD = "node --import tsx server/workspace/preload-cli.ts";
const GIT_TIMEOUT_MS = 15_000;

export interface WarmCloneCheckDeps {
  dir: string;
  gitUrl: string;
  /** Older than this, the first fetch on stage is large and the base of every PR is stale. */
  maxAgeDays: number;
  now?: () => number;
}

function formatAge(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours < 48) return `${Math.max(0, Math.round(hours))} h old`;
  return `${Math.round(hours / 24)} days old`;
}

/** The newest commit the clone has fetched (the remote's default branch), or its own checkout. */
async function newestCommitSeconds(dir: string): Promise<number | null> {
  for (const ref of ["refs/remotes/origin/HEAD", "HEAD"]) {
    const out = await runGit(["log", "-1", "--format=%ct", ref, "--"], { cwd: dir, timeoutMs: GIT_TIMEOUT_MS }).catch(() => "");
    const seconds = Number(out.trim());
    if (out.trim() !== "" && Number.isFinite(seconds)) return seconds;
  }
  return null;
}

export async function checkWarmClone(deps: WarmCloneCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(WARM_CLONE_CHECK);
  const dir = path.resolve(deps.dir);
  const preload = `Make it before the show: ${PRELOAD} (clones ${deps.gitUrl} into NIXPKGS_DIR and prepares the worktrees).`;
  const exists = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists) return v.fail(`No warm clone at ${dir}: the first build would clone all of nixpkgs on stage (several GB, many minutes).`, preload);

  try {
    const top = (await runGit(["rev-parse", "--show-toplevel"], { cwd: dir, timeoutMs: GIT_TIMEOUT_MS })).trim();
    if (path.resolve(top) !== dir) throw new Error(`inside ${top}`);
  } catch (error) {
    const why = isAppError(error) ? "" : ` (${(error as Error).message})`;
    return v.fail(`${dir} is not a git clone${why}, so builds cannot use it.`, `Move it away, or point NIXPKGS_DIR at the warm clone. ${preload}`);
  }
  const origin = (await runGit(["config", "--get", "remote.origin.url"], { cwd: dir, timeoutMs: GIT_TIMEOUT_MS }).catch(() => "")).trim();
  if (origin !== deps.gitUrl) {
    return v.fail(
      `${dir} fetches from ${origin || "nowhere (no origin remote)"}, not NIXPKGS_GIT_URL ${deps.gitUrl}: builds would refuse it.`,
      `Fix the remote with: git -C ${dir} remote set-url origin ${deps.gitUrl}, or point NIXPKGS_DIR at another clone.`,
    );
  }
  const seconds = await newestCommitSeconds(dir);
  if (seconds === null) return v.fail(`${dir} has no commits.`, `Delete it and make it again: ${preload}`);
  const ageMs = (deps.now ?? Date.now)() - seconds * 1000;
  const when = new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
  const detail = `${dir}: newest commit ${when} UTC (${formatAge(ageMs)}), from ${deps.gitUrl}`;
  if (ageMs > deps.maxAgeDays * 86_400_000) {
    return v.warn(
      `${detail}; older than ${deps.maxAgeDays} days, so the first fetches on stage will be large.`,
      `Refresh it before the show: ${PRELOAD}`,
    );
  }
  return v.ok(detail);
}
