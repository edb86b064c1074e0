import type { BuildView, DerivationView } from "../show/views";
import { asBuildTarget, PASSTHRU_TESTS_SOURCE, type BuildTarget } from "./build-targets";
import { stripAnsi } from "./parse-internal-json";

/**
 * A build's result in the shapes of nixpkgs-review (`nixpkgs_review/report.py`), so reviewers and
 * tools that read its report.json or its PR comment read ours: report.json with one result per
 * system (broken, non-existent, blacklisted, failed, built, tests; entries `{name, aliases}`),
 * and report.md with the `## \`nixpkgs-review\` result` header, a `### \`<system>\`` section of
 * folded `<details>` lists per system, and the last 20 lines (ANSI stripped, deduplicated) of
 * every failed build under "Error logs", all within one GitHub comment (65,536 characters).
 */

export const MAX_GITHUB_COMMENT_LENGTH = 65_536;
export const FAILURE_TAIL_LINES = 20;

export interface NixpkgsReviewAttr {
  aliases: string[];
  name: string;
}

export interface NixpkgsReviewSystemResult {
  blacklisted: NixpkgsReviewAttr[];
  broken: NixpkgsReviewAttr[];
  built: NixpkgsReviewAttr[];
  failed: NixpkgsReviewAttr[];
  "non-existent": NixpkgsReviewAttr[];
  tests: NixpkgsReviewAttr[];
}

/** Keys in nixpkgs-review's (sorted) order. */
export interface NixpkgsReviewReportJson {
  additional_packages: string[];
  /** nixpkgs-review calls head mode "commit". */
  checkout: "merge" | "commit";
  commit: string;
  "extra-nixpkgs-config": string | null;
  only_packages: string[];
  package_regex: string[];
  pkgs: string | null;
  pr: number;
  result: Record<string, NixpkgsReviewSystemResult>;
  skip_packages: string[];
  skip_packages_regex: string[];
  systems: string[];
}

export interface ReviewReportInput {
  prNumber: number;
  headSha: string;
  checkoutMode: string;
  /** One build per system. */
  builds: BuildView[];
  /** The last `lines` log lines of one derivation of a build (its name, e.g. "hello-1.1"). */
  logTail: (buildId: number, drvName: string, lines: number) => string[];
}

const SYSTEM_ORDER = ["x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"];
const TRUNCATED_LOGS = "\n---\nWARNING: Some logs were not included in this report: there were too many.";
const TRUNCATED_LISTS = "\n---\nWARNING: Some lists were shortened to fit in a GitHub comment; report.json has every attribute.\n";
/** List lengths tried, longest first, when the lists alone do not fit in a comment. */
const LIST_CAPS = [Number.POSITIVE_INFINITY, 1000, 200, 50, 10];

interface SystemReport {
  system: string;
  build: BuildView;
  result: NixpkgsReviewSystemResult;
  /** Failed derivations whose log tails go under "Error logs", with the name to show. */
  failures: Array<{ label: string; drvName: string }>;
}

export function buildReviewReport(input: ReviewReportInput): { json: NixpkgsReviewReportJson; markdown: string } {
  const reports = [...input.builds]
    .sort((a, b) => systemRank(a.system) - systemRank(b.system) || a.system.localeCompare(b.system))
    .map(systemReport);
  const hostAttrs = unique(input.builds.flatMap((b) => b.targets.filter((t) => t.source === "host").map((t) => t.attr))).sort();
  const withTests = input.builds.some((b) => b.targets.some((t) => t.source === PASSTHRU_TESTS_SOURCE));
  const checkout = input.checkoutMode === "head" ? "commit" : "merge";

  const json: NixpkgsReviewReportJson = {
    additional_packages: [],
    checkout,
    commit: input.headSha,
    "extra-nixpkgs-config": null,
    only_packages: hostAttrs,
    package_regex: [],
    pkgs: null,
    pr: input.prNumber,
    result: Object.fromEntries(reports.map((r) => [r.system, r.result])),
    skip_packages: [],
    skip_packages_regex: [],
    systems: reports.map((r) => r.system),
  };

  let command = `nixpkgs-review pr ${input.prNumber}`;
  if (checkout !== "merge") command += ` --checkout ${checkout}`;
  for (const attr of hostAttrs) command += ` --package ${attr}`;
  if (withTests) command += " --tests";
  const header =
    "## `nixpkgs-review` result\n\n" +
    "Generated using [`nixpkgs-review`](https://github.com/Mic92/nixpkgs-review).\n\n" +
    `Command: \`${command}\`\n` +
    `Commit: \`${input.headSha}\`\n`;

  let msg = "";
  for (const cap of LIST_CAPS) {
    msg = header + reports.map((r) => systemSection(r, cap)).join("");
    if (cap !== LIST_CAPS[0]) msg += TRUNCATED_LISTS;
    if (msg.length <= MAX_GITHUB_COMMENT_LENGTH - TRUNCATED_LOGS.length) break;
  }

  for (const report of reports) {
    if (report.failures.length === 0) continue;
    const full = msg + logsSection(report, input.logTail);
    if (full.length > MAX_GITHUB_COMMENT_LENGTH - TRUNCATED_LOGS.length) {
      msg += TRUNCATED_LOGS;
      break;
    }
    msg = full;
  }
  return { json, markdown: msg.slice(0, MAX_GITHUB_COMMENT_LENGTH) };
}

function systemReport(build: BuildView): SystemReport {
  const result: NixpkgsReviewSystemResult = { blacklisted: [], broken: [], built: [], failed: [], "non-existent": [], tests: [] };
  const byDrv = new Map(build.derivations.map((d) => [d.drvPath, d]));
  const failures: SystemReport["failures"] = [];
  const shownDrvs = new Set<string>();
  const drvOfEntry = new Map<NixpkgsReviewAttr, string | null>();

  const add = (list: NixpkgsReviewAttr[], target: BuildTarget) => {
    // Attributes that are the same derivation fold into one entry, as nixpkgs-review's aliases.
    const same = target.drvPath === null ? undefined : list.find((e) => drvOfEntry.get(e) === target.drvPath);
    if (same) {
      same.aliases.push(target.attr);
      return;
    }
    const entry = { aliases: [], name: target.attr };
    drvOfEntry.set(entry, target.drvPath);
    list.push(entry);
  };

  for (const target of build.targets.map(asBuildTarget)) {
    if (target.check === "non-existent") {
      add(result["non-existent"], target);
      continue;
    }
    if (target.check === "broken") {
      add(result.broken, target);
      continue;
    }
    const derivation = target.drvPath === null ? guessDerivation(build.derivations, target) : byDrv.get(target.drvPath);
    if (wasBuilt(build, target, derivation)) {
      add(target.source === PASSTHRU_TESTS_SOURCE ? result.tests : result.built, target);
      continue;
    }
    add(result.failed, target);
    if (derivation?.state === "failed" && !shownDrvs.has(derivation.drvPath)) {
      shownDrvs.add(derivation.drvPath);
      failures.push({ label: target.attr, drvName: derivation.name });
    }
  }
  // The root cause of a dependency failure is a derivation no attribute names: show it too.
  for (const d of build.derivations) {
    if (d.state === "failed" && !shownDrvs.has(d.drvPath)) {
      shownDrvs.add(d.drvPath);
      failures.push({ label: d.name, drvName: d.name });
    }
  }
  for (const list of Object.values(result) as NixpkgsReviewAttr[][]) list.sort((a, b) => a.name.localeCompare(b.name));
  return { system: build.system, build, result, failures };
}

/**
 * The derivation of an attribute whose derivation was not recorded (it was not evaluated before
 * the build, or the caller passed plain views): the one derivation named `<last segment>-<version>`.
 */
function guessDerivation(derivations: DerivationView[], target: BuildTarget): DerivationView | undefined {
  const name = target.attr.slice(target.attr.lastIndexOf(".") + 1);
  const matches = derivations.filter((d) => d.name === name || (d.name.startsWith(`${name}-`) && /^\d/.test(d.name.slice(name.length + 1))));
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * An attribute counts as built when its derivation was built or fetched, or when nix got past
 * evaluation without having to build it (it was in the store already). Without a known
 * derivation, only a build that passed vouches for it.
 */
function wasBuilt(build: BuildView, target: BuildTarget, derivation: DerivationView | undefined): boolean {
  if (derivation) {
    if (derivation.state === "built" || derivation.state === "substituted") return true;
    if (derivation.state === "failed" || derivation.state === "dependency-failed") return false;
    return build.status === "passed";
  }
  if (build.status === "passed") return true;
  return target.drvPath !== null && build.derivations.length > 0 && ["failed", "passed"].includes(build.status);
}

function systemSection(report: SystemReport, cap: number): string {
  const { result, build } = report;
  let msg = "\n---\n";
  msg += `### \`${report.system}\`\n`;
  if (build.status !== "passed" && build.status !== "failed") {
    msg += `:warning: ${escapeHtml(unfinishedNote(build))}\n`;
  } else if (build.error && build.status === "failed" && result.failed.length === 0) {
    msg += `:warning: ${escapeHtml(build.error)}\n`;
  }
  msg += pkgsSection(":fast_forward:", result.broken, "marked as broken and skipped", "package", cap);
  msg += pkgsSection(":fast_forward:", result["non-existent"], "present in ofBorgs evaluation, but not found in the checkout", "package", cap);
  msg += pkgsSection(":fast_forward:", result.blacklisted, "blacklisted", "package", cap);
  msg += pkgsSection(":x:", result.failed, "failed to build", "package", cap);
  msg += pkgsSection(":white_check_mark:", result.tests, "built", "test", cap);
  msg += pkgsSection(":white_check_mark:", result.built, "built", "package", cap);
  return msg;
}

function unfinishedNote(build: BuildView): string {
  const what: Record<string, string> = {
    cancelled: "The build was cancelled",
    interrupted: "The build was interrupted",
    error: "The build did not start",
    "nothing-to-build": "Nothing was built",
    queued: "The build has not started yet",
    fetching: "The build has not started yet",
    running: "The build is still running",
  };
  const head = what[build.status] ?? `The build ended as ${build.status}`;
  return build.error ? `${head}: ${build.error}` : `${head}.`;
}

function pkgsSection(emoji: string, packages: NixpkgsReviewAttr[], msg: string, what: string, cap: number): string {
  if (packages.length === 0) return "";
  const plural = packages.length > 1 ? "s" : "";
  let res = "<details>\n";
  res += `  <summary>${emoji} ${packages.length} ${what}${plural} ${msg}:</summary>\n  <ul>\n`;
  for (const pkg of packages.slice(0, cap)) {
    res += `    <li>${escapeHtml(pkg.name)}`;
    if (pkg.aliases.length > 0) res += ` (${pkg.aliases.map(escapeHtml).join(", ")})`;
    res += "</li>\n";
  }
  if (packages.length > cap) res += `    <li>… and ${packages.length - cap} more</li>\n`;
  res += "  </ul>\n</details>\n";
  return res;
}

function logsSection(report: SystemReport, logTail: ReviewReportInput["logTail"]): string {
  let res = "";
  const seen = new Set<string>();
  for (const failure of report.failures) {
    const lines = logTail(report.build.id, failure.drvName, FAILURE_TAIL_LINES).slice(-FAILURE_TAIL_LINES);
    const tail = escapeHtml(lines.map(stripAnsi).join("\n"));
    if (!tail) continue;
    if (!res) {
      res = "\n---\n";
      res += `<details>\n<summary>Error logs: \`${report.system}\`</summary>\n`;
    }
    if (seen.has(tail)) continue;
    seen.add(tail);
    res += `<details>\n<summary>${escapeHtml(failure.label)}</summary>\n<pre>${tail}</pre>\n</details>\n`;
  }
  if (res) res += "</details>\n";
  return res;
}

function systemRank(system: string): number {
  const index = SYSTEM_ORDER.indexOf(system);
  return index === -1 ? SYSTEM_ORDER.length : index;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" })[c]!);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
