import { FINISHED_BUILD_STATUSES, type BuildView } from "../show/views";
import type { CheckState, MergeGitHub, PullRequestState, QueueFacts, ReviewFact } from "./github-merge-api";
import { NO_PR_FAILURES } from "./github-merge-api";
import type { ChecklistLine, ChecklistView, MergeMethod } from "./views";

/**
 * What must hold before a maintainer's click may merge, each line with its reason, in the order
 * the panel shows them. `gatherChecklistFacts` asks GitHub (fresh, at the moment of asking);
 * `evaluateChecklist` is pure, so each rule is tested on its own.
 */
export interface ChecklistFacts {
  prNumber: number;
  repo: string;
  maintainer: { login: string; canPush: boolean | null };
  builds: BuildView[];
  pr: PullRequestState;
  queue: QueueFacts;
  noPrFailures: CheckState;
  reviews: ReviewFact[];
  now: Date;
}

/** Who counts as a committer in a review: GitHub's author_association for people with write access. */
const COMMITTER_ASSOCIATIONS = new Set(["OWNER", "MEMBER", "COLLABORATOR"]);

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : "—");

/**
 * The build the stage trusts for each system: the latest one (as the queue's verdict does). A
 * build older than the newest one's head does not count for the newest head.
 */
export function latestBuildPerSystem(builds: BuildView[]): BuildView[] {
  const latest = new Map<string, BuildView>();
  for (const b of [...builds].sort((x, y) => y.id - x.id)) if (!latest.has(b.system)) latest.set(b.system, b);
  return [...latest.values()].sort((a, b) => a.system.localeCompare(b.system));
}

/** The head SHA of the most recent build: what the stage last tested, and what a merge must pin. */
export function builtHeadSha(builds: BuildView[]): string | null {
  return [...builds].sort((x, y) => y.id - x.id).find((b) => b.headSha !== null)?.headSha ?? null;
}

function line(key: ChecklistLine["key"], label: string, ok: boolean, reason: string, action: ChecklistLine["action"] = null): ChecklistLine {
  return { key, label, ok, reason, action };
}

function openLine(f: ChecklistFacts): ChecklistLine {
  const label = "Open and not merged";
  if (f.pr.merged) return line("open", label, false, "Already merged on GitHub.");
  if (f.pr.state !== "open") return line("open", label, false, "Closed on GitHub.");
  if (f.pr.draft) return line("open", label, false, "Still a draft on GitHub: mark it ready for review first.");
  if (f.queue.isInMergeQueue) return line("open", label, false, "Already in the merge queue.");
  if (f.queue.autoMergeEnabled) return line("open", label, false, "Auto-merge is already on: it joins the merge queue when its checks pass.");
  return line("open", label, true, `Open against ${f.pr.baseRef}.`);
}

function headLine(f: ChecklistFacts, builtSha: string | null): ChecklistLine {
  const label = "Head is the commit the stage built";
  if (builtSha === null) return line("head", label, false, "Nothing was built on stage yet.");
  if (builtSha !== f.pr.headSha) {
    return line("head", label, false, `GitHub's head is ${short(f.pr.headSha)} but the stage built ${short(builtSha)}: rebuild to test the new head.`, "rebuild");
  }
  return line("head", label, true, `GitHub's head ${short(f.pr.headSha)} is what the stage built.`);
}

function buildsLine(f: ChecklistFacts, builtSha: string | null): ChecklistLine {
  const label = "Built on every system";
  const latest = latestBuildPerSystem(f.builds);
  if (latest.length === 0) return line("builds", label, false, "No build on stage yet: press Build first.");
  const problems: string[] = [];
  for (const b of latest) {
    if (!FINISHED_BUILD_STATUSES.includes(b.status)) problems.push(`still building on ${b.system}`);
    else if (b.status === "failed") {
      const where = b.failedDrv ? ` (${b.failedDrv}${b.failedPhase ? ` in ${b.failedPhase}` : ""})` : "";
      problems.push(`failed on ${b.system}${where}`);
    } else if (b.status === "nothing-to-build") problems.push(`nothing was built on ${b.system}`);
    else if (b.status !== "passed") problems.push(`${b.status} on ${b.system}`);
    else if (b.headSha !== builtSha) problems.push(`${b.system} passed an older head ${short(b.headSha)}`);
  }
  if (problems.length > 0) return line("builds", label, false, `${capitalise(problems.join("; "))}.`);
  return line("builds", label, true, `Passed on ${latest.map((b) => b.system).join(", ")}.`);
}

function ciLine(f: ChecklistFacts): ChecklistLine {
  const label = `“${NO_PR_FAILURES}” green or pending`;
  switch (f.noPrFailures) {
    case "success":
      return line("ci", label, true, "Green on GitHub.");
    case "pending":
      return line("ci", label, true, "Still running on GitHub: the PR goes in once it is green.");
    case "missing":
      return line("ci", label, true, "Not reported yet on GitHub: the PR goes in once it is green.");
    case "failure":
      return line("ci", label, false, "Failing on GitHub: the PR cannot go in until CI is fixed.");
  }
}

function reviewsLine(f: ChecklistFacts): ChecklistLine {
  const label = "No changes requested by a committer";
  // A reviewer's latest approving, requesting or dismissed review counts; comments change nothing.
  const latest = new Map<string, ReviewFact>();
  for (const r of f.reviews) {
    if (r.state === "COMMENTED" || r.state === "PENDING") continue;
    latest.set(r.login.toLowerCase(), r);
  }
  const blocking = [...latest.values()].filter((r) => r.state === "CHANGES_REQUESTED" && COMMITTER_ASSOCIATIONS.has(r.authorAssociation));
  if (blocking.length > 0) {
    return line("reviews", label, false, `${blocking.map((r) => `@${r.login}`).join(", ")} requested changes: they must approve or dismiss first.`);
  }
  return line("reviews", label, true, "No committer has outstanding requested changes.");
}

function authorLine(f: ChecklistFacts): ChecklistLine {
  const label = "Not approving their own PR";
  if (f.pr.author.toLowerCase() === f.maintainer.login.toLowerCase()) {
    return line("author", label, false, `@${f.maintainer.login} opened #${f.prNumber}: another maintainer has to approve it.`);
  }
  return line("author", label, true, `#${f.prNumber} is by @${f.pr.author}.`);
}

function pushLine(f: ChecklistFacts): ChecklistLine {
  const label = `Can push to ${f.repo}`;
  if (f.maintainer.canPush === true) return line("push", label, true, `GitHub says @${f.maintainer.login} can push.`);
  if (f.maintainer.canPush === false) {
    return line("push", label, false, `GitHub says @${f.maintainer.login} cannot push to ${f.repo}: only committers can merge.`);
  }
  return line("push", label, false, `GitHub did not say whether @${f.maintainer.login} can push; sign them in again.`);
}

export function chooseMethod(queue: QueueFacts, noPrFailures: CheckState): MergeMethod {
  if (!queue.hasMergeQueue) return "rest-merge";
  // As nixpkgs' merge bot does: green goes into the queue now, pending waits for checks with auto-merge.
  return noPrFailures === "success" ? "enqueue" : "auto-merge";
}

export function evaluateChecklist(f: ChecklistFacts): ChecklistView {
  const builtSha = builtHeadSha(f.builds);
  const lines = [openLine(f), headLine(f, builtSha), buildsLine(f, builtSha), ciLine(f), reviewsLine(f), authorLine(f), pushLine(f)];
  return {
    prNumber: f.prNumber,
    maintainer: f.maintainer.login,
    title: f.pr.title,
    baseRef: f.pr.baseRef,
    builtSha,
    githubHeadSha: f.pr.headSha,
    method: chooseMethod(f.queue, f.noPrFailures),
    lines,
    ready: lines.every((l) => l.ok),
    checkedAt: f.now.toISOString(),
  };
}

/** Asks GitHub, with the maintainer's token, for everything the checklist needs. */
export async function gatherChecklistFacts(
  api: MergeGitHub,
  input: { prNumber: number; repo: string; login: string; builds: BuildView[]; now: () => Date },
): Promise<ChecklistFacts> {
  const pr = await api.pullRequest(input.prNumber);
  const [reviews, queue, noPrFailures, canPush] = await Promise.all([
    api.reviews(input.prNumber),
    api.queueFacts(input.prNumber, pr.baseRef),
    api.noPrFailures(pr.headSha),
    api.canPush(),
  ]);
  return {
    prNumber: input.prNumber,
    repo: input.repo,
    maintainer: { login: input.login, canPush },
    builds: input.builds,
    pr,
    queue,
    noPrFailures,
    reviews,
    now: input.now(),
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
