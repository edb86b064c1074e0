import { spawn } from "node:child_process";
import { AppError } from "../errors";

export interface RunGitOptions {
  cwd: string;
  /** Kills git and everything it started (ssh, upload-pack, hooks) after this long. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** What the person on stage should try when this command fails; appended to the message. */
  hint?: string;
  /** Written to git's stdin (for fast-import, hash-object --stdin, …). */
  input?: string | Buffer;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const STDERR_TAIL_CHARS = 1_500;

/**
 * Runs `git <args>` and resolves with its stdout. git never prompts (a prompt would hang the
 * show), speaks English so its errors read the same everywhere, and runs in its own process
 * group so a timeout also ends the transport helpers it spawned.
 */
export function runGit(args: string[], opts: RunGitOptions): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const command = `git ${subcommandOf(args)}`;
  return new Promise<string>((resolve, reject) => {
    const child = spawn("git", args, {
      cwd: opts.cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const stdout: Buffer[] = [];
    let stderr = "";
    let timedOut = false;
    let settled = false;
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS * 4);
    });
    // git may exit before reading all its input (bad arguments); its exit code tells that story.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);

    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      const why =
        error.code === "ENOENT"
          ? `could not start git in ${opts.cwd} (${error.message}). Check that git is installed and the directory exists.`
          : `could not start git: ${error.message}`;
      reject(new AppError("git_failed", `${command} failed: ${why}`, { args, cwd: opts.cwd }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString("utf8"));
        return;
      }
      const tail = stderrTail(stderr);
      const what = timedOut
        ? `timed out after ${Math.round(timeoutMs / 1000)} s and was stopped`
        : signal
          ? `was killed by ${signal}`
          : `exited with code ${code}`;
      const hint = opts.hint ?? `The repository is ${opts.cwd}.`;
      reject(
        new AppError("git_failed", `${command} ${what}${tail ? `: ${tail}` : ""}. ${hint}`, {
          args,
          cwd: opts.cwd,
          exitCode: code,
          signal,
          timedOut,
          stderr: tail,
        }),
      );
    });
  });
}

/** "fetch" for `git -c fetch.prune=false fetch …`: messages name the step, details keep the rest. */
function subcommandOf(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-c" || arg === "-C") i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return args.join(" ");
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
}

function stderrTail(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  return lines.slice(-6).join(" / ").slice(-STDERR_TAIL_CHARS);
}

/** `git rev-parse --verify <rev>^{commit}`, or null when the commit is not in the repository. */
export async function resolveCommit(cwd: string, rev: string): Promise<string | null> {
  try {
    const out = await runGit(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { cwd });
    return out.trim() || null;
  } catch {
    return null;
  }
}

export function shortSha(sha: string): string {
  return sha.slice(0, 12);
}
