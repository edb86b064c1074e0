import { rmSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, loadConfig } from "../config";
import { ensureNextBuild } from "../ensure-next-build";
import { main } from "../index";
import { startRehearsalKit } from "./rehearsal-kit";

/**
 * `npm run demo`: the complete show offline. A fresh mini-nixpkgs, a GitHub stand-in serving its
 * PRs, and the app wired to them on its own database under var/demo.
 */
const dir = path.join(PROJECT_ROOT, "var", "demo");
rmSync(dir, { recursive: true, force: true });
const { nixSystems, port } = loadConfig({});
console.log("[demo] generating a rehearsal nixpkgs and starting the GitHub and Owncast stand-ins…");
const kit = await startRehearsalKit({ dir, system: nixSystems[0]!, owncastWebhookUrl: `http://127.0.0.1:${port}/api/owncast/webhook` });
ensureNextBuild();
const show = await main({
  ...kit.env,
  DATABASE_URL: `file:${path.join(dir, "show.db")}`,
  VAR_DIR: path.join(dir, "var"),
});
console.log(
  [
    "  rehearsal",
    `  GitHub stand-in  ${kit.github.url}`,
    `  Owncast stand-in ${kit.owncast?.url} (chat webhooks signed; the bot's replies are recorded there)`,
    `  upstream git     ${kit.mini.gitUrl}`,
    "  PRs to try       " + kit.mini.pullRequests.map((p) => `#${p.number} (${p.title})`).join(", "),
    "",
  ].join("\n"),
);
process.once("exit", () => void kit.close());
void show;
