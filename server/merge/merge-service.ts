import { awardPoints } from "../show/game.repo";
import { AppError, isAppError } from "../errors";
import type { Db } from "../db/client";
import { listQueue } from "../intake/intake.repo";
import { createLogger } from "../logger";
import type { BuildView, LogLine, QueueItemView } from "../show/views";
import { evaluateChecklist, gatherChecklistFacts, latestBuildPerSystem, builtHeadSha, type ChecklistFacts } from "./checklist";
import { answerOfError, toMergeAppError, type CallContext, type GitHubAnswer } from "./github-answers";
import type { Written } from "./github-merge-api";
import { MaintainerRegistry, maintainerView, type Maintainer } from "./maintainers";
import {
  followableAttempts,
  listMergeAttempts,
  markQueueEntryMerged,
  queueEntryFacts,
  recordMergeAttempt,
  submitterDevices,
  type NewMergeAttempt,
} from "./merge.repo";
import type { ChecklistRequest, MergeRequest, ResultCommentRequest } from "./requests";
import { writeResultComment, type PostedComment, type ResultCommentDeps } from "./result-comment";
import type { ChecklistView, DeviceLoginView, MergePanelView, MergeQueueState, MergeView } from "./views";

/**
 * Approve-and-merge, the way nixpkgs merges: a signed-in maintainer's click re-checks everything
 * against GitHub, posts the stage's result comment, approves, and then enqueues the built head
 * SHA (or turns on auto-merge while `no PR failures` is pending; a plain REST merge only where the
 * branch has no merge queue). The PR is followed until GitHub says it is merged; then its
 * submitters score and `merge-updated` (state "merged") lets the projector and chat celebrate.
 */
export const MERGE_POINTS = 100;
export const MERGE_POINTS_REASON = "submitted-pr-merged";
const DEFAULT_WATCH_INTERVAL_MS = 5_000;
/** After a restart, PRs enqueued this recently are followed again. */
const FOLLOW_AFTER_RESTART_MS = 24 * 3600_000;
const KEEP_FINISHED_MERGES = 20;

/** The show events this service emits; server/show/show-events.ts's ShowEvents fits. */
export interface MergeEvents {
  emit(event: "merge-updated", view: MergeView): unknown;
  emit(event: "queue-changed", queue: QueueItemView[]): unknown;
}

export interface MergeServiceDeps {
  db: Db;
  events: MergeEvents;
  github: {
    /** REST and GraphQL root (GITHUB_API_URL). */
    apiUrl: string;
    /** The web host, where the OAuth device flow lives (GITHUB_URL). */
    webUrl: string;
    repo: string;
    /** GITHUB_OAUTH_CLIENT_ID; null turns maintainer sign-in off. */
    clientId: string | null;
    /** GITHUB_MAINTAINER_TOKEN: a maintainer usable from every host session, without signing in. */
    envToken: string | null;
  };
  builds: { buildsOfPr(prNumber: number): Promise<BuildView[]> };
  logs: { read(buildId: number, fromSeq?: number, limit?: number): LogLine[] };
  options?: {
    /** How often a queued PR's state is read from GitHub; default 5 s. */
    watchIntervalMs?: number;
    fetch?: typeof globalThis.fetch;
    now?: () => number;
  };
}

/**
 * Points for a merged PR, once per device: every device whose submission of the PR was accepted
 * (queued or duplicate). Predictors get nothing more: their bet was on the build, scored with the
 * verdict. Returns how many devices scored now.
 */
export async function awardMergePoints(db: Db, prNumber: number): Promise<number> {
  let awarded = 0;
  for (const deviceToken of await submitterDevices(db, prNumber)) {
    if (await awardPoints(db, deviceToken, MERGE_POINTS_REASON, prNumber, MERGE_POINTS)) awarded += 1;
  }
  return awarded;
}

function queueMessage(position: number | null, state: MergeQueueState | null): string {
  const where = position === null ? "In the merge queue" : `In the merge queue at position ${position}`;
  const what: Record<MergeQueueState, string> = {
    QUEUED: "waiting for its turn",
    AWAITING_CHECKS: "checks are running on the merge group",
    MERGEABLE: "checks passed, about to merge",
    UNMERGEABLE: "a check failed in the queue",
    LOCKED: "the queue is locked",
  };
  return state ? `${where}: ${what[state]}.` : `${where}.`;
}

const AUTO_MERGE_MESSAGE = "Auto-merge is on: GitHub puts it in the merge queue as soon as “no PR failures” is green.";

export class MergeService {
  private readonly registry: MaintainerRegistry;
  private readonly log = createLogger({ component: "merge" });
  private readonly views = new Map<number, MergeView>();
  private readonly busy = new Set<number>();
  private readonly following = new Map<number, NodeJS.Timeout>();
  private readonly watchIntervalMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: MergeServiceDeps) {
    this.now = deps.options?.now ?? Date.now;
    this.watchIntervalMs = deps.options?.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    this.registry = new MaintainerRegistry({
      ...deps.github,
      fetch: deps.options?.fetch,
      now: this.now,
      // Octokit logs every non-2xx answer as an error; here they are ordinary answers, mapped for the stage.
      log: {
        debug: (msg) => this.log.debug(msg),
        info: (msg) => this.log.debug(msg),
        warn: (msg) => this.log.warn(msg),
        error: (msg) => this.log.debug(msg),
      },
    });
  }

  private get commentDeps(): ResultCommentDeps {
    return { db: this.deps.db, builds: this.deps.builds, logs: this.deps.logs };
  }

  // ---- maintainers ---------------------------------------------------------------------------

  async panel(hostSessionId: string): Promise<MergePanelView> {
    const maintainers = await this.registry.list(hostSessionId);
    return {
      deviceFlowEnabled: this.registry.deviceFlowEnabled,
      deviceFlowNote: this.registry.note(),
      repo: this.deps.github.repo,
      maintainers: maintainers.map(maintainerView),
      deviceLogins: this.registry.deviceLogins(hostSessionId),
      merges: this.merges(),
      attempts: await listMergeAttempts(this.deps.db, { take: 30 }),
    };
  }

  startDeviceLogin(hostSessionId: string): Promise<DeviceLoginView> {
    return this.registry.startDeviceLogin(hostSessionId);
  }

  pollDeviceLogin(hostSessionId: string, id: string): Promise<DeviceLoginView> {
    return this.registry.pollDeviceLogin(hostSessionId, id);
  }

  signOut(hostSessionId: string, login: string): void {
    this.registry.signOut(hostSessionId, login);
  }

  // ---- checklist and merge -------------------------------------------------------------------

  async checklist(hostSessionId: string, req: ChecklistRequest): Promise<ChecklistView> {
    const maintainer = await this.registry.find(hostSessionId, req.maintainer);
    const checked = await this.check(maintainer, req.pr);
    if ("error" in checked) throw checked.error;
    return checked.view;
  }

  async merge(hostSessionId: string, req: MergeRequest): Promise<MergeView> {
    const maintainer = await this.registry.find(hostSessionId, req.maintainer);
    if (this.busy.has(req.pr)) throw new AppError("conflict", `A merge of #${req.pr} is already under way; wait for it to finish.`);
    this.busy.add(req.pr);
    try {
      return await this.mergeAs(maintainer, req);
    } finally {
      this.busy.delete(req.pr);
    }
  }

  async postResultComment(hostSessionId: string, req: ResultCommentRequest): Promise<PostedComment> {
    const maintainer = await this.registry.find(hostSessionId, req.maintainer);
    try {
      const posted = await writeResultComment(this.commentDeps, maintainer.api, req.pr);
      const view = this.views.get(req.pr);
      if (view) this.update(view, { resultCommentUrl: posted.url });
      return posted;
    } catch (error) {
      throw this.mapped(error, maintainer, { action: "comment on", prNumber: req.pr });
    }
  }

  /** Merges GitHub is working on and the last ones it finished, newest first. */
  merges(): MergeView[] {
    return [...this.views.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  /**
   * Call once at boot: follows again the PRs enqueued (or set to auto-merge) recently. What
   * GitHub finished while the server was down is recorded (points, queue) without a celebration.
   */
  async resume(): Promise<void> {
    const since = new Date(this.now() - FOLLOW_AFTER_RESTART_MS);
    for (const attempt of await followableAttempts(this.deps.db, since)) {
      if (this.views.has(attempt.prNumber)) continue;
      const entry = await queueEntryFacts(this.deps.db, attempt.prNumber);
      const builds = await this.deps.builds.buildsOfPr(attempt.prNumber);
      const at = new Date(this.now()).toISOString();
      this.views.set(attempt.prNumber, {
        prNumber: attempt.prNumber,
        title: entry?.title ?? null,
        author: entry?.author ?? null,
        baseRef: entry?.baseRef ?? "master",
        maintainer: attempt.maintainer,
        headSha: attempt.headSha,
        method: attempt.method === "enqueue" ? "enqueue" : "auto-merge",
        state: attempt.method === "enqueue" ? "queued" : "auto-merge",
        queuePosition: null,
        queueState: null,
        message: `Following #${attempt.prNumber} again after a restart; sign a maintainer in if nobody is.`,
        submitters: builds[0]?.submitters ?? [],
        resultCommentUrl: null,
        startedAt: attempt.createdAt,
        updatedAt: at,
      });
      this.follow(attempt.prNumber, { quietFirst: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.following.values()) clearTimeout(timer);
    this.following.clear();
  }

  /** Runs the checklist against GitHub; a failed GitHub call comes back with its answer for the audit. */
  private async check(
    maintainer: Maintainer,
    prNumber: number,
  ): Promise<{ view: ChecklistView; facts: ChecklistFacts } | { error: AppError; answer: GitHubAnswer; builds: BuildView[] }> {
    const builds = await this.deps.builds.buildsOfPr(prNumber);
    try {
      const facts = await gatherChecklistFacts(maintainer.api, {
        prNumber,
        repo: this.deps.github.repo,
        login: maintainer.login,
        builds,
        now: () => new Date(this.now()),
      });
      maintainer.canPush = facts.maintainer.canPush;
      return { view: evaluateChecklist(facts), facts };
    } catch (error) {
      return { error: this.mapped(error, maintainer, { action: "check", prNumber }), answer: answerOfError(error), builds };
    }
  }

  private async mergeAs(maintainer: Maintainer, req: MergeRequest): Promise<MergeView> {
    const prNumber = req.pr;
    const checked = await this.check(maintainer, prNumber);
    if ("error" in checked) {
      await this.audit({
        prNumber,
        headSha: builtHeadSha(checked.builds) ?? "",
        maintainer: maintainer.login,
        method: "checklist",
        outcome: "error",
        githubStatus: checked.answer.status,
        message: checked.error.message,
        response: checked.answer.body,
      });
      throw checked.error;
    }
    const { view: checklist, facts } = checked;
    if (!checklist.ready || checklist.builtSha === null || checklist.method === null) {
      const failing = checklist.lines.filter((l) => !l.ok);
      const message = `Not merged: ${failing.map((l) => l.reason).join(" ")}`;
      await this.audit({
        prNumber,
        headSha: checklist.builtSha ?? "",
        maintainer: maintainer.login,
        method: "checklist",
        outcome: "refused",
        githubStatus: null,
        message,
        response: JSON.stringify(failing.map(({ key, reason }) => ({ key, reason }))),
      });
      throw new AppError(failing.some((l) => l.key === "head") ? "head_moved" : "conflict", message);
    }
    const sha = checklist.builtSha;
    const method = checklist.method;
    const call = <T>(action: NewMergeAttempt["method"], verb: string, fn: () => Promise<Written<T>>) =>
      this.call(maintainer, { prNumber, sha, baseRef: facts.pr.baseRef, method: action, verb }, fn);

    // The result goes on the PR first, as nixpkgs-review does; the merge does not wait on it.
    let resultCommentUrl: string | null = null;
    let commentProblem = "";
    try {
      resultCommentUrl = (await writeResultComment(this.commentDeps, maintainer.api, prNumber)).url;
    } catch (error) {
      const mapped = this.mapped(error, maintainer, { action: "comment on", prNumber });
      commentProblem = ` (The result comment was not posted: ${mapped.message})`;
      this.log.warn({ prNumber, err: error }, "result comment failed");
    }

    if (req.approve) {
      const systems = latestBuildPerSystem(facts.builds).map((b) => b.system).join(", ");
      await call("approve", "approve", () =>
        maintainer.api.approve(prNumber, sha, `Built live on stage at ${sha.slice(0, 7)}: passed on ${systems}. Approved by @${maintainer.login}.`),
      );
    }

    const base = {
      prNumber,
      title: facts.pr.title,
      author: facts.pr.author,
      baseRef: facts.pr.baseRef,
      maintainer: maintainer.login,
      headSha: sha,
      method,
      submitters: facts.builds[0]?.submitters ?? [],
      resultCommentUrl,
      startedAt: new Date(this.now()).toISOString(),
    };
    switch (method) {
      case "enqueue": {
        const entry = await call("enqueue", "enqueue", () => maintainer.api.enqueue(facts.pr.nodeId, sha));
        const view = this.track({ ...base, state: "queued", queuePosition: entry.position, queueState: entry.state, message: queueMessage(entry.position, entry.state) + commentProblem });
        this.follow(prNumber);
        return view;
      }
      case "auto-merge": {
        await call("auto-merge", "turn on auto-merge for", () => maintainer.api.enableAutoMerge(facts.pr.nodeId, sha));
        const view = this.track({ ...base, state: "auto-merge", queuePosition: null, queueState: null, message: AUTO_MERGE_MESSAGE + commentProblem });
        this.follow(prNumber);
        return view;
      }
      case "rest-merge": {
        await call("rest-merge", "merge", () => maintainer.api.restMerge(prNumber, sha));
        const view = this.track({ ...base, state: "queued", queuePosition: null, queueState: null, message: "Merging…" }, { emit: false });
        return this.onMerged(view, { celebrate: true });
      }
    }
  }

  /** One write to GitHub, audited whatever it answers. */
  private async call<T>(
    maintainer: Maintainer,
    ctx: { prNumber: number; sha: string; baseRef: string; method: string; verb: string },
    fn: () => Promise<Written<T>>,
  ): Promise<T> {
    const record = { prNumber: ctx.prNumber, headSha: ctx.sha, maintainer: maintainer.login, method: ctx.method };
    try {
      const { value, answer } = await fn();
      await this.audit({ ...record, outcome: "ok", githubStatus: answer.status, message: `GitHub accepted: ${ctx.verb} #${ctx.prNumber}.`, response: answer.body });
      return value;
    } catch (error) {
      const answer = answerOfError(error);
      const mapped = this.mapped(error, maintainer, { action: ctx.verb, prNumber: ctx.prNumber, baseRef: ctx.baseRef });
      const refused = answer.status !== null && answer.status < 500;
      await this.audit({ ...record, outcome: refused ? "refused" : "error", githubStatus: answer.status, message: mapped.message, response: answer.body });
      throw mapped;
    }
  }

  private mapped(error: unknown, maintainer: Maintainer, ctx: Omit<CallContext, "login" | "repo">): AppError {
    const mapped = toMergeAppError(error, { ...ctx, login: maintainer.login, repo: this.deps.github.repo }, this.now());
    // A 401 means the token is dead: nobody should try it again.
    if (mapped.code === "unauthorized" && !isAppError(error)) this.registry.forget(maintainer);
    return mapped;
  }

  private async audit(attempt: NewMergeAttempt): Promise<void> {
    await recordMergeAttempt(this.deps.db, attempt);
  }

  // ---- following the PR into master ----------------------------------------------------------

  private track(fields: Omit<MergeView, "updatedAt">, opts: { emit?: boolean } = {}): MergeView {
    const view: MergeView = { ...fields, updatedAt: new Date(this.now()).toISOString() };
    this.views.set(view.prNumber, view);
    this.trim();
    if (opts.emit !== false) this.deps.events.emit("merge-updated", view);
    return view;
  }

  private update(view: MergeView, patch: Partial<MergeView>, opts: { emit?: boolean } = {}): MergeView {
    const changed = (Object.keys(patch) as Array<keyof MergeView>).some((k) => patch[k] !== view[k]);
    if (!changed) return view;
    return this.track({ ...view, ...patch }, opts);
  }

  private trim(): void {
    const finished = [...this.views.values()].filter((v) => v.state === "merged" || v.state === "dequeued");
    finished.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
    for (const v of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED_MERGES))) this.views.delete(v.prNumber);
  }

  private follow(prNumber: number, opts: { quietFirst?: boolean } = {}): void {
    if (this.following.has(prNumber) || this.closed) return;
    let quiet = opts.quietFirst ?? false;
    const step = async () => {
      let again = true;
      try {
        again = await this.observe(prNumber, quiet);
      } catch (error) {
        this.log.error({ prNumber, err: error }, "following a merge failed");
      }
      quiet = false;
      this.following.delete(prNumber);
      if (again && !this.closed) this.following.set(prNumber, setTimeout(() => void step(), this.watchIntervalMs));
    };
    this.following.set(prNumber, setTimeout(() => void step(), this.watchIntervalMs));
  }

  /** Reads the PR's merge state once; false when there is nothing left to follow. */
  private async observe(prNumber: number, quiet: boolean): Promise<boolean> {
    const view = this.views.get(prNumber);
    if (!view || view.state === "merged" || view.state === "dequeued") return false;
    const reader = await this.registry.reader(view.maintainer);
    if (!reader) {
      this.update(view, { message: `Nobody is signed in to ask GitHub about #${prNumber}: sign a maintainer in to follow it.` });
      return true;
    }
    let facts;
    try {
      facts = await reader.api.queueEntry(prNumber);
    } catch (error) {
      const mapped = this.mapped(error, reader, { action: "follow", prNumber });
      this.update(view, { message: `${mapped.message} Asking again shortly.` });
      return true;
    }
    if (facts.merged) {
      await this.onMerged(view, { celebrate: !quiet });
      return false;
    }
    if (facts.entry) {
      this.update(view, { state: "queued", queuePosition: facts.entry.position, queueState: facts.entry.state, message: queueMessage(facts.entry.position, facts.entry.state) });
      return true;
    }
    if (facts.autoMergeEnabled) {
      this.update(view, { state: "auto-merge", queuePosition: null, queueState: null, message: AUTO_MERGE_MESSAGE });
      return true;
    }
    const why =
      facts.state === "CLOSED"
        ? `#${prNumber} was closed on GitHub without being merged.`
        : view.state === "queued"
          ? `GitHub took #${prNumber} out of the merge queue without merging it (a check failed on the merge group, or someone removed it). Look at the PR, rebuild if it changed, and try again.`
          : `Auto-merge of #${prNumber} was turned off on GitHub before it went in. Look at the PR and try again.`;
    this.update(view, { state: "dequeued", queuePosition: null, queueState: null, message: why });
    return false;
  }

  /** GitHub says merged: points first (so the celebration's scoreboard has them), then the moment (not after a restart). */
  private async onMerged(view: MergeView, opts: { celebrate: boolean }): Promise<MergeView> {
    const { db } = this.deps;
    await awardMergePoints(db, view.prNumber);
    if (await markQueueEntryMerged(db, view.prNumber)) {
      this.deps.events.emit("queue-changed", await listQueue(db, { includeHidden: true }));
    }
    const via = view.method === "rest-merge" ? "" : " through the merge queue";
    return this.track(
      { ...view, state: "merged", queuePosition: null, queueState: null, message: `Merged into ${view.baseRef}${via}, approved by @${view.maintainer}.` },
      { emit: opts.celebrate },
    );
  }
}

export function createMergeService(deps: MergeServiceDeps): MergeService {
  return new MergeService(deps);
}
