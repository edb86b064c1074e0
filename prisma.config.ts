import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";

/**
 * Used only by the Prisma CLI (generate, migrate diff/status). The app applies migrations itself
 * at start (server/db/migrate.ts). Engine "js" keeps the CLI from downloading a native schema
 * engine, which cannot be fetched offline. See shared/reference/stack-probe.md for the fixes.
 */
// A config file stops Prisma from loading .env; generate does not connect, so any URL of the
// right provider will do.
process.env.DATABASE_URL ??= "file:./var/prisma-cli.db";
const url = process.env.DATABASE_URL;
const isPostgres = /^postgres(ql)?:\/\//.test(url);
const dir = isPostgres ? "prisma/postgres" : "prisma/sqlite";

function sqliteAdapter() {
  const factory = new PrismaBetterSQLite3({ url: url.replace(/^file:/, "") });
  // Prisma replays migrations into the shadow database with executeRaw, and better-sqlite3
  // rejects multi-statement SQL there: run those scripts with executeScript instead.
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connectToShadowDb = async () => {
    const shadow = await connectToShadowDb();
    const executeRaw = shadow.executeRaw.bind(shadow);
    shadow.executeRaw = async (query) =>
      query.args.length === 0 && query.sql.includes(";") ? (await shadow.executeScript(query.sql), 0) : executeRaw(query);
    return shadow;
  };
  return factory;
}

// The schema engine cannot read PostgreSQL's `name` and `"char"` columns (an open upstream bug):
// report them as text, which is what they hold. Only the CLI loads this file.
const PG_TYPE_REMAP: Record<number, number> = { 18: 25, 19: 25, 1002: 1009, 1003: 1009 };
const PgResult = createRequire(import.meta.url)("pg/lib/result.js") as {
  prototype: { addFields(fields: Array<{ dataTypeID: number }>): void };
};
const addFields = PgResult.prototype.addFields;
PgResult.prototype.addFields = function (fields) {
  for (const f of fields) f.dataTypeID = PG_TYPE_REMAP[f.dataTypeID] ?? f.dataTypeID;
  return addFields.call(this, fields);
};

function pgAdapter() {
  const u = new URL(url);
  // Discrete fields: pg lets connectionString override `database`, which would make the
  // "shadow" database the main one.
  const cfg = {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    allowExitOnIdle: true,
  };
  const factory = new PrismaPg(cfg);
  // adapter-pg drops its shadow database while its own pool still holds it open, which fails and
  // leaks the database: create it here and drop it only after the pool has ended.
  factory.connectToShadowDb = async () => {
    const name = `prisma_shadow_${randomUUID().replace(/-/g, "")}`;
    const admin = async (sql: string) => {
      const client = new pg.Client(cfg);
      await client.connect();
      await client.query(sql);
      await client.end();
    };
    await admin(`CREATE DATABASE "${name}"`);
    const adapter = await new PrismaPg({ ...cfg, database: name }).connect();
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    };
    return adapter;
  };
  return factory;
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join(dir),
  migrations: { path: path.join(dir, "migrations") },
  adapter: async () => (isPostgres ? pgAdapter() : sqliteAdapter()),
});
