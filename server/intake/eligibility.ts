import type { PullRequestFacts } from "../github/fetch-pull-request";

/**
 * Whether GitHub's facts let a PR onto the stage. Pure: the reasons are shown to the submitter and
 * on the host console, never used to drop a submission silently.
 */
export interface EligibilityRules {
  /** Exact names or globs with a trailing `*` (`release-*`). */
  allowedBranches: string[];
  /** Largest number of Linux rebuilds (from the `10.rebuild-linux: …` label) the show will take. */
  maxRebuilds: number;
}

export const DEFAULT_ALLOWED_BRANCHES = ["master", "staging", "staging-next", "release-*"];

const REBUILD_LABEL = /^10\.rebuild-linux: (\d+)(?:-(\d+)|(\+))?$/;

function branchAllowed(branch: string, allowed: string[]): boolean {
  return allowed.some((pattern) => (pattern.endsWith("*") ? branch.startsWith(pattern.slice(0, -1)) : branch === pattern));
}

/**
 * The smallest rebuild count the labels guarantee. Buckets overlap (1 rebuild sets both `1` and
 * `1-10`; 600 sets `501+` and `501-1000`), so take the largest lower bound over all of them.
 */
export function minimumRebuilds(labels: string[]): number | null {
  let min: number | null = null;
  for (const label of labels) {
    const match = REBUILD_LABEL.exec(label);
    if (!match) continue;
    const lower = Number(match[1]);
    min = min === null ? lower : Math.max(min, lower);
  }
  return min;
}

export function ineligibilityReason(pr: PullRequestFacts, rules: EligibilityRules): string | null {
  if (pr.merged) return `PR #${pr.number} is already merged.`;
  if (pr.state !== "open") return `PR #${pr.number} is closed.`;
  if (pr.draft) return `PR #${pr.number} is still a draft; the author has not asked for review yet.`;
  if (!branchAllowed(pr.baseRef, rules.allowedBranches)) {
    return `PR #${pr.number} targets ${pr.baseRef}; this show builds PRs against ${rules.allowedBranches.join(", ")}.`;
  }
  if (pr.labels.includes("2.status: merge conflict")) {
    return `PR #${pr.number} has a merge conflict; it cannot be built until the author rebases.`;
  }
  const rebuilds = minimumRebuilds(pr.labels);
  if (rebuilds !== null && rebuilds > rules.maxRebuilds) {
    return `PR #${pr.number} rebuilds more than ${rebuilds} packages on Linux; this show takes at most ${rules.maxRebuilds}.`;
  }
  return null;
}
