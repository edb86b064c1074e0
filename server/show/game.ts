import { AppError } from "../errors";
import type { Db } from "../db/client";
import type { ShowEvents } from "./show-events";
import { FINISHED_BUILD_STATUSES, type BuildView, type LeaderView } from "./views";
import { devicesWhoSubmitted, findDevice, findQueueEntry, listQueue } from "../intake/intake.repo";
import {
  awardPoints,
  leaderboard,
  lockPredictionsFor,
  markScored,
  unscoredPredictions,
  upsertPrediction,
} from "./game.repo";

/**
 * The game: before a build's verdict the audience predicts "builds" or "Hydra failure"; correct
 * predictions score, and so do submitters whose PR builds (and, from the merge service, merges).
 * Nothing is scored on speed, so a slow phone or a screen reader costs no points.
 */
export const POINTS = {
  correctPrediction: 100,
  submittedPrBuilt: 50,
} as const;

export interface GameDeps {
  db: Db;
  events: ShowEvents;
}

export type Guess = "builds" | "fails";

export async function publicLeaderboard(db: Db, top: number): Promise<LeaderView[]> {
  return (await leaderboard(db)).slice(0, top).map(({ rank, nickname, points }) => ({ rank, nickname, points }));
}

/** This device's place, for its own phone: rank among everyone, and the points. */
export async function standingOf(db: Db, deviceToken: string): Promise<{ rank: number | null; points: number; players: number }> {
  const board = await leaderboard(db);
  const mine = board.find((e) => e.deviceToken === deviceToken);
  return { rank: mine?.rank ?? null, points: mine?.points ?? 0, players: board.length };
}

async function emitQueueAndScores(deps: GameDeps): Promise<void> {
  deps.events.emit("queue-changed", await listQueue(deps.db, { includeHidden: true }));
  deps.events.emit("scores-changed", await publicLeaderboard(deps.db, 10));
}

export async function predict(deps: GameDeps, input: { deviceToken: string; prNumber: number; guess: Guess }): Promise<void> {
  const device = await findDevice(deps.db, input.deviceToken);
  if (device?.banned) throw new AppError("forbidden", "The host removed this device from the show.");
  const entry = await findQueueEntry(deps.db, input.prNumber);
  if (!entry || entry.state === "pending" || entry.state === "rejected") {
    throw new AppError("not_found", `PR #${input.prNumber} is not in the queue.`);
  }
  if (entry.predictionsLockedAt || entry.state !== "queued") {
    throw new AppError("conflict", `Predictions for #${input.prNumber} are closed: its build has started.`);
  }
  await upsertPrediction(deps.db, entry.id, input.deviceToken, input.guess);
  deps.events.emit("queue-changed", await listQueue(deps.db, { includeHidden: true }));
}

export async function lockPredictions(deps: GameDeps, prNumber: number): Promise<void> {
  if (await lockPredictionsFor(deps.db, prNumber)) {
    deps.events.emit("queue-changed", await listQueue(deps.db, { includeHidden: true }));
  }
}

/** Scores a PR's verdict once: each correct prediction, and each submitter when it builds. */
export async function scoreVerdict(deps: GameDeps, prNumber: number, verdict: "passed" | "failed"): Promise<number> {
  const entry = await findQueueEntry(deps.db, prNumber);
  if (!entry) return 0;
  await lockPredictionsFor(deps.db, prNumber);
  let awarded = 0;
  const predictions = await unscoredPredictions(deps.db, entry.id);
  for (const p of predictions) {
    const correct = (p.guess === "builds") === (verdict === "passed");
    if (correct && (await awardPoints(deps.db, p.deviceToken, "correct-prediction", prNumber, POINTS.correctPrediction))) awarded += 1;
  }
  await markScored(
    deps.db,
    predictions.map((p) => p.id),
  );
  if (verdict === "passed") {
    for (const token of await devicesWhoSubmitted(deps.db, prNumber)) {
      if (await awardPoints(deps.db, token, "submitted-pr-built", prNumber, POINTS.submittedPrBuilt)) awarded += 1;
    }
  }
  await emitQueueAndScores(deps);
  return awarded;
}

/**
 * Follows the builds: predictions lock when a PR's build starts; once every system's latest build
 * of a PR has finished, the PR's verdict is scored (passed only when all passed).
 */
export function attachGame(deps: GameDeps, builds: { buildsOfPr(prNumber: number): Promise<BuildView[]> }): () => void {
  const seen = new Map<number, string>();
  const onBuild = (build: BuildView) => {
    if (seen.get(build.id) === build.status) return;
    seen.set(build.id, build.status);
    if (build.status === "running" || build.status === "fetching") {
      void lockPredictions(deps, build.prNumber);
      return;
    }
    if (build.status !== "passed" && build.status !== "failed") return;
    void (async () => {
      const latest = new Map<string, BuildView>();
      for (const b of await builds.buildsOfPr(build.prNumber)) if (!latest.has(b.system)) latest.set(b.system, b);
      const all = [...latest.values()];
      if (!all.every((b) => FINISHED_BUILD_STATUSES.includes(b.status))) return;
      if (all.some((b) => b.status === "failed")) await scoreVerdict(deps, build.prNumber, "failed");
      else if (all.every((b) => b.status === "passed")) await scoreVerdict(deps, build.prNumber, "passed");
    })();
  };
  deps.events.on("build-updated", onBuild);
  return () => deps.events.off("build-updated", onBuild);
}
