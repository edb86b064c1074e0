import { AppError } from "../errors";
import type { Db } from "../db/client";
import { buildReviewReport, MAX_GITHUB_COMMENT_LENGTH } from "../builds/nixpkgs-review-report";
import { FINISHED_BUILD_STATUSES, type BuildView, type LogLine } from "../show/views";
import { builtHeadSha, latestBuildPerSystem } from "./checklist";
import { isGitHubRequestError } from "../github/client";
import type { MergeGitHub } from "./github-merge-api";
import { findResultComment, saveResultComment } from "./merge.repo";

/**
 * The stage's results on the PR, as a nixpkgs-review comment: posted once per PR, then edited on
 * every later post (a rebuild, a retry), so the PR never collects a pile of bot comments.
 */
export interface ResultCommentDeps {
  db: Db;
  builds: { buildsOfPr(prNumber: number): Promise<BuildView[]> };
  logs: { read(buildId: number, fromSeq?: number, limit?: number): LogLine[] };
}

export interface PostedComment {
  url: string;
  edited: boolean;
  headSha: string;
}

/** The builds a comment reports: each system's latest, all of the head the stage built last. */
export async function reportableBuilds(deps: ResultCommentDeps, prNumber: number): Promise<{ headSha: string; builds: BuildView[] }> {
  const all = await deps.builds.buildsOfPr(prNumber);
  const headSha = builtHeadSha(all);
  if (headSha === null) throw new AppError("not_found", `Nothing was built for #${prNumber} on stage, so there is no result to post.`);
  const builds = latestBuildPerSystem(all).filter((b) => b.headSha === headSha);
  const running = builds.find((b) => !FINISHED_BUILD_STATUSES.includes(b.status));
  if (running) throw new AppError("conflict", `#${prNumber} is still building on ${running.system}; post the result when it has finished.`);
  return { headSha, builds };
}

export function renderResultComment(deps: ResultCommentDeps, prNumber: number, headSha: string, builds: BuildView[]): string {
  const logTail = (buildId: number, drvName: string, lines: number) =>
    deps.logs
      .read(buildId, 1, Number.MAX_SAFE_INTEGER)
      .filter((l) => l.drv === drvName)
      .slice(-lines)
      .map((l) => l.text);
  const { markdown } = buildReviewReport({ prNumber, headSha, checkoutMode: builds[0]?.checkoutMode ?? "merge", builds, logTail });
  return markdown.slice(0, MAX_GITHUB_COMMENT_LENGTH);
}

/** Posts (or edits) the comment with `api`; GitHub's errors are left for the caller to map. */
export async function writeResultComment(deps: ResultCommentDeps, api: MergeGitHub, prNumber: number): Promise<PostedComment> {
  const { headSha, builds } = await reportableBuilds(deps, prNumber);
  const body = renderResultComment(deps, prNumber, headSha, builds);
  const existing = await findResultComment(deps.db, prNumber);
  if (existing) {
    try {
      const { value } = await api.updateComment(Number(existing.commentId), body);
      await saveResultComment(deps.db, { prNumber, commentId: String(value.id), url: value.url, headSha });
      return { url: value.url, edited: true, headSha };
    } catch (error) {
      // Someone deleted the comment on GitHub: post a new one instead.
      if (!(isGitHubRequestError(error) && error.status === 404)) throw error;
    }
  }
  const { value } = await api.createComment(prNumber, body);
  await saveResultComment(deps.db, { prNumber, commentId: String(value.id), url: value.url, headSha });
  return { url: value.url, edited: false, headSha };
}
