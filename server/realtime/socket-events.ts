import type { MergeView } from "../merge/views";
import type { BuildView, LeaderView, LogChunk, LogLine, QueueItemView, ShowSnapshot, ShowStatus } from "../show/views";

/** The typed Socket.IO event maps, used by the server and by every client page. */
export interface ServerToClientEvents {
  snapshot: (snapshot: ShowSnapshot) => void;
  queue: (queue: QueueItemView[]) => void;
  build: (build: BuildView) => void;
  log: (chunk: LogChunk) => void;
  show: (status: ShowStatus) => void;
  leaderboard: (top: LeaderView[]) => void;
  merge: (view: MergeView) => void;
}

export interface ClientToServerEvents {
  /** Join a build's log room; the ack carries every stored line from `fromSeq` on. */
  "log:subscribe": (req: { buildId: number; fromSeq: number }, ack: (res: { lines: LogLine[] } | { error: string }) => void) => void;
  "log:unsubscribe": (req: { buildId: number }) => void;
}

export type SocketRole = "phone" | "screen" | "host";

export const LOG_ROOM = (buildId: number) => `log:${buildId}`;
export const LOG_BATCH_MS = 150;
/** Phones get build status at most twice a second. */
export const AUDIENCE_STATUS_MS = 500;
export const MAX_BACKFILL_LINES = 20_000;
