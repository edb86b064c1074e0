import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfigOrExit, type Config } from "../config";
import { createDb, sqlitePath } from "../db/client";
import { toCsv } from "./export-csv";
import { exportShow } from "./export-show";
import { renderResultsPage } from "./render-results-page";
import { parseShowExport, type ShowExport } from "./show-export-schema";

/**
 * After the show, with or without the server running: writes show.json, one CSV per table and
 * results.html (the page to publish) into a new folder under VAR_DIR/exports, or into --out.
 * `--from show.json` renders the files again from an earlier export instead of the database.
 */
async function fromDatabase(config: Config): Promise<ShowExport> {
  if (config.databaseProvider === "sqlite" && !existsSync(sqlitePath(config.databaseUrl))) {
    throw new Error(`There is no database at ${sqlitePath(config.databaseUrl)}: check DATABASE_URL.`);
  }
  const db = createDb(config.databaseUrl);
  try {
    return await exportShow(db, { repo: config.nixpkgsRepo });
  } finally {
    await db.$disconnect();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: "string" }, from: { type: "string" } } });
  const config = loadConfigOrExit();
  try {
    const data = values.from ? parseShowExport(await readFile(values.from, "utf8")) : await fromDatabase(config);
    const stamp = data.exportedAt.slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    const out = path.resolve(values.out ?? path.join(config.varDir, "exports", stamp));
    await mkdir(path.join(out, "csv"), { recursive: true });
    await writeFile(path.join(out, "show.json"), `${JSON.stringify(data, null, 2)}\n`);
    for (const [table, csv] of Object.entries(toCsv(data))) await writeFile(path.join(out, "csv", `${table}.csv`), csv);
    await writeFile(path.join(out, "results.html"), renderResultsPage(data));
    console.log(`[export] ${data.submissions.length} submissions, ${data.builds.length} builds, ${data.merges.length} merge attempts, ${data.leaderboard.length} players on the board`);
    console.log(`[export] written to ${out}: show.json (for the organisers: keep it private), csv/, results.html (to publish)`);
    return 0;
  } catch (error) {
    if (error instanceof Error) {
      console.error(`[export] ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main();
