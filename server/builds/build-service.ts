import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { AppError, isAppError } from "../errors";
import type { Db } from "../db/client";
import type { GitHubGateway } from "../github/gateway";
import { createLogger } from "../logger";
import type { ShowEvents } from "../show/show-events";
import { FINISHED_BUILD_STATUSES, type BuildStatus, type BuildView, type DerivationState, type TargetView } from "../show/views";
import { findQueueEntry, listQueue, setQueueState } from "../intake/intake.repo";
import { ensureWarmClone } from "../workspace/warm-clone";
import { fetchPullRequestCommits, type CheckoutMode, type PullRequestCommits } from "../workspace/checkout-pull-request";
import { defaultPoolSize, WorktreePool, type WorktreeLease } from "../workspace/worktree-pool";
import { chooseTargets, type Target } from "../targets/choose-targets";
import { InternalJsonParser, type DerivationStatus, type ParserEvent } from "./parse-internal-json";
import { runNixBuild, type RunningNixBuild } from "./run-nix-build";
import { evaluateAttrs, type AttrEvaluation } from "./evaluate-attrs";
import { PASSTHRU_TESTS_SOURCE, type BuildTarget } from "./build-targets";
import { buildReviewReport, type NixpkgsReviewReportJson } from "./nixpkgs-review-report";
import { LogStore } from "./log-store";
import { Semaphore } from "./semaphore";
import {
  createBuild,
  getBuildTargets,
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
  /** Passed as --max-jobs; 0 sends every derivation to NIX_BUILDERS. */
  nixMaxJobs?: number | null;
  nixSubstituters: string | null;
  maxParallelBuilds: number;
  buildTimeoutSeconds: number;
  maxBuildTargets: number;
  checkoutMode: CheckoutMode;
  /** Where each build's report.json and report.md go: `<reportsDir>/build-<id>/`. */
  reportsDir: string;
  /** Reusable worktrees; default max(maxParallelBuilds + 1, 4). */
  worktreePoolSize?: number;
  /** False in a web process that only serves screens (several processes share one database). */
  runsBuilds?: boolean;
  /** GB that must be free next to the warm clone before a PR is fetched; 0 or absent: no check. */
  diskBudgetGb?: number;
  /** Also build each attr's passthru.tests unless startBuild says otherwise; default false. */
  passthruTests?: boolean;
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
  /** Add `<attr>.passthru.tests.*` of every chosen attr (nixpkgs-review's --tests). */
  passthruTests?: boolean;
  /** A subset of NIX_SYSTEMS to build for; all of them when absent. */
  systems?: string[] | null;
}

export interface BuildReport {
  json: NixpkgsReviewReportJson;
  markdown: string;
}

/** The builds started together for one PR (one per system); they share one worktree. */
interface BuildGroup {
  prNumber: number;
  ids: number[];
  /** Aborts the wait for a worktree once every build of the group is stopped. */
  abort: AbortController;
}

/** Why a build was stopped before it finished on its own. */
interface StopRequest {
  status: "cancelled" | "interrupted";
  reason: string;
}

/** In-memory state of a build that is in flight; the database holds the rest. */
interface ActiveBuild {
  view: BuildView;
  group: BuildGroup;
  parser: InternalJsonParser | null;
  process: RunningNixBuild | null;
  stop: StopRequest | null;
  /** Aborts whatever the build waits for (a nix slot, the attribute evaluation) when it is stopped. */
  abort: AbortController;
  /** Derivation writes for one build go one after another, in the order they happened. */
  writes: Promise<void>;
  updateTimer: NodeJS.Timeout | null;
}

// The projector needs about two updates a second per build; log lines travel separately.
const UPDATE_INTERVAL_MS = 250;
const REPORTABLE: readonly BuildStatus[] = ["passed", "failed", "cancelled", "interrupted"];
const SHUTDOWN_REASON = "The server was stopped during this build. Its log is kept; press Build to run it again.";
const EVALUATING = "evaluating attributes";

/** `/nix/store/<hash>-hello-1.1.drv` → `hello-1.1`. */
export function derivationName(drvPath: string): string {
  const base = drvPath.slice(drvPath.lastIndexOf("/") + 1).replace(/\.drv$/, "");
  return base.replace(/^[0-9a-z]{32}-/, "");
}

export class BuildService {
  private readonly active = new Map<number, ActiveBuild>();
  private readonly slots: Semaphore;
  private readonly pool: WorktreePool;
  private readonly pipelines = new Set<Promise<void>>();
  private readonly log = createLogger({ component: "builds" });
  /** The warm clone is created (or refreshed) once per process, not before every build. */
  private warmClone: Promise<unknown> | null = null;

  constructor(private readonly deps: BuildServiceDeps) {
    const { settings } = deps;
    this.slots = new Semaphore(settings.maxParallelBuilds);
    this.pool = new WorktreePool({
      warmDir: settings.nixpkgsDir,
      worktreesDir: settings.worktreesDir,
      size: settings.worktreePoolSize ?? defaultPoolSize(settings.maxParallelBuilds),
    });
  }

  /**
   * Call once at boot, before accepting requests. Builds a previous process left in flight are
   * marked interrupted (their logs stay), and worktrees and refs of earlier runs are cleaned.
   */
  async recover(): Promise<void> {
    const prs = await markInterruptedBuilds(this.deps.db);
    for (const pr of new Set(prs)) await setQueueState(this.deps.db, pr, "queued");
    try {
      await this.pool.clean();
      this.pool.warmUp();
    } catch (error) {
      // A broken warm clone must not stop the show from starting; the first build says what is wrong.
      this.log.warn({ err: error }, "could not clean old worktrees and refs");
    }
  }

  /**
   * Creates one build per configured system and returns at once; fetching, choosing attrs and
   * building continue in the background and are reported through ShowEvents.
   */
  async startBuild(prNumber: number, options: StartBuildOptions = {}): Promise<BuildView[]> {
    const { db, settings } = this.deps;
    if (settings.runsBuilds === false) {
      throw new AppError("unavailable", "This process does not run builds (RUNS_BUILDS=false); open the host console on the show's build process.");
    }
    const entry = await findQueueEntry(db, prNumber);
    if (!entry) throw new AppError("not_found", `PR #${prNumber} is not in the queue; it has to be submitted first.`);
    if (await hasActiveBuild(db, prNumber)) {
      throw new AppError("conflict", `PR #${prNumber} is already building; cancel it first to start again.`);
    }
    const mode = options.mode ?? settings.checkoutMode;
    const unknown = (options.systems ?? []).filter((s) => !settings.nixSystems.includes(s));
    if (unknown.length) {
      throw new AppError("bad_request", `${unknown.join(", ")} is not one of this show's systems (NIX_SYSTEMS: ${settings.nixSystems.join(", ")}).`);
    }
    const systems = options.systems?.length ? settings.nixSystems.filter((s) => options.systems!.includes(s)) : settings.nixSystems;
    const ids: number[] = [];
    for (const system of systems) {
      ids.push(await createBuild(db, { queueEntryId: entry.id, prNumber, system, checkoutMode: mode }));
    }
    await setQueueState(db, prNumber, "building");
    this.emitQueue();
    const group: BuildGroup = { prNumber, ids, abort: new AbortController() };
    const views: BuildView[] = [];
    for (const id of ids) {
      const view = (await getBuildView(db, id))!;
      this.active.set(id, {
        view,
        group,
        parser: null,
        process: null,
        stop: null,
        abort: new AbortController(),
        writes: Promise.resolve(),
        updateTimer: null,
      });
      this.deps.events.emit("build-updated", view);
      views.push(view);
    }
    const withTests = options.passthruTests ?? settings.passthruTests ?? false;
    const pipeline = this.runPipeline(group, mode, options.attrs ?? null, withTests).finally(() => this.pipelines.delete(pipeline));
    this.pipelines.add(pipeline);
    return views;
  }

  /**
   * Stops a build: a waiting one at once, a running one by stopping nix and everything it
   * started. The reason, with when and where it was stopped, is recorded as the build's error.
   */
  cancel(buildId: number, reason = "Cancelled by the host"): void {
    const build = this.active.get(buildId);
    if (!build) throw new AppError("not_found", `Build ${buildId} is not running; it may have finished already.`);
    if (build.stop) return;
    this.stopBuild(build, { status: "cancelled", reason: describeCancel(build.view, reason) });
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

  /**
   * The nixpkgs-review report of a finished build: the one written when it finished, or (for a
   * build from before reports existed, or interrupted by a crash) one made now from what was stored.
   */
  async getReport(id: number): Promise<BuildReport> {
    const view = await this.getBuild(id);
    if (!view) throw new AppError("not_found", `There is no build ${id}.`);
    if (!FINISHED_BUILD_STATUSES.includes(view.status)) {
      throw new AppError("conflict", `Build ${id} is still ${view.status}; its report is written when it finishes.`);
    }
    if (!REPORTABLE.includes(view.status) || view.targets.length === 0) {
      const why = view.status === "nothing-to-build" ? "had nothing to build" : `did not build anything (${view.error ?? view.status})`;
      throw new AppError("not_found", `Build ${id} of PR #${view.prNumber} ${why}, so it has no report.`);
    }
    const dir = this.reportDir(id);
    try {
      const [json, markdown] = await Promise.all([
        readFile(path.join(dir, "report.json"), "utf8"),
        readFile(path.join(dir, "report.md"), "utf8"),
      ]);
      return { json: JSON.parse(json) as NixpkgsReviewReportJson, markdown };
    } catch {
      const report = await this.makeReport([view]);
      await this.saveReport(id, report);
      return report;
    }
  }

  /** Resolves when every pipeline started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pipelines.size > 0) await Promise.allSettled([...this.pipelines]);
  }

  /** Stops every build in flight; each is recorded as interrupted, with its log kept. */
  async shutdown(): Promise<void> {
    for (const build of this.active.values()) {
      if (!build.stop) this.stopBuild(build, { status: "interrupted", reason: SHUTDOWN_REASON });
    }
    await this.idle();
    await this.pool.settled();
  }

  private stopBuild(build: ActiveBuild, stop: StopRequest): void {
    build.stop = stop;
    build.abort.abort(new AppError("conflict", stop.reason));
    build.process?.cancel(stop.reason);
    const group = build.group;
    if (group.ids.every((id) => !this.active.has(id) || this.active.get(id)!.stop)) {
      group.abort.abort(new AppError("conflict", stop.reason));
    }
  }

  private emitQueue(): void {
    void listQueue(this.deps.db, { includeHidden: true }).then((q) => this.deps.events.emit("queue-changed", q));
  }

  private ensureWarmClone(): Promise<unknown> {
    this.warmClone ??= ensureWarmClone({ dir: this.deps.settings.nixpkgsDir, gitUrl: this.deps.settings.nixpkgsGitUrl }).catch(
      (error: unknown) => {
        this.warmClone = null;
        throw error;
      },
    );
    return this.warmClone;
  }

  private async runPipeline(group: BuildGroup, mode: CheckoutMode, hostAttrs: string[] | null, withTests: boolean): Promise<void> {
    const { prNumber, ids } = group;
    const { settings } = this.deps;
    let commits: PullRequestCommits;
    let rebuilds: Record<string, string[]> | null = null;
    let titles: string[] = [];
    try {
      const pr = await this.deps.github.fetchPullRequest(prNumber);
      if (pr.merged || pr.state !== "open") {
        throw new AppError("conflict", `PR #${prNumber} is ${pr.merged ? "merged" : "closed"} on GitHub; nothing to build.`);
      }
      await this.ensureWarmClone();
      commits = await fetchPullRequestCommits({
        warmDir: settings.nixpkgsDir,
        gitUrl: settings.nixpkgsGitUrl,
        pr: { number: prNumber, headSha: pr.headSha, mergeCommitSha: pr.mergeCommitSha },
        mode,
        diskBudgetGb: settings.diskBudgetGb,
      });
      [rebuilds, titles] = await Promise.all([
        this.deps.github.fetchRebuildsByPlatform(commits.headSha).catch(() => null),
        this.deps.github.listCommitTitles(prNumber).catch(() => []),
      ]);
    } catch (error) {
      for (const id of ids) await this.finish(id, "error", { error: describe(error) });
      await this.settleQueue(prNumber);
      return;
    }

    const toBuild: Array<{ id: number; targets: Target[] }> = [];
    for (const id of ids) {
      const build = this.active.get(id);
      if (!build) continue;
      if (build.stop) {
        await this.finishStopped(id);
        continue;
      }
      const choice = chooseTargets({
        system: build.view.system,
        rebuildsByPlatform: rebuilds,
        changedFiles: commits.changedFiles,
        commitTitles: titles,
        hostOverride: hostAttrs,
        cap: settings.maxBuildTargets,
      });
      const targets: BuildTarget[] = choice.targets.map((t) => ({ attr: t.attr, source: t.source, drvPath: null, check: null }));
      Object.assign(build.view, {
        headSha: commits.headSha,
        targets: targets.map(targetView),
        targetNote: choice.note,
        status: targets.length ? "queued" : "nothing-to-build",
      });
      await updateBuild(this.deps.db, id, {
        ...(targets.length ? { status: "queued" as const } : {}),
        headSha: commits.headSha,
        baseSha: commits.baseSha,
        checkedOutSha: commits.checkedOutSha,
        targets,
        targetNote: choice.note,
      });
      if (targets.length === 0) {
        await this.finish(id, "nothing-to-build", {});
        continue;
      }
      this.deps.events.emit("build-updated", build.view);
      toBuild.push({ id, targets: choice.targets });
    }

    if (toBuild.length > 0) {
      // Attrs are chosen before a worktree is taken: a PR waiting its turn holds none.
      let lease: WorktreeLease | null = null;
      try {
        lease = await this.pool.acquire(prNumber, group.abort.signal);
        await this.pool.checkout(lease, commits.checkedOutSha);
        const worktree = lease.path;
        await Promise.all(toBuild.map((b) => this.runNix(b.id, worktree, b.targets, withTests)));
      } catch (error) {
        for (const { id } of toBuild) {
          if (this.active.get(id)?.stop) await this.finishStopped(id);
          else await this.finish(id, "error", { error: describe(error) });
        }
      } finally {
        lease?.release();
      }
    }
    await this.settleQueue(prNumber);
    await this.writeReports(group);
  }

  private async runNix(id: number, worktree: string, chosen: Target[], withTests: boolean): Promise<void> {
    const build = this.active.get(id)!;
    let release: () => void;
    try {
      release = await this.slots.acquire(build.abort.signal);
    } catch {
      await this.finishStopped(id);
      return;
    }
    try {
      if (build.stop) {
        await this.finishStopped(id);
        return;
      }
      const { settings } = this.deps;
      const timeoutMs = settings.buildTimeoutSeconds * 1000;
      const deadline = Date.now() + timeoutMs;
      const startedAt = new Date();
      build.view.status = "running";
      build.view.startedAt = startedAt.toISOString();
      build.view.currentPhase = EVALUATING;
      await updateBuild(this.deps.db, id, { status: "running", startedAt });
      this.deps.events.emit("build-updated", build.view);

      const evaluation = await evaluateAttrs({
        cwd: worktree,
        attrs: chosen.map((t) => t.attr),
        system: build.view.system,
        withTests,
        timeoutMs,
        nixBin: settings.nixBin,
        signal: build.abort.signal,
      }).catch((error: unknown) => {
        // Without the evaluation nix builds every chosen attr and reports what fails itself.
        if (!build.stop) this.log.warn({ err: error, buildId: id }, "could not evaluate the attributes before building");
        return null;
      });
      if (stopOf(build)) {
        await this.finishStopped(id);
        return;
      }
      const { targets, note, buildable } = applyEvaluation(chosen, evaluation, build.view.targetNote, settings.maxBuildTargets);
      Object.assign(build.view, { targets: targets.map(targetView), targetNote: note, currentPhase: null });
      await updateBuild(this.deps.db, id, { targets, targetNote: note });
      if (buildable.length === 0) {
        await this.finish(id, "nothing-to-build", {});
        return;
      }
      this.deps.events.emit("build-updated", build.view);
      if (Date.now() >= deadline) {
        await this.finish(id, "failed", { error: timeoutMessage(settings.buildTimeoutSeconds) });
        return;
      }

      build.parser = new InternalJsonParser();
      const extraArgs = settings.nixSubstituters === null ? [] : ["--option", "substituters", settings.nixSubstituters];
      build.process = runNixBuild({
        cwd: worktree,
        attrs: buildable,
        system: build.view.system,
        builders: settings.nixBuilders ?? undefined,
        maxJobs: settings.nixMaxJobs ?? undefined,
        timeoutMs: Math.max(1, deadline - Date.now()),
        nixBin: settings.nixBin,
        extraArgs,
        onLine: (line) => this.handle(id, build.parser!.push(line)),
      });
      const outcome = await build.process.done;
      this.handle(id, build.parser.finish(outcome.exitCode));
      await build.writes;

      const snapshot = build.parser.snapshot();
      const failed = snapshot.derivations.find((d) => d.state === "failed");
      const where = { failedDrv: failed?.name ?? null, failedPhase: failed?.phase ?? null };
      const stop = stopOf(build);
      if (stop) {
        await this.finish(id, stop.status, { error: stop.reason, ...where });
      } else if (outcome.timedOut) {
        await this.finish(id, "failed", { error: timeoutMessage(settings.buildTimeoutSeconds), ...where });
      } else if (outcome.cancelled) {
        await this.finish(id, "error", { error: `The build was stopped: ${outcome.cancelReason ?? "unknown reason"}.`, ...where });
      } else if (outcome.exitCode === 0 && !failed && !snapshot.evalError) {
        await this.finish(id, "passed", {});
      } else {
        await this.finish(id, "failed", {
          error: snapshot.evalError ?? failed?.error ?? `nix build exited with code ${outcome.exitCode ?? outcome.signal}`,
          ...where,
        });
      }
    } catch (error) {
      if (build.stop) await this.finishStopped(id);
      else await this.finish(id, "error", { error: describe(error) });
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
    // Past the log cap the line is not stored, but the projector still shows the latest one.
    build.view.lastLine = text;
    if (!line) return;
    build.view.logLineCount = line.seq;
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

  private finishStopped(id: number): Promise<void> {
    const stop = this.active.get(id)?.stop ?? { status: "cancelled" as const, reason: "Cancelled." };
    return this.finish(id, stop.status, { error: stop.reason });
  }

  /** Records a build's end once; later calls for the same build do nothing. */
  private async finish(
    id: number,
    status: BuildStatus,
    fields: { error?: string | null; failedDrv?: string | null; failedPhase?: string | null },
  ): Promise<void> {
    const build = this.active.get(id);
    if (!build) return;
    this.active.delete(id);
    if (build.updateTimer) clearTimeout(build.updateTimer);
    await build.writes;
    // Past the cap, the log's last lines are written now; they are broadcast like any other.
    for (const line of this.deps.logs.close(id)) this.deps.events.emit("build-log", { buildId: id, line });
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
      lastLine: build.view.lastLine,
      currentPhase: null,
      totals: build.view.totals.expected > 0 ? { ...build.view.totals, running: 0 } : stored.totals,
    };
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

  private reportDir(id: number): string {
    return path.join(this.deps.settings.reportsDir, `build-${id}`);
  }

  /** The report of builds of one PR, from their views and their stored, evaluated targets. */
  private async makeReport(views: BuildView[]): Promise<BuildReport> {
    const builds = await Promise.all(views.map(async (v) => ({ ...v, targets: await getBuildTargets(this.deps.db, v.id) })));
    const first = builds[0]!;
    return buildReviewReport({
      prNumber: first.prNumber,
      headSha: first.headSha ?? "",
      checkoutMode: first.checkoutMode,
      builds,
      logTail: (buildId, drvName, lines) => this.deps.logs.tail(buildId, drvName, lines).map((l) => l.text),
    });
  }

  private async saveReport(id: number, report: BuildReport): Promise<void> {
    const dir = this.reportDir(id);
    await mkdir(dir, { recursive: true });
    // Written aside and renamed, so a reader never sees half a report.
    for (const [name, content] of [
      ["report.json", `${JSON.stringify(report.json, null, 4)}\n`],
      ["report.md", report.markdown],
    ] as const) {
      await writeFile(path.join(dir, `${name}.partial`), content);
      await rename(path.join(dir, `${name}.partial`), path.join(dir, name));
    }
  }

  /** One report for the systems built together, saved under each of their builds. */
  private async writeReports(group: BuildGroup): Promise<void> {
    try {
      const views = (await Promise.all(group.ids.map((id) => getBuildView(this.deps.db, id)))).filter(
        (v): v is BuildView => v !== null && REPORTABLE.includes(v.status) && v.targets.length > 0,
      );
      if (views.length === 0) return;
      const report = await this.makeReport(views);
      for (const view of views) await this.saveReport(view.id, report);
    } catch (error) {
      this.log.error({ err: error, prNumber: group.prNumber }, "could not write the build report");
    }
  }
}

/**
 * The chosen targets with what evaluation found: each one's derivation or why it cannot be
 * built, plus passthru.tests when asked for. Without an evaluation, every target is built.
 */
function applyEvaluation(
  chosen: Target[],
  evaluation: AttrEvaluation[] | null,
  choiceNote: string | null,
  cap: number,
): { targets: BuildTarget[]; note: string; buildable: string[] } {
  if (evaluation === null) {
    return {
      targets: chosen.map((t) => ({ attr: t.attr, source: t.source, drvPath: null, check: null })),
      note: choiceNote ?? "",
      buildable: chosen.map((t) => t.attr),
    };
  }
  const targets: BuildTarget[] = chosen.map((t, i) => ({
    attr: t.attr,
    source: t.source,
    drvPath: evaluation[i]?.drvPath ?? null,
    check: evaluation[i]?.check ?? null,
  }));
  const tests = [...new Map(evaluation.flatMap((e) => e.tests).map((t) => [t.attr, t])).values()];
  for (const test of tests.slice(0, cap)) {
    targets.push({ attr: test.attr, source: PASSTHRU_TESTS_SOURCE, drvPath: test.drvPath, check: test.check });
  }
  const missing = targets.filter((t) => t.check === "non-existent").map((t) => t.attr);
  const broken = targets.filter((t) => t.check === "broken").map((t) => t.attr);
  const buildable = targets.filter((t) => t.check === "ok").map((t) => t.attr);
  const details = [
    ...(tests.length > 0 ? [`+ ${count(Math.min(tests.length, cap), "passthru test")}${tests.length > cap ? ` (${tests.length - cap} more over the cap of ${cap})` : ""}`] : []),
    ...(missing.length > 0 ? [`skipped ${count(missing.length, "attr")} not found in the checkout: ${list(missing)}`] : []),
    ...(broken.length > 0 ? [`skipped ${count(broken.length, "attr")} that fail to evaluate (broken): ${list(broken)}`] : []),
  ];
  if (buildable.length === 0) {
    return { targets, note: `nothing to build — ${details.join("; ")}; host, pick attrs`, buildable };
  }
  return { targets, note: [choiceNote, ...details].filter(Boolean).join("; "), buildable };
}

function targetView(t: BuildTarget): TargetView {
  return { attr: t.attr, source: t.source };
}

/** Read through a call: a stop arrives while the pipeline awaits, which TypeScript's narrowing cannot see. */
function stopOf(build: ActiveBuild): StopRequest | null {
  return build.stop;
}

function describeCancel(view: BuildView, reason: string): string {
  if (view.status !== "running" || view.startedAt === null) return `${reason} before nix started.`;
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(view.startedAt)) / 1000));
  const during = view.currentPhase ? `, during ${view.currentPhase}` : "";
  return `${reason} after ${seconds} s${during}; nix was stopped.`;
}

function timeoutMessage(seconds: number): string {
  return `Timed out after ${seconds} s (BUILD_TIMEOUT_SECONDS); nix was stopped.`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function list(names: string[]): string {
  const shown = names.slice(0, 3).map((n) => `“${n}”`);
  return shown.join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");
}

function describe(error: unknown): string {
  if (isAppError(error)) return error.message;
  return `Unexpected error: ${(error as Error)?.message ?? String(error)}`;
}
