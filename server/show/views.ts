/**
 * Plain objects the screens render. Built by the services from the database and in-memory build
 * state; sent in snapshots and events; never Prisma types.
 */

/** pending: waiting for the host's approval (when approve-before-shown is on), hidden from the audience. */
export type QueueState = "pending" | "queued" | "building" | "passed" | "failed" | "rejected" | "merged";

export interface QueueItemView {
  prNumber: number;
  title: string | null;
  author: string | null;
  state: QueueState;
  submitters: string[];
  submissionCount: number;
  votes: number;
  /** Why GitHub's facts make it ineligible (draft, closed, branch, rebuilds, conflict); null = fine. */
  eligibility: string | null;
  rejectReason: string | null;
  /** How the audience predicted ("builds" or "Hydra failure"), and whether predicting is over. */
  predictions: { builds: number; fails: number };
  predictionsLocked: boolean;
  createdAt: string;
}

/** A public leaderboard line: never the device token. */
export interface LeaderView {
  rank: number;
  nickname: string;
  points: number;
}

export type BuildStatus =
  | "queued"
  | "fetching"
  | "running"
  | "passed"
  | "failed"
  | "cancelled"
  | "interrupted"
  | "error"
  | "nothing-to-build";

export const FINISHED_BUILD_STATUSES: readonly BuildStatus[] = [
  "passed",
  "failed",
  "cancelled",
  "interrupted",
  "error",
  "nothing-to-build",
];

export type DerivationState = "planned" | "running" | "built" | "substituted" | "failed" | "dependency-failed";

export interface DerivationView {
  drvPath: string;
  name: string;
  state: DerivationState;
  phase: string | null;
  machine: string;
  exitCode: number | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface TargetView {
  attr: string;
  source: string;
}

export interface BuildView {
  id: number;
  prNumber: number;
  title: string | null;
  submitters: string[];
  status: BuildStatus;
  system: string;
  checkoutMode: string;
  headSha: string | null;
  targets: TargetView[];
  targetNote: string | null;
  error: string | null;
  failedDrv: string | null;
  failedPhase: string | null;
  totals: { done: number; expected: number; running: number; failed: number };
  currentPhase: string | null;
  lastLine: string | null;
  logLineCount: number;
  derivations: DerivationView[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The public state of the show's switches (the room code is not here: it is the stage's). */
export interface ShowStatus {
  /** NIX_SYSTEMS: what the host may build for. */
  systems: string[];
  /** When the host's round timer ends (ISO), sent once; screens count down themselves. */
  roundEndsAt: string | null;
  muted: boolean;
  /** The host revealed the podium (end of the show). */
  podium: boolean;
  submissionsLocked: boolean;
  joinsLocked: boolean;
  approveBeforeShown: boolean;
  requireRoomCodeForRemote: boolean;
  githubAuthenticated: boolean;
}

export interface ShowSnapshot {
  version: number;
  serverTime: string;
  queue: QueueItemView[];
  builds: BuildView[];
  show: ShowStatus;
  leaderboard: LeaderView[];
}

/** One line of a build's log, as stored and as streamed. `seq` counts from 1 per build. */
export interface LogLine {
  seq: number;
  drv: string | null;
  text: string;
}

export interface LogChunk {
  buildId: number;
  fromSeq: number;
  lines: LogLine[];
}
