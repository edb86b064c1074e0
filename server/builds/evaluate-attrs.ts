import { spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { AppError } from "../errors";
import type { TargetCheck } from "./build-targets";
import { childEnv, isAttrPath, isNixSystem, restrictedEvalArgs } from "./run-nix-build";

/**
 * Before building, asks nix (with the same restricted evaluation as the build) what each chosen
 * attribute is: its derivation, or why it cannot be built — it does not exist (a commit title
 * that names no package, an attr CI saw but the checkout lacks) or evaluating it throws (marked
 * broken, unsupported on this system). One bad attribute then no longer fails the whole
 * `nix build`, the report can sort attributes the way nixpkgs-review does, and passthru.tests
 * are found here when the host asks for them.
 */

export interface AttrEvaluation {
  attr: string;
  check: TargetCheck;
  drvPath: string | null;
  /** Its passthru.tests that are derivations, as attribute paths (only when tests were asked for). */
  tests: Array<{ attr: string; check: TargetCheck; drvPath: string | null }>;
}

export interface EvaluateAttrsRequest {
  /** The worktree; the only place evaluation may read. */
  cwd: string;
  attrs: string[];
  system: string;
  withTests: boolean;
  timeoutMs: number;
  /** Relative to cwd; default ".". */
  file?: string;
  nixBin?: string;
  signal?: AbortSignal;
}

const MAX_OUTPUT_CHARS = 16 * 1024 * 1024;
const STDERR_TAIL_CHARS = 2_000;

interface RawEvaluation {
  kind: "ok" | "missing" | "not-derivation" | "broken";
  drvPath: string | null;
  tests: Array<{ name: string; drvPath: string | null }>;
}

/** The Nix function applied to the evaluated file: one record per attribute path. */
export function inspectExpression(attrs: string[], system: string, withTests: boolean): string {
  for (const attr of attrs) {
    if (!isAttrPath(attr)) throw new AppError("bad_request", `"${attr.slice(0, 80)}" is not an attribute path nix should evaluate.`);
  }
  if (!isNixSystem(system)) throw new AppError("bad_request", `"${system}" is not a nix system such as x86_64-linux.`);
  // Segments are letters, digits, _ ' + - only (isAttrPath), so they are safe inside "…".
  const paths = attrs.map((attr) => `[ ${attr.split(".").map((segment) => `"${segment}"`).join(" ")} ]`).join(" ");
  return `top:
let
  pkgs = if builtins.isFunction top then top { system = "${system}"; } else top;
  isDrv = v: builtins.isAttrs v && (v.type or null) == "derivation";
  lookup = path: builtins.foldl' (v: n: if v != null && builtins.isAttrs v && builtins.hasAttr n v then builtins.getAttr n v else null) pkgs path;
  drvOf = v: let r = builtins.tryEval v.drvPath; in if r.success then r.value else null;
  testsOf = v:
    let
      t = builtins.tryEval (v.passthru.tests or { });
      ts = if t.success && builtins.isAttrs t.value then t.value else { };
      names = builtins.filter (n: (builtins.tryEval (isDrv (builtins.getAttr n ts))).value == true) (builtins.attrNames ts);
    in map (n: { name = n; drvPath = drvOf (builtins.getAttr n ts); }) names;
  inspect = path:
    let
      exists = builtins.tryEval (lookup path != null);
      derivation = builtins.tryEval (isDrv (lookup path));
      isDerivation = derivation.success && derivation.value;
      drvPath = if isDerivation then drvOf (lookup path) else null;
    in {
      kind =
        if !(exists.success && exists.value) then "missing"
        else if !derivation.success then "broken"
        else if !isDerivation then "not-derivation"
        else if drvPath == null then "broken"
        else "ok";
      inherit drvPath;
      tests = if ${withTests ? "true" : "false"} && isDerivation && drvPath != null then testsOf (lookup path) else [ ];
    };
in map inspect [ ${paths} ]
`;
}

export async function evaluateAttrs(req: EvaluateAttrsRequest): Promise<AttrEvaluation[]> {
  if (req.attrs.length === 0) return [];
  const expression = inspectExpression(req.attrs, req.system, req.withTests);
  let cwd: string;
  try {
    cwd = realpathSync(req.cwd);
  } catch {
    throw new AppError("nix_failed", `The checkout ${req.cwd} is missing; fetch the pull request again.`);
  }
  const args = [
    "--extra-experimental-features",
    "nix-command",
    "eval",
    "--json",
    ...restrictedEvalArgs(cwd),
    "--file",
    req.file ?? ".",
    "--apply",
    expression,
    "",
  ];
  const { code, stdout, stderr, timedOut, aborted } = await run(req.nixBin ?? "nix", args, cwd, req.timeoutMs, req.signal);
  if (aborted) throw req.signal?.reason ?? new AppError("nix_failed", "Evaluating the attributes was stopped.");
  if (timedOut) throw new AppError("nix_failed", `Evaluating ${req.attrs.length} attributes took longer than ${Math.round(req.timeoutMs / 1000)} s.`);
  if (code !== 0) {
    throw new AppError("nix_failed", `nix eval exited with code ${code}: ${stderr.trim().slice(-STDERR_TAIL_CHARS)}`);
  }
  let raw: RawEvaluation[];
  try {
    raw = JSON.parse(stdout) as RawEvaluation[];
  } catch {
    throw new AppError("nix_failed", "nix eval printed something that is not the expected JSON.");
  }
  if (!Array.isArray(raw) || raw.length !== req.attrs.length) {
    throw new AppError("nix_failed", "nix eval answered for a different number of attributes than it was asked about.");
  }
  return req.attrs.map((attr, i) => {
    const r = raw[i]!;
    const check: TargetCheck = r.kind === "ok" ? "ok" : r.kind === "broken" ? "broken" : "non-existent";
    const tests = (r.tests ?? [])
      .map((t) => ({ attr: `${attr}.passthru.tests.${t.name}`, drvPath: t.drvPath }))
      .filter((t) => isAttrPath(t.attr))
      .map((t) => ({ ...t, check: (t.drvPath === null ? "broken" : "ok") as TargetCheck }));
    return { attr, check, drvPath: check === "ok" ? r.drvPath : null, tests };
  });
}

function run(
  bin: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env: childEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let aborted = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < MAX_OUTPUT_CHARS) stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS * 4);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(new AppError("nix_failed", `Could not start ${bin}: ${error.message}. Is nix installed and on PATH?`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve({ code, stdout, stderr, timedOut, aborted });
    });
  });
}
