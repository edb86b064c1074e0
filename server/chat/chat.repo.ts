import type { Db } from "../db/client";

export type ChatOutcome = "pending" | "processed" | "ignored" | "refused";

export interface ChatMessage {
  /** Owncast's message id: the dedupe key for webhooks and polling alike. */
  id: string;
  displayName: string;
  userId: string | null;
  isBot: boolean;
  /** What the viewer typed (rawBody, or the HTML body turned back into text). */
  text: string;
}

export interface StoredChatEvent extends ChatMessage {
  outcome: ChatOutcome;
  reason: string | null;
  receivedAt: Date;
}

/**
 * Stored before anything else happens. A second event with the same id (Owncast's message id)
 * is a no-op that reports `created: false`: the webhook and the poller may both see a message,
 * and the primary key decides which one handles it.
 */
export async function recordChatEvent(db: Db, message: ChatMessage): Promise<{ created: boolean }> {
  try {
    await db.chatEvent.create({ data: { ...message, type: "CHAT", outcome: "pending" } });
    return { created: true };
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") return { created: false };
    throw error;
  }
}

export async function setChatEventOutcome(db: Db, id: string, outcome: ChatOutcome, reason: string | null): Promise<void> {
  await db.chatEvent.update({ where: { id }, data: { outcome, reason } });
}

/** Which of these ids are already stored (the poller asks before recording a history page). */
export async function knownChatEventIds(db: Db, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.chatEvent.findMany({ where: { id: { in: ids } }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

/** Events stored but never handled, e.g. because the server stopped in between. Oldest first. */
export async function listPendingChatEvents(db: Db, receivedBefore: Date): Promise<StoredChatEvent[]> {
  const rows = await db.chatEvent.findMany({
    where: { outcome: "pending", receivedAt: { lte: receivedBefore } },
    orderBy: { receivedAt: "asc" },
  });
  return rows.map(toStored);
}

/** Display names of the viewers whose chat messages put this PR in the queue (or voted for it). */
export async function chatSubmittersOf(db: Db, prNumber: number): Promise<string[]> {
  const rows = await db.submission.findMany({
    where: { prNumber, source: "owncast", outcome: { in: ["queued", "duplicate"] } },
    select: { nickname: true },
    orderBy: { createdAt: "asc" },
  });
  return [...new Set(rows.map((r) => r.nickname))];
}

function toStored(row: {
  id: string;
  displayName: string;
  userId: string | null;
  isBot: boolean;
  text: string;
  outcome: string;
  reason: string | null;
  receivedAt: Date;
}): StoredChatEvent {
  return {
    id: row.id,
    displayName: row.displayName,
    userId: row.userId,
    isBot: row.isBot,
    text: row.text,
    outcome: row.outcome as ChatOutcome,
    reason: row.reason,
    receivedAt: row.receivedAt,
  };
}
