/**
 * Turns the stderr of `nix build --log-format internal-json -v` into what the projector shows:
 * one status per derivation (state, phase, last log lines, why it failed), build totals, nix's
 * own messages and evaluation errors. Pure and stateful: feed it lines, it returns events.
 *
 * Nix never says "this build failed" in a structured record. Failures arrive as level-0 `msg`
 * texts whose wording differs between Nix 2.3, 2.8, current Nix and Lix, and nix 2.8 keeps the
 * build activity of a requested derivation open until the whole command ends. So the parser
 * also reads the counters of the "builds" activity to settle a finished build as soon as the
 * counters make its verdict unambiguous, and corrects a verdict when a failure message names it.
 *
 * A build on a remote builder (`ssh-ng://`) is one build activity naming the machine, and inside
 * it the builder's own activities, forwarded as they are: its "builds" counters and a second
 * build activity for the same derivation with machine "" (local to the builder). Nix 2.8 gives
 * them no parent, so they are recognised by arriving while the outer ones are still open.
 */

export type DerivationState = "planned" | "running" | "built" | "substituted" | "failed" | "dependency-failed";

export interface DerivationStatus {
  /** The `.drv` path; for a download (kind "substitute") the store path being fetched. */
  drvPath: string;
  /** Name from the store path, e.g. "hello-1.1". */
  name: string;
  kind: "build" | "substitute";
  state: DerivationState;
  phase: string | null;
  /** "" = local; otherwise the remote builder or the substituter URI. */
  machine: string;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  /** Nix's reason, e.g. "builder for '…-hello-1.1.drv' failed with exit code 1". */
  error: string | null;
  /** The log line that most likely explains a failure (ANSI stripped), for a one-line verdict. */
  errorLine: string | null;
  /** The last 20 log lines, as the builder printed them. */
  lastLines: string[];
}

export interface BuildTotals {
  done: number;
  expected: number;
  running: number;
  failed: number;
}

export type ParserEvent =
  | { type: "log"; drvPath: string | null; line: string }
  | { type: "derivation"; derivation: DerivationStatus }
  | { type: "totals"; totals: BuildTotals }
  | { type: "message"; level: number; text: string }
  | { type: "eval-error"; text: string };

export interface ParserSnapshot {
  derivations: DerivationStatus[];
  totals: BuildTotals;
  evalError: string | null;
}

const LAST_LINES = 20;
const NIX_PREFIX = "@nix ";

const ACT_COPY_PATHS = 103;
const ACT_REALISE = 102;
const ACT_BUILDS = 104;
const ACT_BUILD = 105;
const ACT_SUBSTITUTE = 108;
const ACT_POST_BUILD_HOOK = 110;

const RES_BUILD_LOG_LINE = 101;
const RES_SET_PHASE = 104;
const RES_PROGRESS = 105;
const RES_POST_BUILD_LOG_LINE = 107;

/** Activities that only start once evaluation is over; an error before them is an eval error. */
const BUILDING_ACTIVITIES = new Set([ACT_REALISE, ACT_COPY_PATHS, ACT_BUILDS, ACT_BUILD, ACT_SUBSTITUTE]);

// Each alternative starts with a distinct character class, so matching stays linear.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]/g;
const EXIT_CODE = /exit code (\d+)/;
const DRV_IN_QUOTES = /'(\/[^'\s]+\.drv)'/g;

export function stripAnsi(text: string): string {
  return text.indexOf("\u001b") === -1 ? text : text.replace(ANSI, "");
}

/** "/nix/store/<hash>-hello-1.1.drv" → "hello-1.1". */
export function storePathName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dash = base.indexOf("-");
  const name = dash === 32 ? base.slice(33) : base;
  return name.endsWith(".drv") ? name.slice(0, -4) : name;
}

interface Entry {
  status: DerivationStatus;
  /** Which of nix's "builds" counters this build is settled against; null if it never ran. */
  counted: "done" | "failed" | null;
  /** Its build activity stopped, but a failure nix counted may still turn out to be this one. */
  stopped: boolean;
  /** The build activity that is running it, while one is open. */
  openBuild: number | null;
}

interface Failure {
  drvPath: string;
  state: "failed" | "dependency-failed";
  error: string | null;
  exitCode: number | null;
  machine?: string;
  logTail?: string[];
}

type NixRecord = Record<string, unknown>;

export class InternalJsonParser {
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  /**
   * Activity id → the derivation (or store path) it works on, for the activity types we follow.
   * `remote`: a remote builder's own build of a derivation this stream already builds there.
   */
  private readonly activities = new Map<number, { type: number; key: string; remote?: boolean }>();
  /** Nix's "builds" activity while it is open; one starting meanwhile is a remote builder's. */
  private buildsActivity: number | null = null;
  /** The last counters of nix's "builds" activity: [done, expected, running, failed]. */
  private progress: BuildTotals | null = null;
  private totals: BuildTotals = { done: 0, expected: 0, running: 0, failed: 0 };
  /** How many builds we have settled against nix's done and failed counters. */
  private settledDone = 0;
  private settledFailed = 0;
  /** Builds (kind "build") per state, kept as states change. */
  private readonly counts: Record<DerivationState, number> = {
    planned: 0,
    running: 0,
    built: 0,
    substituted: 0,
    failed: 0,
    "dependency-failed": 0,
  };
  private buildingStarted = false;
  private evalError: string | null = null;
  private lastPlainError: string | null = null;
  /** The last error after building started that named no derivation, e.g. "interrupted by the user". */
  private unexplainedError: string | null = null;
  private planKind: "build" | "substitute" | null = null;
  private finished = false;
  private events: ParserEvent[] = [];

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** One stderr (or stdout) line of nix, without its newline. */
  push(line: string): ParserEvent[] {
    const record = line.startsWith(NIX_PREFIX) ? parseRecord(line) : null;
    if (record === null) this.onPlainLine(line);
    else this.onRecord(record);
    return this.flush();
  }

  /** After nix exited (null: killed by a signal): settle everything that is still open. */
  finish(exitCode: number | null): ParserEvent[] {
    if (this.finished) return [];
    this.finished = true;
    const ok = exitCode === 0;
    for (const entry of this.entries.values()) {
      const { state, kind } = entry.status;
      if (state === "running") {
        if (ok) this.settle(entry, kind === "substitute" ? "substituted" : "built");
        else if (kind === "substitute") this.fail(entry, { state: "failed", error: "the download did not finish" });
        else if (entry.stopped) this.settleStoppedAtExit(entry);
        else
          this.fail(entry, {
            state: "failed",
            error: exitCode === null ? "the build was stopped before it finished" : "nix exited before this build finished",
          });
      } else if (state === "planned") {
        if (ok) this.settle(entry, kind === "substitute" ? "substituted" : "built");
        else if (exitCode !== null && kind === "build") {
          this.fail(entry, { state: "dependency-failed", error: "not built because a build it needs failed" });
        }
      }
    }
    if (!ok && exitCode !== null && !this.buildingStarted && this.evalError === null) {
      this.setEvalError(this.lastPlainError ?? `nix exited with code ${exitCode} before building anything`);
    }
    this.updateTotals();
    return this.flush();
  }

  snapshot(): ParserSnapshot {
    return {
      derivations: [...this.entries.values()].map((e) => copyStatus(e.status)),
      totals: { ...this.totals },
      evalError: this.evalError,
    };
  }

  private flush(): ParserEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  private onPlainLine(line: string): void {
    this.events.push({ type: "log", drvPath: null, line });
    const text = stripAnsi(line).trim();
    if (text.startsWith("error:")) this.lastPlainError = text.slice("error:".length).trim();
  }

  private onRecord(r: NixRecord): void {
    switch (r.action) {
      case "start":
        return this.onStart(r);
      case "stop":
        return this.onStop(r);
      case "result":
        return this.onResult(r);
      case "msg":
        return this.onMessage(r);
    }
  }

  private onStart(r: NixRecord): void {
    const { id, type } = r;
    if (typeof id !== "number" || typeof type !== "number") return;
    const fields = Array.isArray(r.fields) ? r.fields : [];
    const machine = typeof fields[1] === "string" ? fields[1] : "";
    const drvPath =
      type === ACT_BUILD ? (typeof fields[0] === "string" ? fields[0] : quotedDrv(typeof r.text === "string" ? r.text : "")) : null;
    // A build or download that names nothing is not a sign that evaluation is over.
    const malformed = (type === ACT_BUILD && !drvPath) || (type === ACT_SUBSTITUTE && typeof fields[0] !== "string");
    if (BUILDING_ACTIVITIES.has(type) && !malformed) this.buildingStarted = true;
    if (type === ACT_BUILDS) {
      this.buildsActivity ??= id;
    } else if (type === ACT_BUILD) {
      if (!drvPath) return;
      const running = this.entries.get(drvPath);
      if (running && running.openBuild !== null && running.status.state === "running") {
        // Its log lines and phases are this build's; its machine ("" there) and its stop are not.
        this.activities.set(id, { type, key: drvPath, remote: true });
        return;
      }
      this.activities.set(id, { type, key: drvPath });
      const entry = this.entry(drvPath, "build");
      entry.openBuild = id;
      const s = entry.status;
      s.machine = machine;
      s.startedAt = this.now();
      s.finishedAt = null;
      s.exitCode = null;
      s.error = null;
      entry.stopped = false;
      this.setState(entry, "running");
    } else if (type === ACT_SUBSTITUTE && typeof fields[0] === "string") {
      this.activities.set(id, { type, key: fields[0] });
      const entry = this.entry(fields[0], "substitute");
      if (entry.status.state !== "planned") return;
      entry.status.machine = machine;
      entry.status.startedAt = this.now();
      this.setState(entry, "running");
    } else if (type === ACT_POST_BUILD_HOOK && typeof fields[0] === "string") {
      this.activities.set(id, { type, key: fields[0] });
    }
  }

  private onStop(r: NixRecord): void {
    if (typeof r.id !== "number") return;
    if (r.id === this.buildsActivity) this.buildsActivity = null;
    const activity = this.activities.get(r.id);
    if (!activity) return;
    this.activities.delete(r.id);
    if (activity.remote) return;
    const entry = this.entries.get(activity.key);
    if (entry?.openBuild === r.id) entry.openBuild = null;
    if (!entry || entry.status.state !== "running") return;
    if (activity.type === ACT_SUBSTITUTE) {
      this.settle(entry, "substituted");
    } else if (activity.type === ACT_BUILD) {
      entry.stopped = true;
      // Settle only what the counters back: a failure no message has claimed yet may be this
      // build's (nix 2.8 names it after the stop), and a build interrupted by SIGTERM stops
      // without nix counting it at all. Wait rather than flash "built".
      const p = this.progress;
      if (!p || (p.failed - this.settledFailed <= 0 && p.done - this.settledDone > 0)) this.settle(entry, "built");
    }
  }

  private onResult(r: NixRecord): void {
    const { id, type, fields } = r;
    if (typeof id !== "number" || typeof type !== "number" || !Array.isArray(fields)) return;
    if (type === RES_PROGRESS) {
      if (id === this.buildsActivity) this.onBuildsProgress(fields);
      return;
    }
    const key = this.activities.get(id)?.key ?? null;
    if (type === RES_BUILD_LOG_LINE || type === RES_POST_BUILD_LOG_LINE) {
      const line = typeof fields[0] === "string" ? fields[0] : "";
      const entry = key === null ? undefined : this.entries.get(key);
      if (entry) {
        const lines = entry.status.lastLines;
        if (lines.length >= LAST_LINES) lines.shift();
        lines.push(line);
      }
      this.events.push({ type: "log", drvPath: key, line });
    } else if (type === RES_SET_PHASE && key !== null && typeof fields[0] === "string") {
      const entry = this.entries.get(key);
      if (!entry || entry.status.phase === fields[0]) return;
      entry.status.phase = fields[0];
      this.changed(entry);
    }
  }

  private onBuildsProgress(fields: unknown[]): void {
    const [done, expected, running, failed] = fields;
    if (typeof done !== "number" || typeof expected !== "number" || typeof running !== "number" || typeof failed !== "number") {
      return;
    }
    this.progress = { done, expected, running, failed };
    this.settleByCounters();
    this.updateTotals();
  }

  /**
   * Settles finished builds whose verdict the counters already decide. When nix reports no
   * running build, every build we saw start has finished; if the unclaimed counts leave one
   * verdict for all of them, that is theirs.
   */
  private settleByCounters(): void {
    const p = this.progress;
    if (!p || this.counts.running === 0) return;
    const open = [...this.entries.values()].filter((e) => e.status.state === "running" && e.status.kind === "build");
    const unclaimedDone = p.done - this.settledDone;
    const unclaimedFailed = p.failed - this.settledFailed;
    if (p.running === 0 && unclaimedFailed <= 0 && unclaimedDone >= open.length) {
      for (const e of open) this.settle(e, "built");
    } else if (p.running === 0 && unclaimedDone <= 0 && unclaimedFailed >= open.length) {
      for (const e of open) this.fail(e, { state: "failed", error: null });
    } else if (unclaimedFailed <= 0) {
      const stopped = open.filter((e) => e.stopped);
      for (const e of stopped.slice(0, Math.max(0, unclaimedDone))) this.settle(e, "built");
    }
  }

  /** Nix has exited with an error and printed every message: only unclaimed counts are left. */
  private settleStoppedAtExit(entry: Entry): void {
    const unclaimedDone = this.progress ? this.progress.done - this.settledDone : 1;
    if (unclaimedDone > 0) this.settle(entry, "built");
    else this.fail(entry, { state: "failed", error: this.unexplainedError ?? "nix gave no reason" });
  }

  private onMessage(r: NixRecord): void {
    // A message without text says nothing; taken as an error it would pass for an eval error.
    if (typeof r.msg !== "string") return;
    const level = typeof r.level === "number" ? r.level : 0;
    const msg = r.msg;
    const text = stripAnsi(msg);
    this.events.push({ type: "message", level, text });
    if (level === 0) this.onErrorMessage(stripAnsi(typeof r.raw_msg === "string" ? r.raw_msg : msg));
    else this.readPlan(text);
  }

  private onErrorMessage(raw: string): void {
    const text = raw.startsWith("error:") ? raw.slice("error:".length).trimStart() : raw;
    if (text.startsWith("(use '--show-trace'") || text.startsWith("error (ignored)")) return;
    if (!this.buildingStarted) {
      if (this.evalError === null) this.setEvalError(text);
      return;
    }
    const failures = parseFailures(text);
    if (failures.length === 0) this.unexplainedError = firstLine(text);
    for (const failure of failures) this.applyFailure(failure);
    if (failures.length > 0) this.settleByCounters();
  }

  /** "these 2 derivations will be built:" and "this path will be fetched (…):" plus indented paths. */
  private readPlan(text: string): void {
    for (const rawLine of text.split("\n")) {
      const line = rawLine.trim();
      if (line.length === 0) continue;
      if (rawLine[0] === " " || rawLine[0] === "\t") {
        if (this.planKind === null || line[0] !== "/" || this.entries.has(line)) continue;
        if (this.planKind === "build" && !line.endsWith(".drv")) continue;
        this.changed(this.entry(line, this.planKind));
      } else if (line.startsWith("this ") || line.startsWith("these ")) {
        this.planKind = line.includes(" will be built") ? "build" : line.includes(" will be fetched") ? "substitute" : null;
      } else {
        this.planKind = null;
      }
    }
  }

  private applyFailure(f: Failure): void {
    let entry = this.entries.get(f.drvPath);
    if (!entry && !f.drvPath.endsWith(".drv")) {
      // Some versions name the output path in a hash mismatch; match the build by name.
      const name = storePathName(f.drvPath);
      entry = [...this.entries.values()].find((e) => e.status.kind === "build" && e.status.name === name);
    }
    entry ??= this.entry(f.drvPath, "build");
    if (f.machine !== undefined) entry.status.machine = f.machine;
    if (f.logTail && entry.status.lastLines.length === 0) entry.status.lastLines = f.logTail.slice(-LAST_LINES);
    this.fail(entry, f);
  }

  private entry(key: string, kind: "build" | "substitute"): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {
        status: {
          drvPath: key,
          name: storePathName(key),
          kind,
          state: "planned",
          phase: null,
          machine: "",
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          error: null,
          errorLine: null,
          lastLines: [],
        },
        counted: null,
        stopped: false,
        openBuild: null,
      };
      this.entries.set(key, entry);
      if (kind === "build") this.counts.planned++;
    }
    return entry;
  }

  private settle(entry: Entry, state: "built" | "substituted"): void {
    entry.status.finishedAt = this.now();
    if (state === "built" && entry.status.startedAt !== null) this.count(entry, "done");
    this.setState(entry, state);
  }

  private fail(entry: Entry, f: { state: "failed" | "dependency-failed"; error: string | null; exitCode?: number | null }): void {
    const s = entry.status;
    // A correction ("built" at the stop, then nix's failure message) keeps the stop's time.
    s.finishedAt ??= this.now();
    if (f.error !== null) s.error = f.error;
    if (f.exitCode != null) s.exitCode = f.exitCode;
    if (f.state === "failed") s.errorLine = telling(s.lastLines);
    this.count(entry, f.state === "failed" && s.startedAt !== null ? "failed" : null);
    this.setState(entry, f.state);
  }

  private count(entry: Entry, counter: "done" | "failed" | null): void {
    if (entry.counted === "done") this.settledDone--;
    if (entry.counted === "failed") this.settledFailed--;
    if (counter === "done") this.settledDone++;
    if (counter === "failed") this.settledFailed++;
    entry.counted = counter;
  }

  private setState(entry: Entry, state: DerivationState): void {
    const s = entry.status;
    if (s.kind === "build") {
      this.counts[s.state]--;
      this.counts[state]++;
    }
    s.state = state;
    this.changed(entry);
  }

  private unclaimedFailures(): number {
    return this.progress ? this.progress.failed - this.settledFailed : 0;
  }

  private setEvalError(text: string): void {
    this.evalError = text;
    this.events.push({ type: "eval-error", text });
  }

  private changed(entry: Entry): void {
    this.events.push({ type: "derivation", derivation: copyStatus(entry.status) });
    this.updateTotals();
  }

  /**
   * Nix's counters when it sent them, else counted from the states. Nix lowers `expected` for
   * failures and for builds a failure made impossible, so expected never goes down and covers
   * every build we know of: "3 of 5" should not become "3 of 3" when two fail.
   */
  private updateTotals(): void {
    const c = this.counts;
    const p = this.progress;
    const running = this.finished ? 0 : (p?.running ?? c.running);
    const done = Math.max(p?.done ?? 0, c.built);
    const failed = Math.max(p?.failed ?? 0, c.failed);
    const builds = c.planned + c.running + c.built + c.substituted + c.failed + c["dependency-failed"];
    const t = this.totals;
    const expected = Math.max(t.expected, p?.expected ?? 0, builds, done + failed + running);
    if (t.done === done && t.expected === expected && t.running === running && t.failed === failed) return;
    this.totals = { done, expected, running, failed };
    this.events.push({ type: "totals", totals: { ...this.totals } });
  }
}

function parseRecord(line: string): NixRecord | null {
  try {
    const value: unknown = JSON.parse(line.slice(NIX_PREFIX.length));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as NixRecord) : null;
  } catch {
    return null;
  }
}

function copyStatus(s: DerivationStatus): DerivationStatus {
  return { ...s, lastLines: [...s.lastLines] };
}

function quotedDrv(text: string): string | null {
  DRV_IN_QUOTES.lastIndex = 0;
  const match = DRV_IN_QUOTES.exec(text);
  return match ? (match[1] ?? null) : null;
}

/** The path between the quotes that follow `marker`, or null. */
function quotedAfter(text: string, marker: string, from = 0): { path: string; end: number } | null {
  const at = text.indexOf(marker, from);
  if (at === -1) return null;
  const open = at + marker.length;
  const close = text.indexOf("'", open);
  if (close === -1) return null;
  return { path: text.slice(open, close), end: close + 1 };
}

function exitCodeIn(text: string): number | null {
  const match = EXIT_CODE.exec(text);
  return match ? Number(match[1]) : null;
}

function firstLine(text: string): string {
  const nl = text.indexOf("\n");
  return (nl === -1 ? text : text.slice(0, nl)).trim();
}

/** Log lines quoted in a failure message ("Last 25 log lines:" then "> line"), oldest first. */
function quotedLog(text: string): string[] | undefined {
  const lines: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trimStart();
    if (line.startsWith("> ")) lines.push(line.slice(2));
    else if (line === ">") lines.push("");
  }
  return lines.length > 0 ? lines : undefined;
}

/** The most telling line of a failed build: the last one that says "error", else the last one. */
function telling(lines: string[]): string | null {
  let last: string | null = null;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = stripAnsi(lines[i] ?? "").trim();
    if (line.length === 0) continue;
    last ??= line;
    if (line.toLowerCase().includes("error")) return line;
  }
  return last;
}

/**
 * Failures named by one error message, in the forms of Nix 2.3 to current Nix and Lix.
 * Summaries such as "build of '…' failed" (without a machine) name nothing new and are skipped.
 */
function parseFailures(text: string): Failure[] {
  const remote = quotedAfter(text, "build of '");
  if (remote && text.startsWith(" on '", remote.end)) {
    const machine = quotedAfter(text, " on '", remote.end);
    const reasonAt = text.indexOf("failed: ", machine?.end ?? remote.end);
    const reason = reasonAt === -1 ? firstLine(text) : text.slice(reasonAt + "failed: ".length).trim();
    const failure: Failure = {
      drvPath: remote.path,
      state: "failed",
      error: firstLine(text),
      exitCode: exitCodeIn(reason),
      logTail: quotedLog(text),
    };
    if (machine) failure.machine = machine.path;
    return [failure];
  }

  const failures: Failure[] = [];
  let from = 0;
  for (;;) {
    const cannot = quotedAfter(text, "Cannot build '", from);
    if (!cannot) break;
    const reasonAt = text.indexOf("Reason: ", cannot.end);
    const next = text.indexOf("Cannot build '", cannot.end);
    const block = text.slice(cannot.end, next === -1 ? text.length : next);
    const reason = reasonAt !== -1 && (next === -1 || reasonAt < next) ? firstLine(text.slice(reasonAt + "Reason: ".length)) : "";
    const dependency = /^\d+ dependenc(?:y|ies) failed/.test(reason);
    failures.push({
      drvPath: cannot.path,
      state: dependency ? "dependency-failed" : "failed",
      error: reason.length > 0 ? reason.replace(/\.$/, "") : firstLine(text),
      exitCode: dependency ? null : exitCodeIn(reason),
      logTail: quotedLog(block),
    });
    from = cannot.end;
  }
  if (failures.length > 0) return failures;

  const builder = quotedAfter(text, "builder for '");
  if (builder && text.startsWith(" failed", builder.end)) {
    return [
      {
        drvPath: builder.path,
        state: "failed",
        error: firstLine(text).replace(/;$/, ""),
        exitCode: exitCodeIn(firstLine(text)),
        logTail: quotedLog(text),
      },
    ];
  }

  const mismatch = quotedAfter(text, "hash mismatch in fixed-output derivation '");
  if (mismatch) {
    const error = text.trim().replace(/\s+/g, " ");
    return [{ drvPath: mismatch.path, state: "failed", error, exitCode: null }];
  }

  // "a 'aarch64-linux' with features {} is required to build '…', but I am a 'x86_64-linux' …"
  const unsupported = quotedAfter(text, "is required to build '");
  if (unsupported) {
    return [{ drvPath: unsupported.path, state: "failed", error: firstLine(text), exitCode: null }];
  }

  // "N dependencies of derivation '…' failed to build" (Nix 2.4+, Lix) and
  // "cannot build derivation '…': N dependencies couldn't be built" (Nix 2.3).
  const dependents = quotedAfter(text, "dependencies of derivation '") ?? quotedAfter(text, "cannot build derivation '");
  if (dependents && (text.includes("failed to build") || text.includes("couldn't be built"))) {
    return [{ drvPath: dependents.path, state: "dependency-failed", error: firstLine(text), exitCode: null }];
  }
  if (text.includes("dependency failed") || text.includes("dependencies failed")) {
    const drv = quotedDrv(text);
    if (drv) return [{ drvPath: drv, state: "dependency-failed", error: firstLine(text), exitCode: null }];
  }
  return [];
}
