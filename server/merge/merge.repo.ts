import type { Db } from "../db/client";
import type { MergeAttemptView } from "./views";

/** Merge attempts (the audit), result comments, and the points a merge earns. */

export interface NewMergeAttempt {
  prNumber: number;
  headSha: string;
  maintainer: string;
  method: string;
  outcome: MergeAttemptView["outcome"];
  githubStatus: number | null;
  message: string;
  response: string | null;
}

function toView(row: {
  id: number;
  prNumber: number;
  headSha: string;
  maintainer: string;
  method: string;
  outcome: string;
  githubStatus: number | null;
  message: string;
  createdAt: Date;
}): MergeAttemptView {
  return {
    id: row.id,
    prNumber: row.prNumber,
    headSha: row.headSha,
    maintainer: row.maintainer,
    method: row.method,
    outcome: row.outcome as MergeAttemptView["outcome"],
    githubStatus: row.githubStatus,
    message: row.message,
    createdAt: row.createdAt.toISOString(),
  };
}

export async function recordMergeAttempt(db: Db, attempt: NewMergeAttempt): Promise<MergeAttemptView> {
  return toView(await db.mergeAttempt.create({ data: attempt }));
}

export async function listMergeAttempts(db: Db, opts: { prNumber?: number; take?: number } = {}): Promise<MergeAttemptView[]> {
  const rows = await db.mergeAttempt.findMany({
    where: opts.prNumber === undefined ? {} : { prNumber: opts.prNumber },
    orderBy: { id: "desc" },
    take: opts.take ?? 50,
  });
  return rows.map(toView);
}

/** The latest successful enqueue or auto-merge of each PR since `since`: what to keep following after a restart. */
export async function followableAttempts(db: Db, since: Date): Promise<MergeAttemptView[]> {
  const rows = await db.mergeAttempt.findMany({
    where: { outcome: "ok", method: { in: ["enqueue", "auto-merge"] }, createdAt: { gte: since } },
    orderBy: { id: "desc" },
  });
  const latest = new Map<number, MergeAttemptView>();
  for (const row of rows) if (!latest.has(row.prNumber)) latest.set(row.prNumber, toView(row));
  return [...latest.values()];
}

export async function findResultComment(db: Db, prNumber: number): Promise<{ commentId: string; url: string | null; headSha: string } | null> {
  const row = await db.resultComment.findUnique({ where: { prNumber } });
  return row ? { commentId: row.commentId, url: row.url, headSha: row.headSha } : null;
}

export async function saveResultComment(db: Db, c: { prNumber: number; commentId: string; url: string; headSha: string }): Promise<void> {
  const data = { commentId: c.commentId, url: c.url, headSha: c.headSha };
  await db.resultComment.upsert({ where: { prNumber: c.prNumber }, create: { prNumber: c.prNumber, ...data }, update: data });
}

/** Devices that named this PR and had it accepted (first submission or a duplicate). */
export async function submitterDevices(db: Db, prNumber: number): Promise<string[]> {
  const rows = await db.submission.findMany({
    where: { prNumber, outcome: { in: ["queued", "duplicate"] }, deviceToken: { not: null } },
    select: { deviceToken: true },
  });
  return [...new Set(rows.flatMap((r) => (r.deviceToken ? [r.deviceToken] : [])))];
}

export async function queueEntryFacts(db: Db, prNumber: number): Promise<{ title: string | null; author: string | null; baseRef: string | null } | null> {
  return db.queueEntry.findUnique({ where: { prNumber }, select: { title: true, author: true, baseRef: true } });
}

/** The queue shows the PR as merged; false when it is not in the queue. */
export async function markQueueEntryMerged(db: Db, prNumber: number): Promise<boolean> {
  const { count } = await db.queueEntry.updateMany({ where: { prNumber }, data: { state: "merged" } });
  return count > 0;
}
