import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./config";

// Everything `next build` reads that a developer edits.
const INPUTS = ["app", "components", "server/realtime/socket-events.ts", "server/show/views.ts", "server/merge/views.ts", "server/merge/requests.ts", "server/merge/merge-context.ts", "next.config.js", "postcss.config.mjs", "package-lock.json", "tsconfig.json"];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const stat = statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

export function nextBuildIsCurrent(root = PROJECT_ROOT): boolean {
  const marker = path.join(root, ".next", "BUILD_ID");
  if (!existsSync(marker)) return false;
  const built = statSync(marker).mtimeMs;
  return INPUTS.every((input) => newestMtime(path.join(root, input)) <= built);
}

/** `npm start` builds first when the production build is missing or older than its sources. */
export function ensureNextBuild(root = PROJECT_ROOT): void {
  if (nextBuildIsCurrent(root)) return;
  console.log("[start] building the web app (next build)…");
  const result = spawnSync(path.join(root, "node_modules", ".bin", "next"), ["build"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`next build failed with exit code ${result.status}; see the output above.`);
}
