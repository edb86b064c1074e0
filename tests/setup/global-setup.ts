import type { TestProject } from "vitest/node";
import pg from "pg";
import { ensureTestTools } from "./ensure-tools";
import { ensureNextBuild } from "../../server/ensure-next-build";

export const DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string | null;
  }
}

/** Null when PostgreSQL is not reachable; CI (or TEST_PG_URL) makes it mandatory. */
async function findPostgres(): Promise<string | null> {
  const url = process.env.TEST_PG_URL ?? DEFAULT_PG_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return url;
  } catch (error) {
    if (process.env.CI || process.env.TEST_PG_URL) {
      throw new Error(`PostgreSQL at ${url} is required here but not reachable: ${(error as Error).message}`);
    }
    console.warn(`[tests] PostgreSQL not reachable at ${url}; database tests run on SQLite only.`);
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Browser tests need the production build; build it once here, not in each e2e file at once. */
function runsBrowserTests(): boolean {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith("-") && a !== "run" && !a.includes("vitest"));
  return filters.length === 0 || filters.some((f) => f.includes("e2e"));
}

export default async function globalSetup(project: TestProject): Promise<void> {
  await ensureTestTools();
  if (runsBrowserTests()) ensureNextBuild();
  project.provide("pgAdminUrl", await findPostgres());
}
