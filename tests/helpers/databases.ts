import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { inject } from "vitest";

export type Provider = "sqlite" | "postgresql";

export interface TestDatabase {
  provider: Provider;
  url: string;
  drop(): Promise<void>;
}

/** The providers this run tests against: SQLite always, PostgreSQL when the server is there. */
export function testProviders(): Provider[] {
  return inject("pgAdminUrl") ? ["sqlite", "postgresql"] : ["sqlite"];
}

/** A brand-new, empty database for one test file or test. */
export async function freshDatabase(provider: Provider): Promise<TestDatabase> {
  if (provider === "sqlite") {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-db-"));
    return { provider, url: `file:${path.join(dir, "show.db")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = inject("pgAdminUrl");
  if (!adminUrl) throw new Error("PostgreSQL is not available in this run");
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    provider,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
