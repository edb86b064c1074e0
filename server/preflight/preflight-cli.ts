import { existsSync } from "node:fs";
import { loadConfigOrExit, type Config } from "../config";
import { createDb, sqlitePath, type Db } from "../db/client";
import { STATUS_MARK, type PreflightReport } from "./preflight-check";
import { preflightDepsFromConfig, runPreflight } from "./run-preflight";

/**
 * `npm run preflight`: every show-day check with the configuration the show will use, one line
 * each (✅ / ⚠ / ❌) with what to do. Exits 1 when anything is ❌.
 */
function openDatabase(config: Config): Db | null {
  // Opening a SQLite file that is not there would create an empty one; the show does that itself.
  if (config.databaseProvider === "sqlite" && !existsSync(sqlitePath(config.databaseUrl))) return null;
  return createDb(config.databaseUrl);
}

function formatReport(report: PreflightReport): string {
  const width = Math.max(...report.checks.map((c) => c.label.length));
  const lines = report.checks.flatMap((c) => {
    // ⚠ is one column wide in a terminal, ✅ and ❌ two.
    const head = `${STATUS_MARK[c.status]}${c.status === "warn" ? " " : ""} ${c.label.padEnd(width)}  ${c.detail}`;
    return c.fix ? [head, `   ${" ".repeat(width)}  → ${c.fix}`] : [head];
  });
  const fails = report.checks.filter((c) => c.status === "fail").length;
  const warns = report.checks.filter((c) => c.status === "warn").length;
  const summary =
    fails > 0 ? `${fails} to fix before the show${warns ? `, ${warns} to look at` : ""}.` : warns > 0 ? `Ready, ${warns} to look at.` : "Ready for the show.";
  return [...lines, "", summary].join("\n");
}

async function main(): Promise<number> {
  const config = loadConfigOrExit();
  const db = openDatabase(config);
  try {
    const report = await runPreflight(preflightDepsFromConfig(config, { db, owncastAdminPassword: config.owncastAdminPassword, owncastPoll: config.owncastPoll }));
    console.log(formatReport(report));
    return report.status === "fail" ? 1 : 0;
  } finally {
    await db?.$disconnect();
  }
}

process.exitCode = await main();
