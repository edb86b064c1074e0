/**
 * Which attributes to build for a PR. Sources, first that yields attributes wins:
 *
 * 1. `host`: the host's own list, when it has any non-blank entry. It is final: if every name is
 *    invalid the answer is "nothing to build", never a silent automatic pick.
 * 2. `ci-artifact`: `rebuildsByPlatform[system]` from the CI `comparison` artifact (what
 *    nixpkgs-review reads). When the artifact has a list for this system it is authoritative:
 *    an empty list means "CI reports no rebuilds on <system>" and nothing is built, rather than
 *    guessing from paths a rebuild list that CI computed exactly. A map without this system falls
 *    through.
 * 3. `by-name`: package names from changed `pkgs/by-name/<shard>/<name>/…` paths.
 * 4. `commit-title`: ofborg's rule, the text before the first `:` of each title, split on commas,
 *    brace-expanded; intersected with `knownAttrs` when given.
 *
 * Every name is checked against a conservative attribute-path pattern; invalid ones are dropped
 * and named in the note. `targets: []` always comes with a note starting "nothing to build".
 */
import { expandBraces } from "./expand-braces";

export { expandBraces };

export type TargetSource = "ci-artifact" | "by-name" | "commit-title" | "host";

export interface Target {
  attr: string;
  source: TargetSource;
}

export interface TargetChoice {
  targets: Target[];
  /** Attributes beyond the cap, shown to the host. */
  overflow: string[];
  source: TargetSource | null;
  /** One sentence for the host, e.g. "3 attrs from the CI comparison artifact (x86_64-linux)". */
  note: string;
}

export interface ChooseTargetsInput {
  system: string;
  rebuildsByPlatform: Record<string, string[]> | null;
  changedFiles: string[];
  commitTitles: string[];
  hostOverride?: string[] | null;
  /** Most attributes to build; default 20, the ofborg limit. */
  cap?: number;
  /** When given, commit-title names not in it are ignored, as ofborg did with its eval. */
  knownAttrs?: ReadonlySet<string> | null;
}

export const DEFAULT_TARGET_CAP = 20;
export const MAX_ATTR_LENGTH = 200;

// Segments of letters, digits, `_`, `'`, `+`, `-` (not leading `-`, `'` or `+`) joined by single
// dots. The dot is not in the segment class, so matching is linear.
const ATTR_PATH = /^[A-Za-z0-9_][A-Za-z0-9_'+-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_'+-]*)*$/;
// nixpkgs-vet's rule for pkgs/by-name directory names.
const BY_NAME_PACKAGE = /^[A-Za-z0-9_-]+$/;
const WIP_TITLE = /^\s*(?:wip\s*:|\[wip\])/i;
const LISTED_NAMES = 3;

export function isValidAttrPath(attr: string): boolean {
  return attr.length > 0 && attr.length <= MAX_ATTR_LENGTH && ATTR_PATH.test(attr);
}

export function chooseTargets(input: ChooseTargetsInput): TargetChoice {
  const cap = normaliseCap(input.cap);
  const { system } = input;

  const host = (input.hostOverride ?? []).map((attr) => attr.trim()).filter((attr) => attr !== "");
  if (host.length > 0) {
    return decide({ source: "host", label: "chosen by the host", candidates: host, cap });
  }

  const rebuilds = input.rebuildsByPlatform;
  if (rebuilds !== null && Object.hasOwn(rebuilds, system)) {
    const rebuildList = rebuilds[system] ?? [];
    if (rebuildList.length === 0) return nothing("ci-artifact", `CI reports no rebuilds on ${system}`);
    return decide({
      source: "ci-artifact",
      label: `from the CI comparison artifact (${system})`,
      candidates: rebuildList,
      cap,
    });
  }

  const misses = [rebuilds === null ? "no CI comparison artifact" : `no CI rebuild list for ${system}`];

  const byName = attrsFromChangedFiles(input.changedFiles);
  if (byName.length > 0) {
    return decide({ source: "by-name", label: "from changed pkgs/by-name paths", candidates: byName, cap });
  }
  misses.push("no pkgs/by-name changes");

  const titles = namesFromCommitTitles(input.commitTitles, input.knownAttrs ?? null);
  if (titles.candidates.some(isValidAttrPath)) {
    const ignored = titles.unknown.length > 0
      ? [`ignored ${count(titles.unknown.length, "commit-title name")} not in the eval: ${list(titles.unknown)}`]
      : [];
    return decide({
      source: "commit-title",
      label: "from commit titles",
      candidates: titles.candidates,
      cap,
      extra: ignored,
    });
  }
  if (titles.candidates.length === 0 && titles.unknown.length === 0) {
    misses.push("no package names in commit titles");
  } else {
    const invalid = titles.candidates.length > 0 ? [`invalid: ${list(titles.candidates)}`] : [];
    const unknown = titles.unknown.length > 0 ? [`not in the eval: ${list(titles.unknown)}`] : [];
    misses.push(`no usable package names in commit titles (${[...invalid, ...unknown].join("; ")})`);
  }
  return nothing(null, misses.join(", "));
}

/**
 * Names from all commit titles, deduplicated. With `known`, valid names missing from it are set
 * apart as `unknown`; invalid names stay in `candidates` so the note can name them.
 */
function namesFromCommitTitles(
  titles: string[],
  known: ReadonlySet<string> | null,
): { candidates: string[]; unknown: string[] } {
  const names = unique(titles.flatMap(attrsFromCommitTitle));
  if (known === null) return { candidates: names, unknown: [] };
  const isUnknown = (name: string) => isValidAttrPath(name) && !known.has(name);
  return { candidates: names.filter((name) => !isUnknown(name)), unknown: names.filter(isUnknown) };
}

/** ofborg's commit-title rule: `foo, bar{,-bin}: update` → foo, bar, bar-bin. */
export function attrsFromCommitTitle(title: string): string[] {
  const firstLine = title.split("\n", 1)[0] ?? "";
  if (WIP_TITLE.test(firstLine)) return [];
  const colon = firstLine.indexOf(":");
  if (colon < 0) return [];
  const names = splitTopLevelCommas(firstLine.slice(0, colon))
    .map((part) => part.trim())
    .filter((part) => part !== "" && part.toLowerCase() !== "treewide")
    .flatMap((part) => expandBraces(part));
  return unique(names);
}

/** Package names from `pkgs/by-name/<shard>/<name>/…`, where the shard is the name's first two characters, lowercased. */
export function attrsFromChangedFiles(files: string[]): string[] {
  const names: string[] = [];
  for (const file of files) {
    const [pkgs, byName, shard, name, rest] = file.split("/");
    if (pkgs !== "pkgs" || byName !== "by-name" || name === undefined || !rest) continue;
    if (!BY_NAME_PACKAGE.test(name) || shard !== name.slice(0, 2).toLowerCase()) continue;
    names.push(name);
  }
  return unique(names);
}

function decide(args: {
  source: TargetSource;
  label: string;
  candidates: string[];
  cap: number;
  extra?: string[];
}): TargetChoice {
  const candidates = unique(args.candidates);
  const valid = candidates.filter(isValidAttrPath);
  const invalid = candidates.filter((attr) => !isValidAttrPath(attr));
  const dropped =
    invalid.length > 0 ? [`dropped ${count(invalid.length, "invalid attr name")}: ${list(invalid)}`] : [];

  if (valid.length === 0) {
    return nothing(args.source, dropped.join(", "));
  }

  const targets = valid.slice(0, args.cap).map((attr) => ({ attr, source: args.source }));
  const overflow = valid.slice(args.cap);
  const amount =
    overflow.length > 0 ? `${targets.length} of ${valid.length} attrs` : count(targets.length, "attr");
  const details = [
    ...(overflow.length > 0 ? [`${overflow.length} more over the cap of ${args.cap}`] : []),
    ...dropped,
    ...(args.extra ?? []),
  ];
  const note = [`${amount} ${args.label}`, ...details].join("; ");
  return { targets, overflow, source: args.source, note };
}

function nothing(source: TargetSource | null, why: string): TargetChoice {
  return { targets: [], overflow: [], source, note: `nothing to build — ${why}; host, pick attrs` };
}

function normaliseCap(cap: number | undefined): number {
  if (cap === undefined || !Number.isFinite(cap)) return DEFAULT_TARGET_CAP;
  return Math.max(1, Math.floor(cap));
}

/** Splits on commas outside braces, so `firefox{-esr,}, thunderbird` keeps its brace group. */
function splitTopLevelCommas(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") depth++;
    else if (c === "}" && depth > 0) depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The first few names, quoted and shortened, for a note the host reads. */
function list(names: string[]): string {
  const shown = names.slice(0, LISTED_NAMES).map((name) => {
    const chars = Array.from(name.replace(/\p{C}/gu, ""));
    return `“${chars.slice(0, 40).join("")}${chars.length > 40 ? "…" : ""}”`;
  });
  const more = names.length > LISTED_NAMES ? ` and ${names.length - LISTED_NAMES} more` : "";
  return shown.join(", ") + more;
}
