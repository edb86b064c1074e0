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
  labels?: string[];
}

export interface DeviceRecord {
  token: string;
  nickname: string;
  remote: boolean;
  banned: boolean;
  bannedReason: string | null;
}

/** Stored before anything else happens, so nothing the audience sends is ever lost. */
export async function recordSubmission(db: Db, s: NewSubmission): Promise<number> {
  const row = await db.submission.create({ data: { ...s, outcome: "pending" } });
  return row.id;
}

export async function markSubmissionRefused(db: Db, id: number, reason: string, prNumber?: number): Promise<void> {
  await db.submission.update({ where: { id }, data: { outcome: "refused", reason, prNumber: prNumber ?? null } });
}

/**
 * Adds the PR to the queue (or credits the existing entry), links the submission to it and counts
 * the submitter's device as an upvote.
 */
export async function queueSubmission(
  db: Db,
  submissionId: number,
  prNumber: number,
  facts: PrFacts,
  opts: { initialState?: QueueState; deviceToken?: string | null; eligibility?: string | null } = {},
): Promise<{ duplicate: boolean; state: QueueState }> {
  return db.$transaction(async (tx) => {
    const existing = await tx.queueEntry.findUnique({ where: { prNumber } });
    const data = {
      title: facts.title ?? existing?.title ?? null,
      author: facts.author ?? existing?.author ?? null,
      headSha: facts.headSha ?? existing?.headSha ?? null,
      baseRef: facts.baseRef ?? existing?.baseRef ?? null,
      labels: facts.labels ? JSON.stringify(facts.labels) : (existing?.labels ?? null),
    };
    const entry = existing
      ? await tx.queueEntry.update({ where: { prNumber }, data })
      : await tx.queueEntry.create({ data: { prNumber, state: opts.initialState ?? "queued", eligibility: opts.eligibility ?? null, ...data } });
    await tx.submission.update({
      where: { id: submissionId },
      data: { outcome: existing ? "duplicate" : "queued", prNumber, queueEntryId: entry.id },
    });
    if (opts.deviceToken) {
      await tx.vote.upsert({
        where: { queueEntryId_deviceToken: { queueEntryId: entry.id, deviceToken: opts.deviceToken } },
        create: { queueEntryId: entry.id, deviceToken: opts.deviceToken },
        update: {},
      });
    }
    return { duplicate: existing !== null, state: entry.state as QueueState };
  });
}

export async function findQueueEntry(db: Db, prNumber: number) {
  return db.queueEntry.findUnique({ where: { prNumber } });
}

export async function setQueueState(
  db: Db,
  prNumber: number,
  state: QueueState,
  extra: Partial<PrFacts> & { rejectReason?: string | null } = {},
): Promise<void> {
  const { labels, ...rest } = extra;
  await db.queueEntry.update({
    where: { prNumber },
    data: { state, ...rest, ...(labels ? { labels: JSON.stringify(labels) } : {}) },
  });
}

export async function addVote(db: Db, prNumber: number, deviceToken: string): Promise<boolean> {
  const entry = await db.queueEntry.findUnique({ where: { prNumber } });
  if (!entry) return false;
  await db.vote.upsert({
    where: { queueEntryId_deviceToken: { queueEntryId: entry.id, deviceToken } },
    create: { queueEntryId: entry.id, deviceToken },
    update: {},
  });
  return true;
}

/** The queue in play order: most upvotes first, then oldest first. */
export async function listQueue(db: Db, opts: { includeHidden?: boolean } = {}): Promise<QueueItemView[]> {
  const entries = await db.queueEntry.findMany({
    where: opts.includeHidden ? {} : { state: { notIn: ["pending", "rejected"] } },
    orderBy: { createdAt: "asc" },
    include: {
      submissions: { select: { nickname: true, outcome: true }, orderBy: { createdAt: "asc" } },
      _count: { select: { votes: true } },
    },
  });
  const tally = await db.prediction.groupBy({ by: ["queueEntryId", "guess"], _count: { _all: true } });
  const count = (id: number, guess: string) => tally.find((t) => t.queueEntryId === id && t.guess === guess)?._count._all ?? 0;
  return entries
    .map((e) => ({
      prNumber: e.prNumber,
      title: e.title,
      author: e.author,
      state: e.state as QueueState,
      submitters: [...new Set(e.submissions.filter((s) => s.outcome !== "refused").map((s) => s.nickname))],
      submissionCount: e.submissions.filter((s) => s.outcome !== "refused").length,
      votes: e._count.votes,
      eligibility: e.eligibility,
      rejectReason: e.rejectReason,
      predictions: { builds: count(e.id, "builds"), fails: count(e.id, "fails") },
      predictionsLocked: e.predictionsLockedAt !== null || !["pending", "queued"].includes(e.state),
      createdAt: e.createdAt.toISOString(),
    }))
    .sort((a, b) => b.votes - a.votes || a.createdAt.localeCompare(b.createdAt));
}

export async function countQueue(db: Db): Promise<number> {
  return db.queueEntry.count();
}

export async function findDevice(db: Db, token: string): Promise<DeviceRecord | null> {
  return db.device.findUnique({ where: { token } });
}

export async function upsertDevice(db: Db, d: { token: string; nickname: string; remote: boolean }): Promise<DeviceRecord> {
  return db.device.upsert({
    where: { token: d.token },
    create: d,
    update: { nickname: d.nickname, lastSeenAt: new Date(), ...(d.remote ? {} : { remote: false }) },
  });
}

export async function banDevice(db: Db, token: string, reason: string): Promise<void> {
  await db.device.upsert({
    where: { token },
    create: { token, nickname: "banned", banned: true, bannedReason: reason },
    update: { banned: true, bannedReason: reason },
  });
}

export async function deviceSubmissions(db: Db, token: string, take = 20) {
  const rows = await db.submission.findMany({
    where: { deviceToken: token },
    orderBy: { id: "desc" },
    take,
    include: { queueEntry: { select: { state: true, rejectReason: true, title: true } } },
  });
  return rows.map((r) => ({
    id: r.id,
    rawText: r.rawText,
    prNumber: r.prNumber,
    outcome: r.outcome,
    reason: r.queueEntry?.rejectReason ?? r.reason,
    state: r.queueEntry?.state ?? null,
    title: r.queueEntry?.title ?? null,
    createdAt: r.createdAt.toISOString(),
  }));
}

export async function devicesWhoSubmitted(db: Db, prNumber: number): Promise<string[]> {
  const rows = await db.submission.findMany({
    where: { prNumber, outcome: { in: ["queued", "duplicate"] }, deviceToken: { not: null } },
    select: { deviceToken: true },
  });
  return [...new Set(rows.map((r) => r.deviceToken!))];
}

export async function submissionsOf(db: Db, prNumber: number) {
  const rows = await db.submission.findMany({ where: { prNumber }, orderBy: { id: "asc" } });
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    remote: r.remote,
    nickname: r.nickname,
    deviceToken: r.deviceToken,
    rawText: r.rawText,
    outcome: r.outcome,
    reason: r.reason,
    createdAt: r.createdAt.toISOString(),
  }));
}
