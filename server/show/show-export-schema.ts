import { z } from "zod";
import { AppError } from "../errors";

/**
 * The show as exported after it ends: plain rows with ISO dates, for the organisers. Players appear
 * by a pseudonym (a hash of their device token), never by the token itself: a token is the key a
 * phone acts with, and an export travels further than the server. IP addresses are left out.
 * The schema reads an export back (the results page from a saved file, the round-trip test).
 */
export const SHOW_EXPORT_FORMAT = "maybe-a-few-hydra-failures/show-export";
export const SHOW_EXPORT_VERSION = 1;

const iso = z.iso.datetime({ offset: true });
const player = z.string().regex(/^p-[0-9a-f]{12}$/, "a player pseudonym like p-0123456789ab");
const prNumber = z.number().int().positive();

export const ExportedPlayer = z.object({
  player,
  nickname: z.string(),
  /** Joined with a device (phone or browser); false for chat players, known only by their messages. */
  device: z.boolean(),
  remote: z.boolean(),
  banned: z.boolean(),
  bannedReason: z.string().nullable(),
  joinedAt: iso.nullable(),
});

export const ExportedSubmission = z.object({
  id: z.number().int(),
  createdAt: iso,
  source: z.string(),
  remote: z.boolean(),
  rawText: z.string(),
  nickname: z.string(),
  player: player.nullable(),
  prNumber: prNumber.nullable(),
  outcome: z.string(),
  reason: z.string().nullable(),
});

export const ExportedQueueEntry = z.object({
  prNumber,
  title: z.string().nullable(),
  author: z.string().nullable(),
  headSha: z.string().nullable(),
  baseRef: z.string().nullable(),
  state: z.string(),
  labels: z.array(z.string()),
  eligibility: z.string().nullable(),
  rejectReason: z.string().nullable(),
  votes: z.number().int().min(0),
  predictedBuilds: z.number().int().min(0),
  predictedFails: z.number().int().min(0),
  predictionsLockedAt: iso.nullable(),
  createdAt: iso,
  updatedAt: iso,
});

export const ExportedBuild = z.object({
  id: z.number().int(),
  prNumber,
  status: z.string(),
  system: z.string(),
  checkoutMode: z.string(),
  headSha: z.string().nullable(),
  baseSha: z.string().nullable(),
  checkedOutSha: z.string().nullable(),
  targets: z.array(z.object({ attr: z.string(), source: z.string() })),
  targetNote: z.string().nullable(),
  error: z.string().nullable(),
  failedDrv: z.string().nullable(),
  failedPhase: z.string().nullable(),
  logLineCount: z.number().int().min(0),
  createdAt: iso,
  startedAt: iso.nullable(),
  finishedAt: iso.nullable(),
});

export const ExportedDerivation = z.object({
  buildId: z.number().int(),
  drvPath: z.string(),
  name: z.string(),
  state: z.string(),
  phase: z.string().nullable(),
  machine: z.string(),
  exitCode: z.number().int().nullable(),
  error: z.string().nullable(),
  startedAt: iso.nullable(),
  finishedAt: iso.nullable(),
});

export const VERDICTS = ["passed", "failed", "cancelled", "error", "interrupted", "nothing-to-build", "unfinished"] as const;

/** A PR's verdict: the latest build of each system, passed only when every one passed. */
export const ExportedVerdict = z.object({
  prNumber,
  verdict: z.enum(VERDICTS),
  systems: z.array(z.string()),
  buildIds: z.array(z.number().int()),
  failedDrv: z.string().nullable(),
  failedPhase: z.string().nullable(),
  decidedAt: iso.nullable(),
});

export const ExportedPrediction = z.object({
  prNumber,
  player,
  guess: z.enum(["builds", "fails"]),
  createdAt: iso,
  scoredAt: iso.nullable(),
});

export const ExportedVote = z.object({ prNumber, player, createdAt: iso });

export const ExportedScore = z.object({
  player,
  points: z.number().int(),
  reason: z.string(),
  prNumber: prNumber.nullable(),
  createdAt: iso,
});

export const ExportedLeader = z.object({ rank: z.number().int().positive(), player, nickname: z.string(), points: z.number().int() });

export const ExportedMerge = z.object({
  id: z.number().int(),
  prNumber,
  headSha: z.string(),
  maintainer: z.string(),
  method: z.string(),
  outcome: z.string(),
  githubStatus: z.number().int().nullable(),
  message: z.string(),
  createdAt: iso,
});

export const ExportedComment = z.object({ prNumber, url: z.string().nullable(), headSha: z.string(), updatedAt: iso });

export const ShowExportSchema = z.object({
  format: z.literal(SHOW_EXPORT_FORMAT),
  version: z.literal(SHOW_EXPORT_VERSION),
  exportedAt: iso,
  repo: z.string(),
  players: z.array(ExportedPlayer),
  submissions: z.array(ExportedSubmission),
  queue: z.array(ExportedQueueEntry),
  builds: z.array(ExportedBuild),
  derivations: z.array(ExportedDerivation),
  verdicts: z.array(ExportedVerdict),
  predictions: z.array(ExportedPrediction),
  votes: z.array(ExportedVote),
  scores: z.array(ExportedScore),
  leaderboard: z.array(ExportedLeader),
  merges: z.array(ExportedMerge),
  comments: z.array(ExportedComment),
});

export type ShowExport = z.infer<typeof ShowExportSchema>;
export type ExportedVerdictRow = z.infer<typeof ExportedVerdict>;
export type ExportedBuildRow = z.infer<typeof ExportedBuild>;

/** The tables of an export, in the order CSV files and the page list them. */
export const EXPORT_TABLES = [
  "players",
  "submissions",
  "queue",
  "builds",
  "derivations",
  "verdicts",
  "predictions",
  "votes",
  "scores",
  "leaderboard",
  "merges",
  "comments",
] as const satisfies ReadonlyArray<keyof ShowExport>;

export type ExportTable = (typeof EXPORT_TABLES)[number];

/** Reads an export file back; a message says what is wrong with it. */
export function parseShowExport(text: string): ShowExport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "This is not a show export: it is not JSON.");
  }
  const parsed = ShowExportSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("bad_request", `This is not a show export of version ${SHOW_EXPORT_VERSION}: ${issue?.path.join(".") || "the file"}: ${issue?.message ?? "unexpected shape"}.`);
  }
  return parsed.data;
}
