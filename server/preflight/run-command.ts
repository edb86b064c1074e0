import { spawn } from "node:child_process";

/**
 * Runs a tool for a preflight check: an argument array (no shell), its own process group, a
 * timeout that kills the whole group, and the exit awaited. Never rejects: a tool that cannot be
 * started is a result the check reports, not an exception.
 */
export type CommandResult =
  | { started: false; error: string; missing: boolean }
  | { started: true; code: number | null; stdout: string; stderr: string; timedOut: boolean };

const MAX_OUTPUT_CHARS = 64 * 1024;

export function runCommand(bin: string, args: string[], opts: { timeoutMs: number; cwd?: string }): Promise<CommandResult> {
  return new Promise((resolve) => {
    let child;
    try {
      // detached: a new session without a terminal, so ssh (remote builders) fails instead of prompting.
      child = spawn(bin, args, { cwd: opts.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      resolve({ started: false, error: (error as Error).message, missing: false });
      return;
    }
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // The group is already gone.
      }
    }, opts.timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < MAX_OUTPUT_CHARS) stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_OUTPUT_CHARS);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve({ started: false, error: error.message, missing: error.code === "ENOENT" || error.code === "EACCES" });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve({ started: true, code, stdout, stderr, timedOut });
    });
  });
}
