import type { Db } from "../db/client";
import { appliedMigrations } from "./preflight.repo";
import { resultOf, type CheckName, type PreflightCheck } from "./preflight-check";

export const DATABASE_CHECK: CheckName = { id: "database", label: "Database migrations" };

export interface DatabaseCheckDeps {
  /** Null when the database does not exist yet (a SQLite file nobody created). */
  db: Db | null;
  /** Where it is, for messages: a file path or a host, never a password. */
  where: string;
  /** The migrations this checkout ships (listMigrations of the selected provider). */
  migrations: Array<{ name: string; checksum: string }>;
}

function names(list: string[], max = 3): string {
  return list.length <= max ? list.join(", ") : `${list.slice(0, max).join(", ")} and ${list.length - max} more`;
}

export async function checkDatabase(deps: DatabaseCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(DATABASE_CHECK);
  const total = deps.migrations.length;
  if (deps.db === null) {
    return v.warn(
      `No database at ${deps.where} yet; the show creates it and applies all ${total} migrations at start.`,
      "Nothing to do for a new show. If this show's data should be there, DATABASE_URL points at the wrong place.",
    );
  }
  let applied;
  try {
    applied = await appliedMigrations(deps.db);
  } catch (error) {
    return v.fail(`Cannot read the database at ${deps.where}: ${(error as Error).message}`, "Check DATABASE_URL; for PostgreSQL, that the server is running and accepts this user.");
  }
  const known = new Map(deps.migrations.map((m) => [m.name, m.checksum]));
  const live = applied.filter((m) => !m.rolledBack);
  const unfinished = live.filter((m) => !m.finished).map((m) => m.name);
  if (unfinished.length > 0) {
    return v.fail(
      `Migration ${names(unfinished)} started but never finished in ${deps.where}.`,
      "Restore the database from its backup, or finish the migration by hand and mark it with `prisma migrate resolve`.",
    );
  }
  const unknown = live.filter((m) => !known.has(m.name)).map((m) => m.name);
  if (unknown.length > 0) {
    return v.fail(
      `${deps.where} has migrations this version of the app does not know (${names(unknown)}): it was used by a newer version.`,
      "Run the version of the app that made this database, or point DATABASE_URL at another one.",
    );
  }
  const done = new Set(live.map((m) => m.name));
  const pending = deps.migrations.filter((m) => !done.has(m.name)).map((m) => m.name);
  const changed = live.filter((m) => known.get(m.name) !== m.checksum).map((m) => m.name);
  if (pending.length > 0) {
    return v.warn(
      `${total - pending.length} of ${total} migrations applied in ${deps.where}; not yet: ${names(pending)}.`,
      "The show applies them when it starts. Back up the database first if it holds a show you want to keep.",
    );
  }
  if (changed.length > 0) {
    return v.warn(
      `All ${total} migrations applied, but ${names(changed)} changed after they were applied.`,
      "Someone edited an applied migration; the tables may differ from what the app expects. Compare with prisma/ before the show.",
    );
  }
  return v.ok(`All ${total} migrations applied in ${deps.where} (latest ${deps.migrations.at(-1)?.name ?? "none"}).`);
}
