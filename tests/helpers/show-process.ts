/**
 * One show in its own process, for tests that need several (REDIS_URL). Reads its config from the
 * environment like `npm start`, prints `{"url": …}` once listening, and takes JSON commands on
 * stdin so a test can drive its services: {"submit": 400001} and {"build": 400001}; each answer
 * is one JSON line on stdout.
 */
import { createInterface } from "node:readline";
import { loadConfig } from "../../server/config";
import { startShow } from "../../server/index";
import { submitPullRequest } from "../../server/intake/submit-pull-request";

const show = await startShow({ config: loadConfig(), web: false });
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
reply({ url: show.url });

for await (const line of createInterface({ input: process.stdin })) {
  try {
    const command = JSON.parse(line) as { submit?: number; build?: number; stop?: true };
    if (command.submit) reply({ submitted: await submitPullRequest(show.context.intake, { source: "host", text: `#${command.submit}` }) });
    if (command.build) reply({ builds: await show.context.builds.startBuild(command.build) });
    if (command.stop) break;
  } catch (error) {
    reply({ error: (error as Error).message });
  }
}
await show.close();
process.exit(0);
