/**
 * The rehearsal kit (mini-nixpkgs + GitHub stand-in) in a process of its own, started by
 * bench/serve-rehearsal.ts. In production GitHub is another machine; in the show's own process
 * the stand-in's git calls (four `git` spawns per PR lookup) would be billed to the server.
 *
 *   node --import tsx bench/rehearsal-kit-process.ts --dir DIR [--size N] [--chatty-lines N]
 *     [--chatty-seconds S] [--chatty-prs N]
 *
 * Prints {"bench":"kit-ready", env, system, chattyPrs} and runs until stdin closes or SIGTERM.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "@/server/config";
import { startRehearsalKit } from "@/server/rehearsal/rehearsal-kit";
import { addPullRequest, byNamePath } from "@/server/rehearsal/mini-nixpkgs";
import { chattyNix } from "@/server/rehearsal/mini-nixpkgs-templates";

/** Extra PRs that each change chatty to a version of their own, so each is a distinct derivation. */
export const FIRST_CHATTY_PR = 400101;

const { values: args } = parseArgs({
  options: {
    dir: { type: "string" },
    size: { type: "string", default: "5" },
    "chatty-lines": { type: "string" },
    "chatty-seconds": { type: "string" },
    "chatty-prs": { type: "string", default: "0" },
  },
});
if (!args.dir) throw new Error("--dir is required");
const optionalNumber = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const chattyLines = optionalNumber(args["chatty-lines"]);
const chattySeconds = optionalNumber(args["chatty-seconds"]);

const system = loadConfig({}, {}).nixSystems[0]!;
const kit = await startRehearsalKit({ dir: path.resolve(args.dir), system, size: Number(args.size), chattyLines, chattySeconds });

// PRs 400101… each bump chatty to a version of their own: several of them build different
// derivations at once (only 400004 changes chatty in the fixed table, and a PR builds once at a time).
const chattyPrs: number[] = [];
for (let k = 0; k < Number(args["chatty-prs"]); k++) {
  const number = FIRST_CHATTY_PR + k;
  const version = `2.1.${k + 1}`;
  const title = `chatty: 2.0 -> ${version}`;
  await addPullRequest(kit.mini.upstreamDir, {
    number,
    title,
    author: "verbose-vera",
    files: { [byNamePath("chatty")]: chattyNix({ version, lines: chattyLines ?? 4000, seconds: chattySeconds ?? 20 }) },
  });
  kit.github.setPullRequest({
    number,
    title,
    author: "verbose-vera",
    baseRef: "master",
    labels: ["10.rebuild-linux: 1-10"],
    rebuildsByPlatform: { [system]: ["chatty"] },
  });
  chattyPrs.push(number);
}

process.stdout.write(`${JSON.stringify({ bench: "kit-ready", env: kit.env, system, chattyPrs })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void kit.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.stdin.on("end", stop).resume();
