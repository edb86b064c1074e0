import type { Db } from "../db/client";

export interface LeaderEntry {
  rank: number;
  deviceToken: string;
  nickname: string;
  points: number;
}

export async function upsertPrediction(db: Db, queueEntryId: number, deviceToken: string, guess: "builds" | "fails"): Promise<void> {
  await db.prediction.upsert({
    where: { queueEntryId_deviceToken: { queueEntryId, deviceToken } },
    create: { queueEntryId, deviceToken, guess },
    update: { guess },
  });
}

export async function predictionTally(db: Db): Promise<Map<number, { builds: number; fails: number }>> {
  const rows = await db.prediction.groupBy({ by: ["queueEntryId", "guess"], _count: { _all: true } });
  const tally = new Map<number, { builds: number; fails: number }>();
  for (const r of rows) {
    const t = tally.get(r.queueEntryId) ?? { builds: 0, fails: 0 };
    if (r.guess === "builds") t.builds = r._count._all;
    else t.fails = r._count._all;
    tally.set(r.queueEntryId, t);
  }
  return tally;
}

export async function lockPredictionsFor(db: Db, prNumber: number): Promise<boolean> {
  const { count } = await db.queueEntry.updateMany({ where: { prNumber, predictionsLockedAt: null }, data: { predictionsLockedAt: new Date() } });
  return count > 0;
}

export async function unscoredPredictions(db: Db, queueEntryId: number) {
  return db.prediction.findMany({ where: { queueEntryId, scoredAt: null } });
}

export async function markScored(db: Db, ids: number[]): Promise<void> {
  if (ids.length) await db.prediction.updateMany({ where: { id: { in: ids } }, data: { scoredAt: new Date() } });
}

/** Points are awarded once per device, reason and PR (a unique key), however often a verdict is seen. */
export async function awardPoints(db: Db, deviceToken: string, reason: string, prNumber: number, points: number): Promise<boolean> {
  const existing = await db.scoreEvent.findUnique({ where: { deviceToken_reason_prNumber: { deviceToken, reason, prNumber } } });
  if (existing) return false;
  await db.scoreEvent.create({ data: { deviceToken, reason, prNumber, points } }).catch((error: { code?: string }) => {
    if (error.code !== "P2002") throw error;
  });
  return true;
}

export async function leaderboard(db: Db): Promise<LeaderEntry[]> {
  const sums = await db.scoreEvent.groupBy({ by: ["deviceToken"], _sum: { points: true } });
  const tokens = sums.map((s) => s.deviceToken);
  const devices = await db.device.findMany({ where: { token: { in: tokens } }, select: { token: true, nickname: true } });
  const names = new Map(devices.map((d) => [d.token, d.nickname]));
  // Chat players have no device row: their latest nickname comes from what they sent.
  const missing = tokens.filter((t) => !names.has(t));
  if (missing.length) {
    const subs = await db.submission.findMany({ where: { deviceToken: { in: missing } }, orderBy: { id: "asc" }, select: { deviceToken: true, nickname: true } });
    for (const s of subs) names.set(s.deviceToken!, s.nickname);
  }
  const sorted = sums
    .map((s) => ({ deviceToken: s.deviceToken, nickname: names.get(s.deviceToken) ?? "someone", points: s._sum.points ?? 0 }))
    .sort((a, b) => b.points - a.points || a.nickname.localeCompare(b.nickname));
  let rank = 0;
  let previous = Number.NaN;
  return sorted.map((entry, i) => {
    if (entry.points !== previous) rank = i + 1;
    previous = entry.points;
    return { rank, ...entry };
  });
}

/** Everything that makes one show, for a reset; devices, bans and settings stay. */
export async function deleteShowData(db: Db): Promise<void> {
  await db.$transaction([
    db.scoreEvent.deleteMany(),
    db.prediction.deleteMany(),
    db.vote.deleteMany(),
    db.buildDerivation.deleteMany(),
    db.build.deleteMany(),
    db.submission.deleteMany(),
    db.queueEntry.deleteMany(),
    db.chatEvent.deleteMany(),
  ]);
}
