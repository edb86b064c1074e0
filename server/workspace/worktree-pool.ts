import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors";
import { checkoutWorktree, cleanWorkspace, isWorktreeOf } from "./checkout-pull-request";

/**
 * A few reusable worktrees of the warm clone (`<worktreesDir>/slot-N`). A build takes one, moves
 * it to its PR's commit (`checkout --detach --force` plus `clean -fdx`, which rewrites only the
 * files that differ) and gives it back when nix has exited. A nixpkgs-sized tree is ready in about
 * a second this way, where a fresh checkout writes 40,000 files. A slot in use is never handed
 * out twice; when every slot is taken, the next build waits for one in arrival order.
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
    }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Every slot's directory, in use or not. */
  paths(): string[] {
    return this.slots.map((s) => s.path);
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

  /** Moves a leased worktree to `sha` (creating it the first time) and cleans it. */
  checkout(lease: WorktreeLease, sha: string): Promise<{ reused: boolean }> {
    return checkoutWorktree({ warmDir: this.opts.warmDir, worktree: lease.path, sha });
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
    return result;
  }

  /**
   * Removes worktrees of ours that are not slots of this pool (per-PR worktrees of older
   * versions, slots beyond a smaller pool) and the keep-alive refs of every PR but `keepPrs`.
   * Does nothing when the warm clone does not exist yet.
   */
  async clean(keepPrs: number[] = []): Promise<{ removedWorktrees: string[]; removedRefs: string[] }> {
    if (!(await isDirectory(this.opts.warmDir))) return { removedWorktrees: [], removedRefs: [] };
    return cleanWorkspace({ warmDir: this.opts.warmDir, worktreesDir: this.opts.worktreesDir, keep: this.paths(), keepPrs });
  }

  private pick(prNumber: number): Slot | null {
    const free = this.slots.filter((s) => !s.busy);
    if (free.length === 0) return null;
    return free.find((s) => s.lastPr === prNumber) ?? free.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
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
