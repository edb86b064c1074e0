import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * The tests run the real `nix` and a real Chromium. On a fresh Debian machine where we are root,
 * install them from Debian's packages; anywhere else, stop with the exact command to run.
 */
const REQUIRED = [
  { pkg: "nix-bin", present: () => commandExists("nix") },
  { pkg: "chromium", present: () => existsSync("/usr/bin/chromium") },
  { pkg: "openssh-server", present: () => existsSync("/usr/sbin/sshd") },
];

function commandExists(cmd: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", cmd], { stdio: "ignore" }).status === 0;
}

export async function ensureTestTools(): Promise<void> {
  const missing = REQUIRED.filter((r) => !r.present()).map((r) => r.pkg);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`The tests need Debian packages that are missing: ${missing.join(", ")}. Run as root: ${command}`);
  }
  console.log(`[tests] installing missing Debian packages: ${missing.join(", ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-q", ...missing], { stdio: "inherit", env });
}
