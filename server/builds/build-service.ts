import { AppError, isAppError } from "../errors";
import type { Db } from "../db/client";
import type { GitHubGateway } from "../github/gateway";
import type { ShowEvents } from "../show/show-events";
import type { BuildStatus, BuildView, DerivationState } from "../show/views";
import { findQueueEntry, listQueue, setQueueState } from "../intake/intake.repo";
import { ensureWarmClone } from "../workspace/warm-clone";
import { checkoutPullRequest, type CheckoutMode, type CheckoutResult } from "../workspace/checkout-pull-request";
import { chooseTargets } from "../targets/choose-targets";
import { InternalJsonParser, type DerivationStatus, type ParserEvent } from "./parse-internal-json";
import { runNixBuild, type RunningNixBuild } from "./run-nix-build";
import { LogStore } from "./log-store";
import { Semaphore } from "./semaphore";
import {
  createBuild,
  getBuildView,
  hasActiveBuild,
  listBuildViews,
  markInterruptedBuilds,
  saveDerivation,
  updateBuild,
} from "./builds.repo";

export interface BuildSettings {
  nixpkgsDir: string;
  worktreesDir: string;
  nixpkgsGitUrl: string;
  nixBin: string;
  nixSystems: string[];
  nixBuilders: string | null;
  nixSubstituters: string | null;
  maxParallelBuilds: number;
  buildTimeoutSeconds: number;
  maxBuildTargets: number;
  checkoutMode: CheckoutMode;
}

export interface BuildServiceDeps {
  db: Db;
  events: ShowEvents;
  logs: LogStore;
  github: GitHubGateway;
  settings: BuildSettings;
}

export interface StartBuildOptions {
  mode?: CheckoutMode;
  attrs?: string[] | null;
}

/** In-memory state of a build that is in flight; the database holds the rest. */
interface ActiveBuild {
  view: BuildView;
  parser: InternalJsonParser | null;
  process: RunningNixBuild | null;
  cancelled: boolean;
  /** Derivation writes for one build go one after another, in the order they happened. */
  writes: Promise<void>;
  updateTimer: NodeJS.Timeout | null;
}

// The projector needs about two updates a second per build; log lines travel separately.
const UPDATE_INTERVAL_MS = 250;

/** `/nix/store/<hash>-hello-1.1.drv` → `hello-1.1`. */
export function derivationName(drvPath: string): string {
  const base = drvPath.slice(drvPath.lastIndexOf("/") + 1).replace(/\.drv$/, "");
  return base.replace(/^[0-9a-z]{32}-/, "");
}

export class BuildService {
  private readonly active = new Map<number, ActiveBuild>();
  private readonly slots: Semaphore;
  private readonly pipelines = new Set<Promise<void>>();
  /** The warm clone is created (or refreshed) once per process, not before every build. */
  private warmClone: Promise<unknown> | null = null;

  constructor(private readonly deps: BuildServiceDeps) {
    this.slots = new Semaphore(deps.settings.maxParallelBuilds);
  }

  /** Call once at boot, before accepting requests. */
  async recover(): Promise<void> {
    const prs = await markInterruptedBuilds(this.deps.db);
    for (const pr of new Set(prs)) await setQueueState(this.deps.db, pr, "queued");
  }

  /**
   * Creates one build per configured system and returns at once; fetching, choosing attrs and
   * building continue in the background and are reported through ShowEvents.
   */
  async startBuild(prNumber: number, options: StartBuildOptions = {}): Promise<BuildView[]> {
    const { db, settings } = this.deps;
    const entry = await findQueueEntry(db, prNumber);
    if (!entry) throw new AppError("not_found", `PR #${prNumber} is not in the queue; it has to be submitted first.`);
    if (await hasActiveBuild(db, prNumber)) {
      throw new AppError("conflict", `PR #${prNumber} is already building; cancel it first to start again.`);
    }
    const mode = options.mode ?? settings.checkoutMode;
    const ids: number[] = [];
    for (const system of settings.nixSystems) {
      ids.push(await createBuild(db, { queueEntryId: entry.id, prNumber, system, checkoutMode: mode }));
    }
    await setQueueState(db, prNumber, "building");
    this.emitQueue();
    const views: BuildView[] = [];
    for (const id of ids) {
      const view = (await getBuildView(db, id))!;
      this.active.set(id, { view, parser: null, process: null, cancelled: false, writes: Promise.resolve(), updateTimer: null });
      this.deps.events.emit("build-updated", view);
      views.push(view);
    }
    const pipeline = this.runPipeline(prNumber, ids, mode, options.attrs ?? null).finally(() => this.pipelines.delete(pipeline));
    this.pipelines.add(pipeline);
    return views;
  }

  cancel(buildId: number): void {
    const build = this.active.get(buildId);
    if (!build) throw new AppError("not_found", `Build ${buildId} is not running.`);
    build.cancelled = true;
    build.process?.cancel("cancelled by the host");
  }

  /** Builds in flight first, then the most recent finished ones. */
  async listBuilds(take = 20): Promise<BuildView[]> {
    const stored = await listBuildViews(this.deps.db, { take });
    return stored.map((v) => this.active.get(v.id)?.view ?? v);
  }

  async buildsOfPr(prNumber: number): Promise<BuildView[]> {
    const stored = await listBuildViews(this.deps.db, { prNumber });
    return stored.map((v) => this.active.get(v.id)?.view ?? v);
  }

  async getBuild(id: number): Promise<BuildView | null> {
    return this.active.get(id)?.view ?? (await getBuildView(this.deps.db, id));
  }

  /** Resolves when every pipeline started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pipelines.size > 0) await Promise.allSettled([...this.pipelines]);
  }

  async shutdown(): Promise<void> {
    for (const b of this.active.values()) {
      b.cancelled = true;
      b.process?.cancel("server shutting down");
    }
    await this.idle();
  }

  private emitQueue(): void {
    void listQueue(this.deps.db).then((q) => this.deps.events.emit("queue-changed", q));
  }

  private async runPipeline(prNumber: number, ids: number[], mode: CheckoutMode, hostAttrs: string[] | null) {
    let checkout: CheckoutResult;
    let rebuilds: Record<string, string[]> | null = null;
    let titles: string[] = [];
    try {
      const pr = await this.deps.github.fetchPullRequest(prNumber);
      if (pr.merged || pr.state !== "open") {
        throw new AppError("conflict", `PR #${prNumber} is ${pr.merged ? "merged" : "closed"} on GitHub; nothing to build.`);
      }
      this.warmClone ??= ensureWarmClone({ dir: this.deps.settings.nixpkgsDir, gitUrl: this.deps.settings.nixpkgsGitUrl }).catch(
        (error: unknown) => {
          this.warmClone = null;
          throw error;
        },
      );
      await this.warmClone;
      checkout = await checkoutPullRequest({
        warmDir: this.deps.settings.nixpkgsDir,
        worktreesDir: this.deps.settings.worktreesDir,
        gitUrl: this.deps.settings.nixpkgsGitUrl,
        pr: { number: prNumber, headSha: pr.headSha, mergeCommitSha: pr.mergeCommitSha },
        mode,
      });
      [rebuilds, titles] = await Promise.all([
        this.deps.github.fetchRebuildsByPlatform(checkout.headSha).catch(() => null),
        this.deps.github.listCommitTitles(prNumber).catch(() => []),
      ]);
    } catch (error) {
      for (const id of ids) await this.finish(id, "error", { error: describe(error) });
      await this.settleQueue(prNumber);
      return;
    }

    await Promise.all(
      ids.map(async (id) => {
        const build = this.active.get(id)!;
        const system = build.view.system;
        const choice = chooseTargets({
          system,
          rebuildsByPlatform: rebuilds,
          changedFiles: checkout.changedFiles,
          commitTitles: titles,
          hostOverride: hostAttrs,
          cap: this.deps.settings.maxBuildTargets,
        });
        const targets = choice.targets.map((t) => ({ attr: t.attr, source: t.source }));
        Object.assign(build.view, {
          headSha: checkout.headSha,
          targets,
          targetNote: choice.note,
          status: targets.length ? "queued" : "nothing-to-build",
        });
        await updateBuild(this.deps.db, id, {
          headSha: checkout.headSha,
          baseSha: checkout.baseSha,
          checkedOutSha: checkout.checkedOutSha,
          targets,
          targetNote: choice.note,
        });
        if (targets.length === 0) {
          await this.finish(id, "nothing-to-build", {});
          return;
        }
        this.deps.events.emit("build-updated", build.view);
        await this.runNix(id, checkout.worktree, targets.map((t) => t.attr));
      }),
    );
    await this.settleQueue(prNumber);
  }

  private async runNix(id: number, worktree: string, attrs: string[]): Promise<void> {
    const build = this.active.get(id)!;
    const release = await this.slots.acquire();
    try {
      if (build.cancelled) {
        await this.finish(id, "cancelled", { error: "Cancelled by the host before it started." });
        return;
      }
      const startedAt = new Date();
      build.view.status = "running";
      build.view.startedAt = startedAt.toISOString();
      build.parser = new InternalJsonParser();
      await updateBuild(this.deps.db, id, { status: "running", startedAt });
      this.deps.events.emit("build-updated", build.view);

      const { settings } = this.deps;
      const extraArgs = settings.nixSubstituters === null ? [] : ["--option", "substituters", settings.nixSubstituters];
      build.process = runNixBuild({
        cwd: worktree,
        attrs,
        system: build.view.system,
        builders: settings.nixBuilders ?? undefined,
        timeoutMs: settings.buildTimeoutSeconds * 1000,
        nixBin: settings.nixBin,
        extraArgs,
        onLine: (line) => this.handle(id, build.parser!.push(line)),
      });
      const outcome = await build.process.done;
      this.handle(id, build.parser.finish(outcome.exitCode));
      await build.writes;

      const snapshot = build.parser.snapshot();
      const failed = snapshot.derivations.find((d) => d.state === "failed");
      if (outcome.cancelled || build.cancelled) {
        await this.finish(id, "cancelled", { error: "Cancelled by the host." });
      } else if (outcome.timedOut) {
        await this.finish(id, "failed", {
          error: `Timed out after ${settings.buildTimeoutSeconds} s (BUILD_TIMEOUT_SECONDS); nix was stopped.`,
          failedDrv: failed?.name ?? null,
          failedPhase: failed?.phase ?? null,
        });
      } else if (outcome.exitCode === 0 && !failed && !snapshot.evalError) {
        await this.finish(id, "passed", {});
      } else {
        await this.finish(id, "failed", {
          error: snapshot.evalError ?? failed?.error ?? `nix build exited with code ${outcome.exitCode ?? outcome.signal}`,
          failedDrv: failed?.name ?? null,
          failedPhase: failed?.phase ?? null,
        });
      }
    } catch (error) {
      await this.finish(id, "error", { error: describe(error) });
    } finally {
      release();
    }
  }

  private handle(id: number, events: ParserEvent[]): void {
    const build = this.active.get(id);
    if (!build) return;
    for (const event of events) {
      switch (event.type) {
        case "log": {
          const drv = event.drvPath ? derivationName(event.drvPath) : null;
          this.appendLog(id, build, drv, event.line);
          break;
        }
        case "message":
          if (event.level <= 1) this.appendLog(id, build, null, event.text);
          break;
        case "eval-error":
          break;
        case "derivation":
          this.trackDerivation(id, build, event.derivation);
          break;
        case "totals":
          build.view.totals = event.totals;
          break;
      }
    }
    this.scheduleUpdate(build);
  }

  private appendLog(id: number, build: ActiveBuild, drv: string | null, text: string): void {
    const line = this.deps.logs.append(id, drv, text);
    build.view.logLineCount = line.seq;
    build.view.lastLine = text;
    this.deps.events.emit("build-log", { buildId: id, line });
  }

  private trackDerivation(id: number, build: ActiveBuild, d: DerivationStatus): void {
    const view = {
      drvPath: d.drvPath,
      name: d.name,
      state: d.state as DerivationState,
      phase: d.phase,
      machine: d.machine,
      exitCode: d.exitCode,
      error: d.error,
      startedAt: d.startedAt === null ? null : new Date(d.startedAt).toISOString(),
      finishedAt: d.finishedAt === null ? null : new Date(d.finishedAt).toISOString(),
    };
    const index = build.view.derivations.findIndex((x) => x.drvPath === d.drvPath);
    if (index === -1) build.view.derivations.push(view);
    else build.view.derivations[index] = view;
    if (d.state === "running" && d.phase) build.view.currentPhase = `${d.name}: ${d.phase}`;
    const record = { ...d, state: d.state as DerivationState };
    build.writes = build.writes.then(() => saveDerivation(this.deps.db, id, record)).catch(() => undefined);
  }

  private scheduleUpdate(build: ActiveBuild): void {
    if (build.updateTimer) return;
    build.updateTimer = setTimeout(() => {
      build.updateTimer = null;
      this.deps.events.emit("build-updated", build.view);
    }, UPDATE_INTERVAL_MS);
  }

  private async finish(
    id: number,
    status: BuildStatus,
    fields: { error?: string | null; failedDrv?: string | null; failedPhase?: string | null },
  ): Promise<void> {
    const build = this.active.get(id);
    if (build?.updateTimer) clearTimeout(build.updateTimer);
    await build?.writes;
    this.deps.logs.close(id);
    const finishedAt = new Date();
    await updateBuild(this.deps.db, id, {
      status,
      finishedAt,
      error: fields.error ?? null,
      failedDrv: fields.failedDrv ?? null,
      failedPhase: fields.failedPhase ?? null,
      logLineCount: this.deps.logs.count(id),
    });
    const stored = (await getBuildView(this.deps.db, id))!;
    const view: BuildView = {
      ...stored,
      lastLine: build?.view.lastLine ?? null,
      currentPhase: null,
      totals: build?.view.totals && build.view.totals.expected > 0 ? { ...build.view.totals, running: 0 } : stored.totals,
    };
    this.active.delete(id);
    this.deps.events.emit("build-updated", view);
  }

  /** The queue entry takes the verdict of its builds: passed only when every system passed. */
  private async settleQueue(prNumber: number): Promise<void> {
    const builds = await this.buildsOfPr(prNumber);
    const latest = new Map<string, BuildView>();
    for (const b of builds) if (!latest.has(b.system)) latest.set(b.system, b);
    const statuses = [...latest.values()].map((b) => b.status);
    const state = statuses.every((s) => s === "passed") ? "passed" : statuses.some((s) => s === "failed") ? "failed" : "queued";
    await setQueueState(this.deps.db, prNumber, state);
    this.emitQueue();
  }
}

function describe(error: unknown): string {
  if (isAppError(error)) return error.message;
  return `Unexpected error: ${(error as Error)?.message ?? String(error)}`;
}

