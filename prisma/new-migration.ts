import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * `npm run db:new-migration -- <name>`: writes a migration for both providers from the difference
 * between their applied migrations and prisma/models.prisma. Create-only: no database is changed.
 * PostgreSQL needs a running server (PG_URL, default the local one) for its shadow database.
 */
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:new-migration -- <name_in_snake_case>");
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
const providers = [
  { dir: "prisma/sqlite", url: "file:./var/prisma-cli.db" },
  { dir: "prisma/postgres", url: process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" },
];
for (const p of providers) {
  const result = spawnSync(
    "node_modules/.bin/prisma",
    ["migrate", "diff", "--from-migrations", `${p.dir}/migrations`, "--to-schema-datamodel", p.dir, "--script", "--exit-code"],
    { env: { ...process.env, DATABASE_URL: p.url, CHECKPOINT_DISABLE: "1" }, encoding: "utf8" },
  );
  if (result.status === 0) {
    console.log(`${p.dir}: no changes`);
    continue;
  }
  if (result.status !== 2) {
    console.error(`${p.dir}: prisma migrate diff failed:\n${result.stderr}`);
    process.exit(1);
  }
  const sql = result.stdout.split("\n").filter((l) => !l.startsWith("Loaded Prisma config")).join("\n");
  const dir = path.join(p.dir, "migrations", `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "migration.sql"), sql);
  console.log(`${p.dir}: wrote ${dir}/migration.sql`);
}
