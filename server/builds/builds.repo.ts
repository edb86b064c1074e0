import type { Db } from "../db/client";
import type { BuildStatus, BuildView, DerivationState, DerivationView, TargetView } from "../show/views";
import { asBuildTarget, type BuildTarget } from "./build-targets";

export interface DerivationRecord {
  drvPath: string;
  name: string;
  state: DerivationState;
  phase: string | null;
  machine: string;
  exitCode: number | null;
  error: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

const ACTIVE: BuildStatus[] = ["queued", "fetching", "running"];

export async function createBuild(
  db: Db,
  b: { queueEntryId: number; prNumber: number; system: string; checkoutMode: string },
): Promise<number> {
  const row = await db.build.create({ data: { ...b, status: "fetching", targets: [] } });
  return row.id;
}

export async function updateBuild(
  db: Db,
  id: number,
  data: Partial<{
    status: BuildStatus;
    headSha: string;
    baseSha: string;
    checkedOutSha: string;
    targets: TargetView[];
    targetNote: string;
    error: string | null;
    failedDrv: string | null;
    failedPhase: string | null;
    logLineCount: number;
    startedAt: Date;
    finishedAt: Date;
  }>,
): Promise<void> {
  await db.build.update({
    where: { id },
    data: { ...data, targets: data.targets ? data.targets.map(storedTarget) : undefined },
  });
}

/** What a target is stored as: the view's fields, plus its derivation and check once evaluated. */
function storedTarget(t: TargetView): { attr: string; source: string; drvPath?: string | null; check?: BuildTarget["check"] } {
  const { attr, source, drvPath, check } = asBuildTarget(t);
  return check === null ? { attr, source } : { attr, source, drvPath, check };
}

export async function saveDerivation(db: Db, buildId: number, d: DerivationRecord): Promise<void> {
  const data = {
    name: d.name,
    state: d.state,
    phase: d.phase,
    machine: d.machine,
    exitCode: d.exitCode,
    error: d.error,
    startedAt: d.startedAt === null ? null : new Date(d.startedAt),
    finishedAt: d.finishedAt === null ? null : new Date(d.finishedAt),
  };
  await db.buildDerivation.upsert({
    where: { buildId_drvPath: { buildId, drvPath: d.drvPath } },
    create: { buildId, drvPath: d.drvPath, ...data },
    update: data,
  });
}

export async function hasActiveBuild(db: Db, prNumber: number): Promise<boolean> {
  return (await db.build.count({ where: { prNumber, status: { in: ACTIVE } } })) > 0;
}

/** A restart kills every child process: builds that were in flight are interrupted, never "running" forever. */
export async function markInterruptedBuilds(db: Db): Promise<number[]> {
  const rows = await db.build.findMany({ where: { status: { in: ACTIVE } }, select: { id: true, prNumber: true } });
  if (rows.length === 0) return [];
  await db.build.updateMany({
    where: { id: { in: rows.map((r) => r.id) } },
    data: {
      status: "interrupted",
      finishedAt: new Date(),
      error: "The server restarted during this build. Its log is kept; press Build to run it again.",
    },
  });
  await db.buildDerivation.updateMany({
    where: { buildId: { in: rows.map((r) => r.id) }, state: { in: ["running", "planned"] } },
    data: { state: "failed", error: "interrupted" },
  });
  return rows.map((r) => r.prNumber);
}

type BuildRow = Awaited<ReturnType<typeof loadBuildRows>>[number];

async function loadBuildRows(db: Db, where: { id?: number; prNumber?: number }, take: number) {
  return db.build.findMany({
    where,
    orderBy: { id: "desc" },
    take,
    include: {
      derivations: { orderBy: { id: "asc" } },
      queueEntry: { include: { submissions: { select: { nickname: true }, orderBy: { createdAt: "asc" } } } },
    },
  });
}

function toView(row: BuildRow): BuildView {
  const derivations: DerivationView[] = row.derivations.map((d) => ({
    drvPath: d.drvPath,
    name: d.name,
    state: d.state as DerivationState,
    phase: d.phase,
    machine: d.machine,
    exitCode: d.exitCode,
    error: d.error,
    startedAt: d.startedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
  }));
  const count = (...states: DerivationState[]) => derivations.filter((d) => states.includes(d.state)).length;
  return {
    id: row.id,
    prNumber: row.prNumber,
    title: row.queueEntry.title,
    submitters: [...new Set(row.queueEntry.submissions.map((s) => s.nickname))],
    status: row.status as BuildStatus,
    system: row.system,
    checkoutMode: row.checkoutMode,
    headSha: row.headSha,
    // Screens see attr and source; what evaluation found stays in the builds domain (buildTargets).
    targets: storedTargets(row.targets).map((t) => ({ attr: t.attr, source: t.source })),
    targetNote: row.targetNote,
    error: row.error,
    failedDrv: row.failedDrv,
    failedPhase: row.failedPhase,
    totals: {
      done: count("built", "substituted"),
      expected: derivations.length,
      running: count("running"),
      failed: count("failed", "dependency-failed"),
    },
    currentPhase: null,
    lastLine: null,
    logLineCount: row.logLineCount,
    derivations,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

function storedTargets(json: unknown): BuildTarget[] {
  return Array.isArray(json) ? (json as TargetView[]).map(asBuildTarget) : [];
}

/** A build's targets with their derivations and checks, as stored when it was evaluated. */
export async function getBuildTargets(db: Db, id: number): Promise<BuildTarget[]> {
  const row = await db.build.findUnique({ where: { id }, select: { targets: true } });
  return row ? storedTargets(row.targets) : [];
}

export async function getBuildView(db: Db, id: number): Promise<BuildView | null> {
  const [row] = await loadBuildRows(db, { id }, 1);
  return row ? toView(row) : null;
}

export async function listBuildViews(db: Db, opts: { prNumber?: number; take?: number } = {}): Promise<BuildView[]> {
  const rows = await loadBuildRows(db, opts.prNumber === undefined ? {} : { prNumber: opts.prNumber }, opts.take ?? 30);
  return rows.map(toView);
}
