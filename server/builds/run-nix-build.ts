import { spawn } from "node:child_process";
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { AppError } from "../errors";

/**
 * Runs `nix build` on untrusted pull-request code and streams its output line by line.
 *
 * Evaluation is hardened with flags that Nix 2.8, current Nix and Lix all accept:
 * `restrict-eval` keeps evaluation inside the worktree (`-I <worktree>` is its only allowed
 * path; `nix-path` is emptied so NIX_PATH and nix.conf add nothing), `allowed-uris` is emptied
 * so nothing can be fetched during evaluation, and `allow-import-from-derivation` is off so
 * evaluating cannot start builds. Restricted mode also makes `builtins.getEnv` return "".
 */

export interface NixBuildRequest {
  /** The worktree to evaluate; the only place evaluation may read. */
  cwd: string;
  attrs: string[];
  /** Relative to cwd and inside it; default ".". */
  file?: string;
  system?: string;
  /** A NIX_BUILDERS value, passed as `--builders`. */
  builders?: string;
  /**
   * Passed as `--max-jobs`: how many builds nix runs on this machine at once. 0 sends every
   * build to the `builders` (a derivation no builder can take then fails); absent: nix's setting.
   */
  maxJobs?: number;
  timeoutMs: number;
  /** How long nix gets to stop its builders after SIGTERM before the group gets SIGKILL. */
  killGraceMs?: number;
  nixBin?: string;
  extraArgs?: string[];
  /** Added to the small environment nix runs with. */
  env?: Record<string, string>;
  onLine: (line: string) => void;
}

export interface NixBuildOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Why it was cancelled: the reason given to cancel(), or the error of a failing onLine. */
  cancelReason: string | null;
  durationMs: number;
}

export interface RunningNixBuild {
  pid: number;
  /** The arguments after the nix binary, for logs and the host screen. */
  args: string[];
  /** Resolves once nix has exited; never rejects. */
  done: Promise<NixBuildOutcome>;
  cancel(reason?: string): void;
}

// One segment: a letter, digit or "_" first (so no attr can pass for a flag), then the rest.
const ATTR_PATH = /^[A-Za-z0-9_][A-Za-z0-9_'+-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_'+-]*)*$/;
const MAX_ATTR_LENGTH = 300;
const SYSTEM = /^[A-Za-z0-9_]+-[A-Za-z0-9_]+$/;
const DEFAULT_KILL_GRACE_MS = 5_000;
/** After nix exits, how long a grandchild holding its stderr open may delay the last lines. */
const STREAM_CLOSE_GRACE_MS = 2_000;
/** How long the killed rest of the group may take to be reaped before `done` resolves anyway. */
const GROUP_GONE_WAIT_MS = 2_000;
/** A longer "line" (no newline in sight) is handed on in pieces so memory stays bounded. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

/** What nix needs from our environment; secrets such as GITHUB_TOKEN stay behind. */
const PASSED_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "SSH_AUTH_SOCK",
  // Options for the ssh that reaches remote builders, e.g. "-p 2222": Nix 2.8 and Lix read no
  // port from an ssh-ng:// URI (NixOS/nix#7044).
  "NIX_SSHOPTS",
  "NIX_REMOTE",
  "NIX_CONF_DIR",
  "NIX_USER_CONF_FILES",
  "NIX_SSL_CERT_FILE",
  "SSL_CERT_FILE",
  "NIX_STORE_DIR",
  "NIX_STATE_DIR",
  "NIX_LOG_DIR",
  "NIX_DAEMON_SOCKET_PATH",
  "XDG_CACHE_HOME",
  "XDG_CONFIG_HOME",
  "XDG_DATA_HOME",
  "XDG_STATE_HOME",
  "XDG_RUNTIME_DIR",
];

type ArgsRequest = Pick<NixBuildRequest, "cwd" | "attrs" | "file" | "system" | "builders" | "maxJobs" | "extraArgs">;

export function nixBuildArgs(req: ArgsRequest): string[] {
  validate(req);
  return [
    "--extra-experimental-features",
    "nix-command",
    "build",
    "--keep-going",
    "--log-format",
    "internal-json",
    "-v",
    "--no-link",
    ...restrictedEvalArgs(req.cwd),
    ...(req.system === undefined ? [] : ["--argstr", "system", req.system]),
    ...(req.builders === undefined ? [] : ["--builders", req.builders]),
    ...(req.maxJobs === undefined ? [] : ["--max-jobs", String(req.maxJobs)]),
    ...(req.extraArgs ?? []),
    "--file",
    req.file ?? ".",
    "--",
    ...req.attrs,
  ];
}

/** The hardening every evaluation of PR code gets (see the top of this file); `cwd` is the worktree. */
export function restrictedEvalArgs(cwd: string): string[] {
  return [
    "--option",
    "restrict-eval",
    "true",
    "--option",
    "allowed-uris",
    "",
    "--option",
    "allow-import-from-derivation",
    "false",
    "--option",
    "nix-path",
    "",
    "-I",
    cwd,
  ];
}

export function isNixSystem(system: string): boolean {
  return SYSTEM.test(system);
}

export function isAttrPath(attr: string): boolean {
  return attr.length <= MAX_ATTR_LENGTH && ATTR_PATH.test(attr);
}

function validate(req: ArgsRequest): void {
  if (req.attrs.length === 0) {
    throw new AppError("bad_request", "Nothing to build: no attribute was given.");
  }
  for (const attr of req.attrs) {
    if (!isAttrPath(attr)) {
      throw new AppError("bad_request", `"${attr.slice(0, 80)}" is not an attribute path nix should build.`, { attr });
    }
  }
  const file = req.file ?? ".";
  if (file.length === 0 || file.startsWith("-")) {
    throw new AppError("bad_request", `"${file}" is not a file nix should evaluate.`);
  }
  if (req.system !== undefined && !SYSTEM.test(req.system)) {
    throw new AppError("bad_request", `"${req.system}" is not a nix system such as x86_64-linux.`);
  }
  if (req.maxJobs !== undefined && !(Number.isSafeInteger(req.maxJobs) && req.maxJobs >= 0)) {
    throw new AppError("bad_request", `"${req.maxJobs}" is not a number of jobs such as 0 or 4.`);
  }
}

export function runNixBuild(req: NixBuildRequest): RunningNixBuild {
  validate(req);
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) {
    throw new AppError("bad_request", "A nix build needs a positive timeout.");
  }
  // restrict-eval compares resolved paths, and nix resolves `--file .` from the real cwd.
  let cwd: string;
  try {
    cwd = realpathSync(req.cwd);
  } catch {
    throw new AppError("nix_failed", `The checkout ${req.cwd} is missing; fetch the pull request again.`);
  }
  const args = nixBuildArgs({ ...req, cwd });
  const nixBin = req.nixBin ?? "nix";
  const startedAt = performance.now();

  const child = spawn(nixBin, args, {
    cwd,
    env: childEnv(req.env),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Spawn failures surface through `pid` below; a later error must not crash the server.
  child.on("error", () => {});
  const pid = child.pid;
  if (pid === undefined) {
    throw new AppError("nix_failed", `Could not start ${nixBin}: is nix installed and on PATH?`, { nixBin });
  }

  let timedOut = false;
  let cancelled = false;
  let cancelReason: string | null = null;
  let exited = false;
  let terminating = false;
  let killTimer: NodeJS.Timeout | undefined;

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  const terminate = () => {
    if (exited || terminating) return;
    terminating = true;
    killGroup("SIGTERM");
    killTimer = setTimeout(() => {
      // Nix starts local builders in sessions of their own and stops them on SIGTERM; if it
      // did not manage to, its descendants must go too, before SIGKILL orphans them.
      for (const descendant of descendantsOf(pid)) {
        try {
          process.kill(descendant, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      killGroup("SIGKILL");
    }, req.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  };
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    terminate();
  }, req.timeoutMs);

  const cancel = (reason?: string) => {
    if (exited || cancelled || timedOut) return;
    cancelled = true;
    cancelReason = reason ?? "cancelled";
    terminate();
  };
  const emit = (line: string) => {
    try {
      req.onLine(line);
    } catch (error) {
      cancel(`the output handler failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const stdout = new LineSplitter(emit);
  const stderr = new LineSplitter(emit);
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));

  const done = new Promise<NixBuildOutcome>((resolve) => {
    let outcome: NixBuildOutcome | null = null;
    let streamsClosed = false;
    let resolved = false;
    const finish = async () => {
      if (resolved || !outcome) return;
      resolved = true;
      stdout.end();
      stderr.end();
      // Once `done` resolves, nothing started by this build may still touch the worktree.
      await groupGone(pid);
      resolve({ ...outcome, cancelled, cancelReason });
    };
    child.on("exit", (code, signal) => {
      exited = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      outcome = {
        exitCode: code,
        signal,
        timedOut,
        cancelled,
        cancelReason,
        durationMs: Math.round(performance.now() - startedAt),
      };
      // Nothing of nix's group may outlive it (or keep its output open).
      killGroup("SIGKILL");
      if (streamsClosed) void finish();
      else
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          void finish();
        }, STREAM_CLOSE_GRACE_MS);
    });
    child.on("close", () => {
      streamsClosed = true;
      void finish();
    });
  });

  return { pid, args, done, cancel };
}

/**
 * Waits (briefly) until no living member of the group is left. Killed orphans stay zombies
 * until init reaps them, which can take a second; a zombie touches nothing, so it counts as gone.
 */
async function groupGone(pgid: number): Promise<void> {
  const deadline = performance.now() + GROUP_GONE_WAIT_MS;
  while (groupAlive(pgid) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  const processes = readProcesses();
  return processes === null || processes.some((p) => p.pgrp === pgid && p.state !== "Z");
}

export function childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // Next's types make NODE_ENV a required key of every ProcessEnv; nix has no use for it.
  return { ...env, ...extra } as NodeJS.ProcessEnv;
}

/** Every process below `pid`; none where there is no /proc. */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readProcesses() ?? []) {
    const siblings = children.get(p.ppid) ?? [];
    siblings.push(p.pid);
    children.set(p.ppid, siblings);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

interface ProcessInfo {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
}

/** All processes from /proc (Linux), or null where there is no /proc. */
function readProcesses(): ProcessInfo[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const processes: ProcessInfo[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid pgrp …"; comm may itself contain spaces and parentheses.
      const [state = "", ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      processes.push({ pid, state, ppid: Number(ppid), pgrp: Number(pgrp) });
    } catch {
      // The process ended while we looked.
    }
  }
  return processes;
}

/** Splits a stream of text into lines, keeping a partial line until its newline (or the end). */
class LineSplitter {
  private partial = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl !== -1; nl = chunk.indexOf("\n", start)) {
      const piece = chunk.slice(start, nl);
      const line = this.partial.length > 0 ? this.partial + piece : piece;
      this.partial = "";
      this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
      start = nl + 1;
    }
    this.partial += chunk.slice(start);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.onLine(this.partial);
      this.partial = "";
    }
  }

  end(): void {
    if (this.partial.length > 0) this.onLine(this.partial);
    this.partial = "";
  }
}
