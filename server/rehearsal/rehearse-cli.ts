import { parseArgs } from "node:util";
import { loadConfigOrExit } from "../config";
import { DEMO_PR_NUMBERS, formatRehearsalReport, simulateAudience } from "./simulate-audience";

/**
 * `npm run rehearse -- --minutes 10 --url http://127.0.0.1:3000`: a simulated audience against a
 * running show (demo mode: `npm run demo`), as a rehearsal and as a soak test. Prints the report;
 * exits 1 when anything failed. Options: --phones (40), --chat-per-minute (6; chat needs
 * OWNCAST_WEBHOOK_SECRET, the same as the show's), --prs (the demo's PRs), --seed, --json.
 */
const USAGE = "usage: npm run rehearse -- --minutes N [--url http://127.0.0.1:3000] [--phones 40] [--chat-per-minute 6] [--prs 400001,400002] [--seed N] [--json]";

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not "${text}".`);
  return n;
}

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        url: { type: "string", default: "http://127.0.0.1:3000" },
        minutes: { type: "string" },
        phones: { type: "string" },
        "chat-per-minute": { type: "string" },
        prs: { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const secret = loadConfigOrExit().owncastWebhookSecret;

  try {
    const minutes = positive("minutes", values.minutes, Number.NaN);
    if (Number.isNaN(minutes)) throw new Error("Say how long to rehearse with --minutes.");
    const phones = Math.round(positive("phones", values.phones, 40));
    const chatPerMinute = positive("chat-per-minute", values["chat-per-minute"], 6);
    const prNumbers = values.prs ? values.prs.split(",").map((p) => Math.round(positive("prs", p.trim(), 0))) : DEMO_PR_NUMBERS;
    const host = new URL(values.url).hostname;
    if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) {
      console.log(`[rehearse] ${values.url} is not this machine: make sure it is a rehearsal, not the live show.`);
    }
    console.log(`[rehearse] ${phones} phones against ${values.url} for ${minutes} min${secret ? `, ${chatPerMinute} chat messages a minute` : ""}…`);
    const stop = new AbortController();
    process.once("SIGINT", () => {
      console.log("[rehearse] stopping early; the report follows.");
      stop.abort();
    });
    const report = await simulateAudience({
      url: values.url,
      phones,
      durationMs: minutes * 60_000,
      prNumbers,
      chat: secret ? { webhookSecret: secret, messagesPerMinute: chatPerMinute } : null,
      seed: values.seed === undefined ? undefined : Math.round(positive("seed", values.seed, 1)),
      signal: stop.signal,
      log: (line) => console.log(`[rehearse] ${line}`),
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatRehearsalReport(report));
    return report.errors.length > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof Error) {
      console.error(`[rehearse] ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main();
