import path from "node:path";
import { checkDiskBudget } from "./disk-budget";
import { ensureWarmClone, type WarmClone } from "./warm-clone";
import { WorktreePool } from "./worktree-pool";

/**
 * Before the show: clone nixpkgs (or refresh the clone), create the worktree pool checked out at
 * the default branch, and clean what earlier shows left. Everything slow happens here, so that on
 * stage a PR is one small fetch and one worktree move away from `nix build`.
 */

export interface PreloadOptions {
  nixpkgsDir: string;
  gitUrl: string;
  worktreesDir: string;
  poolSize: number;
  /** Refuse to start with less than this many GB free next to the clone; 0 turns the check off. */
  diskBudgetGb: number;
  /** A first clone of nixpkgs takes many minutes. */
  cloneTimeoutMs?: number;
  /** Told about each step as it starts, for a person watching the terminal. */
  onStep?: (message: string) => void;
}

export interface PreloadResult {
  clone: WarmClone;
  freeGbBefore: number;
  freeGbAfter: number;
  slots: Array<{ path: string; created: boolean }>;
  removedWorktrees: string[];
  removedRefs: string[];
  durationMs: number;
}

export async function preloadNixpkgs(opts: PreloadOptions): Promise<PreloadResult> {
  const startedAt = performance.now();
  const step = opts.onStep ?? (() => undefined);
  const nixpkgsDir = path.resolve(opts.nixpkgsDir);

  const { freeGb: freeGbBefore } = await checkDiskBudget({ dir: nixpkgsDir, budgetGb: opts.diskBudgetGb });
  step(`${nixpkgsDir}: cloning or refreshing from ${opts.gitUrl}`);
  const clone = await ensureWarmClone({ dir: nixpkgsDir, gitUrl: opts.gitUrl, cloneTimeoutMs: opts.cloneTimeoutMs });

  const pool = new WorktreePool({ warmDir: nixpkgsDir, worktreesDir: opts.worktreesDir, size: opts.poolSize });
  step(`${path.resolve(opts.worktreesDir)}: cleaning old worktrees and refs`);
  const { removedWorktrees, removedRefs } = await pool.clean();
  step(`${path.resolve(opts.worktreesDir)}: preparing ${pool.size} worktrees`);
  const slots = await pool.prepare(clone.originHeadSha);

  const { freeGb: freeGbAfter } = await checkDiskBudget({ dir: nixpkgsDir, budgetGb: 0 });
  return {
    clone,
    freeGbBefore,
    freeGbAfter,
    slots,
    removedWorktrees,
    removedRefs,
    durationMs: Math.round(performance.now() - startedAt),
  };
}
