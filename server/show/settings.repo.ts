import type { Db } from "../db/client";

export async function readSettings(db: Db): Promise<Record<string, string>> {
  const rows = await db.showSetting.findMany();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export async function writeSetting(db: Db, key: string, value: string): Promise<void> {
  await db.showSetting.upsert({ where: { key }, create: { key, value }, update: { value } });
}
