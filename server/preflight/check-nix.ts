import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { resultOf, tail, type CheckName, type PreflightCheck } from "./preflight-check";
import { runCommand } from "./run-command";

/** The show runs `nix build` with the new CLI and `nix store …`: both arrived in Nix 2.4. */
const MIN_NIX_VERSION: readonly [number, number] = [2, 4];
const NIX_COMMAND = ["--extra-experimental-features", "nix-command"];
const DEFAULT_TIMEOUT_MS = 15_000;

export const NIX_CHECK: CheckName = { id: "nix", label: "Nix installed" };
export const NIX_STORE_CHECK: CheckName = { id: "nix-store", label: "Nix store writable" };

export interface NixCheckDeps {
  nixBin: string;
  timeoutMs?: number;
}

/** "nix (Nix) 2.8.0", "nix (Lix, like Nix) 2.91.1" → [2, 8] / [2, 91]. */
function parseNixVersion(output: string): [number, number] | null {
  const match = /(\d+)\.(\d+)(?:\.\d+)?/.exec(output.split("\n")[0] ?? "");
  return match ? [Number(match[1]), Number(match[2])] : null;
}

function older(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

export async function checkNix(deps: NixCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(NIX_CHECK);
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const install = `Install Nix (or Lix) for the user running the show, or set NIX_BIN to the nix binary's full path.`;
  const run = await runCommand(deps.nixBin, ["--version"], { timeoutMs });
  if (!run.started) return v.fail(`${deps.nixBin} cannot be started: ${run.error}.`, install);
  if (run.timedOut) return v.fail(`\`${deps.nixBin} --version\` did not answer within ${timeoutMs / 1000} s.`, install);
  if (run.code !== 0) return v.fail(`\`${deps.nixBin} --version\` exited with code ${run.code}: ${tail(run.stderr)}`, install);
  const line = run.stdout.trim().split("\n")[0] ?? "";
  const version = parseNixVersion(line);
  const min = MIN_NIX_VERSION.join(".");
  if (!version) return v.warn(`\`${deps.nixBin} --version\` printed “${line.slice(0, 120)}”, which names no version.`, `Check that NIX_BIN is Nix ${min} or newer.`);
  if (older(version, MIN_NIX_VERSION)) {
    return v.fail(
      `${line} is too old: the show needs Nix ${min} or newer (nix build, nix store).`,
      `Upgrade Nix (or Lix) to ${min} or newer, or set NIX_BIN to a newer nix.`,
    );
  }
  return v.ok(deps.nixBin === "nix" ? line : `${line} (${deps.nixBin})`);
}

export interface NixStoreCheckDeps {
  nixBin: string;
  /** A store URI for `--store`; null means the store every build uses (nix's default). */
  storeUri?: string | null;
  timeoutMs?: number;
}

/**
 * Adds one tiny file to the store, as every build does with its outputs: a daemon that is down, a
 * store owned by someone else or a full disk all show up here, and not halfway through the first
 * build on stage. The file is the same each time, so the store gains one path, once.
 */
export async function checkNixStore(deps: NixStoreCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(NIX_STORE_CHECK);
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const store = deps.storeUri ? ` ${deps.storeUri}` : "";
  const fix =
    "Run the show as a user who can build: with a multi-user Nix the nix-daemon must be running (systemctl status nix-daemon); " +
    "with a single-user Nix this user must own /nix. If the message says the disk is full, free space (nix-collect-garbage -d).";
  const dir = await mkdtemp(path.join(os.tmpdir(), "mafhf-preflight-"));
  try {
    const file = path.join(dir, "mafhf-preflight");
    await writeFile(file, "Maybe A Few Hydra Failures preflight: this store accepts new paths.\n");
    const args = [...NIX_COMMAND, "store", "add-file", file, ...(deps.storeUri ? ["--store", deps.storeUri] : [])];
    const run = await runCommand(deps.nixBin, args, { timeoutMs });
    if (!run.started) return v.fail(`${deps.nixBin} cannot be started: ${run.error}.`, "Install Nix first (see the line above).");
    if (run.timedOut) {
      return v.fail(`Adding a file to the Nix store${store} took longer than ${timeoutMs / 1000} s.`, `The store is locked or the daemon hangs. ${fix}`);
    }
    const storePath = run.stdout.trim().split("\n").at(-1) ?? "";
    if (run.code !== 0 || !storePath.startsWith("/")) {
      return v.fail(`The Nix store${store} refused a new path: ${tail(run.stderr) || `exit code ${run.code}`}`, fix);
    }
    return v.ok(`Added ${storePath}${store ? ` to${store}` : ""}.`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
