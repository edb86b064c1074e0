import { readFile } from "node:fs/promises";
import { resultOf, tail, type CheckName, type PreflightCheck } from "./preflight-check";
import { runCommand } from "./run-command";

export const BUILDERS_CHECK: CheckName = { id: "builders", label: "Remote builders" };

const DEFAULT_TIMEOUT_MS = 20_000;

export interface Builder {
  /** The store URI as nix uses it (a bare host becomes ssh://host), with the entry's ssh key. */
  storeUri: string;
  systems: string[];
}

/**
 * Nix's `builders` syntax: entries separated by `;` or newlines, `@file` includes a machines file,
 * each entry is `uri [systems [ssh-key [max-jobs [speed [features [mandatory [host-key]]]]]]]`
 * with `-` for "default", and `#` starts a comment in a file.
 */
export async function parseBuilders(spec: string, read: (file: string) => Promise<string> = (f) => readFile(f, "utf8")): Promise<Builder[]> {
  const builders: Builder[] = [];
  for (const raw of spec.split(/[;\n]/)) {
    const entry = raw.replace(/#.*$/, "").trim();
    if (entry === "") continue;
    if (entry.startsWith("@")) {
      builders.push(...(await parseBuilders(await read(entry.slice(1).trim()), read)));
      continue;
    }
    const [uri = "", systems = "-", key = "-"] = entry.split(/\s+/);
    let storeUri = uri.includes("://") ? uri : `ssh://${uri}`;
    if (key !== "-" && !/[?&]ssh-key=/.test(storeUri)) storeUri += `${storeUri.includes("?") ? "&" : "?"}ssh-key=${encodeURIComponent(key)}`;
    builders.push({ storeUri, systems: systems === "-" ? [] : systems.split(",").filter(Boolean) });
  }
  return builders;
}

export interface BuildersCheckDeps {
  nixBin: string;
  /** NIX_BUILDERS as given; null when every build runs on this machine. */
  builders: string | null;
  timeoutMs?: number;
  readFile?: (file: string) => Promise<string>;
}

/** The URI without its query (an ssh-key path is nobody's business on the projector). */
function shown(uri: string): string {
  return uri.replace(/\?.*$/, "");
}

async function ping(nixBin: string, builder: Builder, timeoutMs: number): Promise<string | null> {
  const run = await runCommand(nixBin, ["--extra-experimental-features", "nix-command", "store", "ping", "--store", builder.storeUri], { timeoutMs });
  if (!run.started) return `${nixBin} cannot be started: ${run.error}`;
  if (run.timedOut) return `no answer within ${timeoutMs / 1000} s`;
  if (run.code !== 0) return tail(run.stderr, 2) || `exit code ${run.code}`;
  return null;
}

export async function checkBuilders(deps: BuildersCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(BUILDERS_CHECK);
  if (deps.builders === null || deps.builders.trim() === "") {
    return v.ok("NIX_BUILDERS is not set: builds run on this machine (builders configured in nix.conf are not checked here).");
  }
  let builders: Builder[];
  try {
    builders = await parseBuilders(deps.builders, deps.readFile);
  } catch (error) {
    return v.fail(`NIX_BUILDERS names a machines file that cannot be read: ${(error as Error).message}.`, "Fix the @file path in NIX_BUILDERS.");
  }
  if (builders.length === 0) return v.ok("NIX_BUILDERS lists no machines: builds run on this machine.");
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const answers = await Promise.all(builders.map(async (b) => ({ b, problem: await ping(deps.nixBin, b, timeoutMs) })));
  const name = (b: Builder) => `${shown(b.storeUri)}${b.systems.length ? ` (${b.systems.join(", ")})` : ""}`;
  const failed = answers.filter((a) => a.problem !== null);
  if (failed.length > 0) {
    return v.fail(
      `${failed.length} of ${builders.length} builders do not answer: ${failed.map((a) => `${name(a.b)}: ${a.problem}`).join("; ")}`,
      "As the user running the show, `ssh <host>` must log in without any prompt (key loaded, host key known) and nix must work there. " +
        "Remove a builder you cannot fix from NIX_BUILDERS: nix would still send builds its way, and they would fail or wait.",
    );
  }
  return v.ok(`${builders.length} ${builders.length === 1 ? "builder answers" : "builders answer"}: ${builders.map(name).join(", ")}`);
}
