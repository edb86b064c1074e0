import { loadConfigOrExit } from "../config";
import { isAppError } from "../errors";
import { formatGb } from "./disk-budget";
import { shortSha } from "./git";
import { preloadNixpkgs } from "./preload";
import { defaultPoolSize } from "./worktree-pool";

/**
 * `npm run preload`: makes the warm nixpkgs clone and its worktrees ready before the show, with
 * the same configuration the show will use (NIXPKGS_DIR, NIXPKGS_GIT_URL, MAX_PARALLEL_BUILDS,
 * DISK_BUDGET_GB).
 */
async function main(): Promise<number> {
  const config = loadConfigOrExit();

  const say = (line: string) => console.log(`[preload] ${line}`);
  try {
    const result = await preloadNixpkgs({
      nixpkgsDir: config.nixpkgsDir,
      gitUrl: config.nixpkgsGitUrl,
      worktreesDir: config.worktreesDir,
      poolSize: defaultPoolSize(config.maxParallelBuilds),
      diskBudgetGb: config.diskBudgetGb,
      onStep: say,
    });
    const { clone } = result;
    const created = result.slots.filter((s) => s.created).length;
    say(
      `warm clone ${clone.created ? "cloned" : "refreshed"}: ${clone.dir}, default branch at ${shortSha(clone.originHeadSha)} (its own checkout stays at ${shortSha(clone.headSha)})`,
    );
    say(`worktree pool: ${result.slots.length} worktrees ready (${created} created now) under ${config.worktreesDir}`);
    say(`cleaned: ${result.removedWorktrees.length} old worktrees, ${result.removedRefs.length} old refs`);
    say(`disk: ${formatGb(result.freeGbAfter)} GB free (was ${formatGb(result.freeGbBefore)} GB)`);
    say(`done in ${(result.durationMs / 1000).toFixed(1)} s`);
    return 0;
  } catch (error) {
    if (isAppError(error)) {
      console.error(`[preload] ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main();
