import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as SqliteClient } from "../../generated/sqlite/index.js";
import { PrismaClient as PgClient } from "../../generated/postgres/index.js";

/**
 * One Db type for both providers: the models are the same file, so the two generated clients have
 * the same API. Prisma is used only from the `*.repo.ts` files.
 */
export type Db = SqliteClient;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export function sqlitePath(url: string): string {
  return url.replace(/^file:/, "");
}

export function createDb(url: string): Db {
  if (isPostgresUrl(url)) {
    return new PgClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as Db;
  }
  return new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: sqlitePath(url) }) });
}
