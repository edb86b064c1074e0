import type { Db } from "../db/client";

export interface AppliedMigration {
  name: string;
  checksum: string;
  finished: boolean;
  rolledBack: boolean;
}

/**
 * What `_prisma_migrations` records (the same table for both providers; raw SQL because it is not a
 * model). An empty list when the table does not exist yet: nothing has been applied.
 */
export async function appliedMigrations(db: Db): Promise<AppliedMigration[]> {
  try {
    const rows = await db.$queryRawUnsafe<Array<{ migration_name: string; checksum: string; finished: unknown; rolled_back: unknown }>>(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    return rows.map((r) => ({ name: r.migration_name, checksum: r.checksum, finished: truthy(r.finished), rolledBack: truthy(r.rolled_back) }));
  } catch (error) {
    if (/no such table|does not exist/i.test((error as Error).message)) return [];
    throw error;
  }
}

// SQLite answers 0/1 (as number or bigint), PostgreSQL a boolean.
function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === 1n;
}
