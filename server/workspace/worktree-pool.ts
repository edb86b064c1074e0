import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors";
import { checkoutWorktree, cleanWorkspace, cleanWorktree, isWorktreeOf } from "./checkout-pull-request";

/**
 * A few reusable worktrees of the warm clone (`<worktreesDir>/slot-N`). A build takes one, moves
 * it to its PR's commit (`checkout --detach --force`, which rewrites only the files that differ)
 * and gives it back when nix has exited. A nixpkgs-sized tree is ready in well under a second this
 * way, where a fresh checkout writes 40,000 files. A slot in use is never handed out twice; when
 * every slot is taken, the next build waits for one in arrival order.
 *
 * Untracked files are removed (`clean -fdx`, a walk of the whole tree) when a slot is given back,
 * off the path from Build to nix; a slot this process has not cleaned yet is cleaned as it is
 * checked out.
 */

export interface WorktreeLease {
  /** The worktree directory; this build's alone until release(). */
  path: string;
  /** Gives the worktree back; calling it again does nothing. */
  release(): void;
}

export interface WorktreePoolOptions {
  warmDir: string;
  worktreesDir: string;
  size: number;
}

interface Slot {
  path: string;
  busy: boolean;
  /** The PR it last held: a rebuild of that PR takes it back, so almost nothing changes on disk. */
  lastPr: number | null;
  lastUsed: number;
  /** True once this process knows the slot holds nothing but its commit's files. */
  clean: boolean;
  /** The clean started when the slot was given back; a checkout waits for it. */
  cleaning: Promise<void> | null;
}

interface Waiter {
  prNumber: number;
  resolve: (lease: WorktreeLease) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** One more worktree than parallel builds, so the next build in line is checked out while three run. */
export function defaultPoolSize(maxParallelBuilds: number): number {
  return Math.max(maxParallelBuilds + 1, 4);
}

export function slotPath(worktreesDir: string, index: number): string {
  return path.join(path.resolve(worktreesDir), `slot-${index}`);
}

export class WorktreePool {
  private readonly slots: Slot[];
  private readonly waiting: Waiter[] = [];
  private clock = 0;

  constructor(private readonly opts: WorktreePoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > 64) {
      throw new AppError("bad_request", `The worktree pool needs 1 to 64 worktrees; got ${opts.size}.`);
    }
    this.slots = Array.from({ length: opts.size }, (_, i) => ({
      path: slotPath(opts.worktreesDir, i + 1),
      busy: false,
      lastPr: null,
      lastUsed: 0,
      clean: false,
      cleaning: null,
    }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Every slot's directory, in use or not. */
  paths(): string[] {
    return this.slots.map((s) => s.path);
  }

  /** Resolves when no worktree is being cleaned in the background (shutdown, benchmarks). */
  async settled(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.cleaning));
  }

  /** How many slots are taken and how many builds wait for one. */
  usage(): { busy: number; waiting: number } {
    return { busy: this.slots.filter((s) => s.busy).length, waiting: this.waiting.length };
  }

  /**
   * A free worktree for PR `prNumber`: the one that last held it if it is free, else the least
   * recently used. Waits when all are taken; rejects with the signal's reason when it aborts.
   */
  acquire(prNumber: number, signal?: AbortSignal): Promise<WorktreeLease> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const slot = this.pick(prNumber);
    if (slot) return Promise.resolve(this.lease(slot, prNumber));
    return new Promise<WorktreeLease>((resolve, reject) => {
      const waiter: Waiter = {
        prNumber,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiting.indexOf(waiter);
          if (index !== -1) this.waiting.splice(index, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Moves a leased worktree to `sha` (creating it the first time); it holds exactly that commit afterwards. */
  async checkout(lease: WorktreeLease, sha: string): Promise<{ reused: boolean }> {
    const slot = this.slotOf(lease);
    await slot.cleaning;
    try {
      const result = await checkoutWorktree({ warmDir: this.opts.warmDir, worktree: lease.path, sha, clean: !slot.clean });
      slot.clean = true;
      return result;
    } catch (error) {
      slot.clean = false;
      throw error;
    }
  }

  /**
   * Creates the slots that do not exist yet, checked out at `sha` (preload). Existing slots are
   * left where they are: a show running next to the preload may be building in them.
   */
  async prepare(sha: string): Promise<Array<{ path: string; created: boolean }>> {
    const result: Array<{ path: string; created: boolean }> = [];
    for (const slot of this.slots) {
      if (await isWorktreeOf(this.opts.warmDir, slot.path)) {
        result.push({ path: slot.path, created: false });
        continue;
      }
      await checkoutWorktree({ warmDir: this.opts.warmDir, worktree: slot.path, sha });
      result.push({ path: slot.path, created: true });
    }
    if (result.some((r) => r.created)) {
      // An index refreshed in the second its files were written stays racy; wait that second out.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      for (const r of result) if (r.created) await cleanWorktree(r.path);
    }
    return result;
  }

  /**
   * Cleans every free slot in the background (at boot), so the first builds do not walk the
   * whole tree on their way to nix. A checkout of a slot waits for its clean.
   */
  warmUp(): void {
    for (const slot of this.slots) {
      if (slot.busy || slot.cleaning || slot.clean) continue;
      slot.cleaning = isWorktreeOf(this.opts.warmDir, slot.path)
        .then(async (exists) => {
          if (!exists) return;
          await cleanWorktree(slot.path);
          slot.clean = true;
        })
        .catch(() => undefined)
        .finally(() => {
          slot.cleaning = null;
        });
    }
  }

  /**
   * Removes worktrees of ours that are not slots of this pool (per-PR worktrees of older
   * versions, slots beyond a smaller pool) and the PRs' keep-alive refs. Call it when no build
   * runs (boot, preload). Does nothing when the warm clone does not exist yet.
   */
  async clean(): Promise<{ removedWorktrees: string[]; removedRefs: string[] }> {
    if (!(await isDirectory(this.opts.warmDir))) return { removedWorktrees: [], removedRefs: [] };
    return cleanWorkspace({ warmDir: this.opts.warmDir, worktreesDir: this.opts.worktreesDir, keep: this.paths() });
  }

  private pick(prNumber: number): Slot | null {
    const free = this.slots.filter((s) => !s.busy);
    if (free.length === 0) return null;
    return free.find((s) => s.lastPr === prNumber) ?? free.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
  }

  private slotOf(lease: WorktreeLease): Slot {
    const slot = this.slots.find((s) => s.path === lease.path);
    if (!slot?.busy) throw new AppError("internal", `${lease.path} is not a worktree leased from this pool.`);
    return slot;
  }

  private lease(slot: Slot, prNumber: number): WorktreeLease {
    slot.busy = true;
    slot.lastPr = prNumber;
    slot.lastUsed = ++this.clock;
    let released = false;
    return {
      path: slot.path,
      release: () => {
        if (released) return;
        released = true;
        // Whatever the build left goes now, while nobody waits for this worktree.
        if (slot.clean) {
          slot.cleaning = cleanWorktree(slot.path)
            .catch(() => {
              slot.clean = false;
            })
            .finally(() => {
              slot.cleaning = null;
            });
        }
        slot.busy = false;
        this.handOver();
      },
    };
  }

  private handOver(): void {
    while (this.waiting.length > 0) {
      const waiter = this.waiting[0]!;
      const slot = this.pick(waiter.prNumber);
      if (!slot) return;
      this.waiting.shift();
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.resolve(this.lease(slot, waiter.prNumber));
    }
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(await realpath(dir))).isDirectory();
  } catch {
    return false;
  }
}
