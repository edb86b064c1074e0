import { createHash } from "node:crypto";
import type { Db } from "../db/client";
import { readShowTables, type ShowTables } from "./export.repo";
import { leaderboard } from "./game.repo";
import {
  SHOW_EXPORT_FORMAT,
  SHOW_EXPORT_VERSION,
  type ExportedBuildRow,
  type ExportedVerdictRow,
  type ShowExport,
} from "./show-export-schema";
import { FINISHED_BUILD_STATUSES, type BuildStatus } from "./views";

/**
 * After the show: everything it was made of, as one plain object (see show-export-schema.ts for
 * what is in it and what is deliberately not).
 */
export function playerId(deviceToken: string): string {
  return `p-${createHash("sha256").update(`mafhf-player:${deviceToken}`).digest("hex").slice(0, 12)}`;
}

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

function labelsOf(json: string | null): string[] {
  if (!json) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((l): l is string => typeof l === "string") : [];
  } catch {
    return [];
  }
}

function targetsOf(json: unknown): Array<{ attr: string; source: string }> {
  if (!Array.isArray(json)) return [];
  return json
    .filter((t): t is { attr: string; source: string } => typeof t?.attr === "string" && typeof t?.source === "string")
    .map((t) => ({ attr: t.attr, source: t.source }));
}

/** Devices that joined, and chat players known only by the token their messages carried. */
function playersOf(t: ShowTables): ShowExport["players"] {
  const players: ShowExport["players"] = t.devices.map((d) => ({
    player: playerId(d.token),
    nickname: d.nickname,
    device: true,
    remote: d.remote,
    banned: d.banned,
    bannedReason: d.bannedReason,
    joinedAt: iso(d.createdAt),
  }));
  const known = new Set(t.devices.map((d) => d.token));
  const latestNickname = new Map<string, string>();
  for (const s of t.submissions) if (s.deviceToken) latestNickname.set(s.deviceToken, s.nickname);
  const others = [
    ...t.submissions.map((s) => s.deviceToken),
    ...t.predictions.map((p) => p.deviceToken),
    ...t.votes.map((v) => v.deviceToken),
    ...t.scores.map((s) => s.deviceToken),
  ].filter((token): token is string => token !== null && !known.has(token));
  for (const token of new Set(others)) {
    players.push({
      player: playerId(token),
      nickname: latestNickname.get(token) ?? "someone",
      device: false,
      remote: true,
      banned: false,
      bannedReason: null,
      joinedAt: null,
    });
  }
  return players;
}

const OTHER_ENDINGS = ["error", "interrupted", "cancelled", "nothing-to-build"] as const satisfies readonly BuildStatus[];

/** The same rule the game scores by: every system's latest build, passed only when all passed. */
export function verdictsOf(builds: ExportedBuildRow[]): ExportedVerdictRow[] {
  const byPr = new Map<number, Map<string, ExportedBuildRow>>();
  for (const b of builds) {
    const systems = byPr.get(b.prNumber) ?? new Map<string, ExportedBuildRow>();
    const previous = systems.get(b.system);
    if (!previous || previous.id < b.id) systems.set(b.system, b);
    byPr.set(b.prNumber, systems);
  }
  return [...byPr.entries()]
    .sort(([a], [b]) => a - b)
    .map(([prNumber, systems]) => {
      const latest = [...systems.values()].sort((a, b) => a.system.localeCompare(b.system));
      const statuses = latest.map((b) => b.status as BuildStatus);
      const finished = statuses.every((s) => FINISHED_BUILD_STATUSES.includes(s));
      const failed = latest.find((b) => b.status === "failed");
      const verdict: ExportedVerdictRow["verdict"] = !finished
        ? "unfinished"
        : failed
          ? "failed"
          : statuses.every((s) => s === "passed")
            ? "passed"
            : (OTHER_ENDINGS.find((s) => statuses.includes(s)) ?? "error");
      const ends = latest.map((b) => b.finishedAt).filter((d): d is string => d !== null);
      return {
        prNumber,
        verdict,
        systems: latest.map((b) => b.system),
        buildIds: latest.map((b) => b.id),
        failedDrv: failed?.failedDrv ?? null,
        failedPhase: failed?.failedPhase ?? null,
        decidedAt: finished && ends.length > 0 ? ends.sort().at(-1)! : null,
      };
    });
}

export async function exportShow(db: Db, opts: { repo: string; now?: Date }): Promise<ShowExport> {
  const t = await readShowTables(db);
  const board = await leaderboard(db);
  const tally = new Map<number, { builds: number; fails: number }>();
  for (const p of t.predictions) {
    const counts = tally.get(p.queueEntryId) ?? { builds: 0, fails: 0 };
    if (p.guess === "builds") counts.builds += 1;
    else counts.fails += 1;
    tally.set(p.queueEntryId, counts);
  }
  const builds: ExportedBuildRow[] = t.builds.map((b) => ({
    id: b.id,
    prNumber: b.prNumber,
    status: b.status,
    system: b.system,
    checkoutMode: b.checkoutMode,
    headSha: b.headSha,
    baseSha: b.baseSha,
    checkedOutSha: b.checkedOutSha,
    targets: targetsOf(b.targets),
    targetNote: b.targetNote,
    error: b.error,
    failedDrv: b.failedDrv,
    failedPhase: b.failedPhase,
    logLineCount: b.logLineCount,
    createdAt: iso(b.createdAt),
    startedAt: isoOrNull(b.startedAt),
    finishedAt: isoOrNull(b.finishedAt),
  }));

  return {
    format: SHOW_EXPORT_FORMAT,
    version: SHOW_EXPORT_VERSION,
    exportedAt: iso(opts.now ?? new Date()),
    repo: opts.repo,
    players: playersOf(t),
    submissions: t.submissions.map((s) => ({
      id: s.id,
      createdAt: iso(s.createdAt),
      source: s.source,
      remote: s.remote,
      rawText: s.rawText,
      nickname: s.nickname,
      player: s.deviceToken === null ? null : playerId(s.deviceToken),
      prNumber: s.prNumber,
      outcome: s.outcome,
      reason: s.reason,
    })),
    queue: t.queue.map((q) => ({
      prNumber: q.prNumber,
      title: q.title,
      author: q.author,
      headSha: q.headSha,
      baseRef: q.baseRef,
      state: q.state,
      labels: labelsOf(q.labels),
      eligibility: q.eligibility,
      rejectReason: q.rejectReason,
      votes: q._count.votes,
      predictedBuilds: tally.get(q.id)?.builds ?? 0,
      predictedFails: tally.get(q.id)?.fails ?? 0,
      predictionsLockedAt: isoOrNull(q.predictionsLockedAt),
      createdAt: iso(q.createdAt),
      updatedAt: iso(q.updatedAt),
    })),
    builds,
    derivations: t.derivations.map((d) => ({
      buildId: d.buildId,
      drvPath: d.drvPath,
      name: d.name,
      state: d.state,
      phase: d.phase,
      machine: d.machine,
      exitCode: d.exitCode,
      error: d.error,
      startedAt: isoOrNull(d.startedAt),
      finishedAt: isoOrNull(d.finishedAt),
    })),
    verdicts: verdictsOf(builds),
    predictions: t.predictions.map((p) => ({
      prNumber: p.queueEntry.prNumber,
      player: playerId(p.deviceToken),
      guess: p.guess === "builds" ? "builds" : "fails",
      createdAt: iso(p.createdAt),
      scoredAt: isoOrNull(p.scoredAt),
    })),
    votes: t.votes.map((v) => ({ prNumber: v.queueEntry.prNumber, player: playerId(v.deviceToken), createdAt: iso(v.createdAt) })),
    scores: t.scores.map((s) => ({
      player: playerId(s.deviceToken),
      points: s.points,
      reason: s.reason,
      prNumber: s.prNumber,
      createdAt: iso(s.createdAt),
    })),
    leaderboard: board.map((l) => ({ rank: l.rank, player: playerId(l.deviceToken), nickname: l.nickname, points: l.points })),
    merges: t.merges.map((m) => ({
      id: m.id,
      prNumber: m.prNumber,
      headSha: m.headSha,
      maintainer: m.maintainer,
      method: m.method,
      outcome: m.outcome,
      githubStatus: m.githubStatus,
      message: m.message,
      createdAt: iso(m.createdAt),
    })),
    comments: t.comments.map((c) => ({ prNumber: c.prNumber, url: c.url, headSha: c.headSha, updatedAt: iso(c.updatedAt) })),
  };
}
