import type { Db } from "../db/client";
import type { QueueItemView, QueueState } from "../show/views";

export interface NewSubmission {
  source: "web" | "owncast" | "host";
  remote: boolean;
  rawText: string;
  nickname: string;
  deviceToken: string | null;
  ip: string | null;
}

export interface PrFacts {
  title: string | null;
  author: string | null;
  headSha: string | null;
  baseRef: string | null;
}

/** Stored before anything else happens, so nothing the audience sends is ever lost. */
export async function recordSubmission(db: Db, s: NewSubmission): Promise<number> {
  const row = await db.submission.create({ data: { ...s, outcome: "pending" } });
  return row.id;
}

export async function markSubmissionRefused(db: Db, id: number, reason: string, prNumber?: number): Promise<void> {
  await db.submission.update({ where: { id }, data: { outcome: "refused", reason, prNumber: prNumber ?? null } });
}

/** Adds the PR to the queue (or credits the existing entry) and links the submission to it. */
export async function queueSubmission(
  db: Db,
  submissionId: number,
  prNumber: number,
  facts: PrFacts,
): Promise<{ duplicate: boolean }> {
  return db.$transaction(async (tx) => {
    const existing = await tx.queueEntry.findUnique({ where: { prNumber } });
    const entry = existing
      ? await tx.queueEntry.update({
          where: { prNumber },
          data: { title: facts.title ?? existing.title, author: facts.author ?? existing.author },
        })
      : await tx.queueEntry.create({ data: { prNumber, state: "queued", ...facts } });
    await tx.submission.update({
      where: { id: submissionId },
      data: { outcome: existing ? "duplicate" : "queued", prNumber, queueEntryId: entry.id },
    });
    return { duplicate: existing !== null };
  });
}

export async function findQueueEntry(db: Db, prNumber: number) {
  return db.queueEntry.findUnique({ where: { prNumber } });
}

export async function setQueueState(db: Db, prNumber: number, state: QueueState, facts?: Partial<PrFacts>): Promise<void> {
  await db.queueEntry.update({ where: { prNumber }, data: { state, ...facts } });
}

export async function listQueue(db: Db): Promise<QueueItemView[]> {
  const entries = await db.queueEntry.findMany({
    orderBy: { createdAt: "asc" },
    include: { submissions: { select: { nickname: true }, orderBy: { createdAt: "asc" } } },
  });
  return entries.map((e) => ({
    prNumber: e.prNumber,
    title: e.title,
    author: e.author,
    state: e.state as QueueState,
    submitters: [...new Set(e.submissions.map((s) => s.nickname))],
    submissionCount: e.submissions.length,
    createdAt: e.createdAt.toISOString(),
  }));
}

export async function submittersOf(db: Db, prNumber: number): Promise<string[]> {
  const rows = await db.submission.findMany({
    where: { prNumber, outcome: { in: ["queued", "duplicate"] } },
    select: { nickname: true },
    orderBy: { createdAt: "asc" },
  });
  return [...new Set(rows.map((r) => r.nickname))];
}

export async function countQueue(db: Db): Promise<number> {
  return db.queueEntry.count();
}
