import { statfs } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors";

/**
 * The show fetches pull requests into the warm clone, checks them out and builds them into the
 * Nix store. Running out of disk halfway through a fetch or a build fails in confusing ways (a
 * corrupt pack, "No space left on device" deep in a builder), so the space is checked up front.
 */

/** What a PR fetch plus a few nixpkgs builds need; a full clone of nixpkgs alone is about 5 GB. */
export const DEFAULT_DISK_BUDGET_GB = 10;

const GB = 1024 ** 3;

/** Free bytes (for an unprivileged user) on the file system that holds `dir`, or its nearest existing parent. */
export async function freeBytes(dir: string): Promise<{ path: string; bytes: number }> {
  let probe = path.resolve(dir);
  for (;;) {
    try {
      const stats = await statfs(probe);
      return { path: probe, bytes: stats.bavail * stats.bsize };
    } catch (error) {
      const parent = path.dirname(probe);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || parent === probe) throw error;
      probe = parent;
    }
  }
}

/**
 * Refuses with a message the host can act on when less than `budgetGb` is free where `dir`
 * lives. A budget of 0 turns the check off.
 */
export async function checkDiskBudget(opts: { dir: string; budgetGb: number }): Promise<{ freeGb: number }> {
  const { path: where, bytes } = await freeBytes(opts.dir);
  const freeGb = bytes / GB;
  if (opts.budgetGb > 0 && freeGb < opts.budgetGb) {
    throw new AppError(
      "unavailable",
      `Only ${formatGb(freeGb)} GB free on ${where}; the show needs ${formatGb(opts.budgetGb)} GB (DISK_BUDGET_GB) to fetch pull requests and build them. Free some space (nix-collect-garbage -d, old files under ${where}) or lower DISK_BUDGET_GB, then press Build again.`,
      { path: where, freeGb, budgetGb: opts.budgetGb },
    );
  }
  return { freeGb };
}

export function formatGb(gb: number): string {
  return gb >= 10 ? gb.toFixed(0) : gb.toFixed(1);
}
