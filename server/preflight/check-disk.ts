import { stat } from "node:fs/promises";
import { formatGb, freeBytes } from "../workspace/disk-budget";
import { resultOf, type CheckName, type PreflightCheck } from "./preflight-check";

export const DISK_CHECK: CheckName = { id: "disk", label: "Free disk" };

const GB = 1024 ** 3;

export interface DiskCheckDeps {
  /** What the show writes to, by name: the warm clone and worktrees, logs and database, the Nix store. */
  places: Array<{ name: string; path: string }>;
  /** Below this, builds are refused (the show's disk budget). */
  failBelowGb: number;
  /** Below this, a long show may run out. */
  warnBelowGb: number;
}

interface FileSystemSpace {
  names: string[];
  mount: string;
  freeGb: number;
}

/** One line per file system, not per place: the clone, the logs and the store often share a disk. */
async function spaces(places: DiskCheckDeps["places"]): Promise<FileSystemSpace[]> {
  const byDevice = new Map<number, FileSystemSpace>();
  for (const place of places) {
    const { path: probed, bytes } = await freeBytes(place.path);
    const { dev } = await stat(probed);
    const known = byDevice.get(dev);
    if (known) known.names.push(place.name);
    else byDevice.set(dev, { names: [place.name], mount: probed, freeGb: bytes / GB });
  }
  return [...byDevice.values()].sort((a, b) => a.freeGb - b.freeGb);
}

export async function checkDisk(deps: DiskCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(DISK_CHECK);
  let found: FileSystemSpace[];
  try {
    found = await spaces(deps.places);
  } catch (error) {
    return v.fail(`Could not measure free space: ${(error as Error).message}.`, "Check that VAR_DIR and NIXPKGS_DIR point at existing, readable places.");
  }
  const describe = (s: FileSystemSpace) => `${formatGb(s.freeGb)} GB free on the disk of ${s.mount} (${s.names.join(", ")})`;
  const detail = found.map(describe).join("; ");
  const tightest = found[0];
  if (!tightest) return v.ok("Nothing to measure.");
  const fix = (need: number) =>
    `Free space at ${tightest.mount} until at least ${formatGb(need)} GB are free: nix-collect-garbage -d removes old store paths; old build logs and worktrees live under VAR_DIR and next to NIXPKGS_DIR.`;
  if (tightest.freeGb < deps.failBelowGb) return v.fail(`${detail}. Builds are refused below ${formatGb(deps.failBelowGb)} GB.`, fix(deps.warnBelowGb));
  if (tightest.freeGb < deps.warnBelowGb) return v.warn(`${detail}. A long show of builds may use that up.`, fix(deps.warnBelowGb));
  return v.ok(detail);
}
