import type { Db } from "../db/client";

/**
 * Every table a show export is made of, read in one transaction so the rows agree with each other
 * (a build is never exported without the queue entry it belongs to).
 */
export async function readShowTables(db: Db) {
  const byId = { orderBy: { id: "asc" as const } };
  const [devices, submissions, queue, votes, predictions, builds, derivations, scores, merges, comments] = await db.$transaction([
    db.device.findMany({ orderBy: { createdAt: "asc" } }),
    db.submission.findMany(byId),
    db.queueEntry.findMany({ ...byId, include: { _count: { select: { votes: true } } } }),
    db.vote.findMany({ ...byId, include: { queueEntry: { select: { prNumber: true } } } }),
    db.prediction.findMany({ ...byId, include: { queueEntry: { select: { prNumber: true } } } }),
    db.build.findMany(byId),
    db.buildDerivation.findMany(byId),
    db.scoreEvent.findMany(byId),
    db.mergeAttempt.findMany(byId),
    db.resultComment.findMany({ orderBy: { prNumber: "asc" } }),
  ]);
  return { devices, submissions, queue, votes, predictions, builds, derivations, scores, merges, comments };
}

export type ShowTables = Awaited<ReturnType<typeof readShowTables>>;
