import { z } from "zod";
import { AppError } from "../errors";
import { conditionalGet, parseRepo, toGitHubAppError, type GitHubClient } from "./client";

/** What the show needs to know about a PR, as a plain object. */
export interface PullRequestFacts {
  number: number;
  title: string;
  author: string;
  state: "open" | "closed";
  merged: boolean;
  draft: boolean;
  baseRef: string;
  baseSha: string;
  headSha: string;
  /** The test merge commit; null while GitHub computes it or when the PR conflicts. */
  mergeCommitSha: string | null;
  /** null means GitHub is still computing mergeability: ask again shortly. */
  mergeable: boolean | null;
  /** GraphQL id, needed to enqueue the PR. */
  nodeId: string;
  labels: string[];
  htmlUrl: string;
  updatedAt: string;
}

const PullRequestPayload = z.object({
  number: z.number().int(),
  title: z.string(),
  user: z.object({ login: z.string() }).nullable(),
  state: z.enum(["open", "closed"]),
  merged: z.boolean().optional(),
  draft: z.boolean().optional(),
  base: z.object({ ref: z.string(), sha: z.string() }),
  head: z.object({ sha: z.string() }),
  merge_commit_sha: z.string().nullable(),
  mergeable: z.boolean().nullable().optional(),
  node_id: z.string(),
  labels: z.array(z.object({ name: z.string() })),
  html_url: z.string(),
  updated_at: z.string(),
});

export async function fetchPullRequest(
  client: GitHubClient,
  params: { repo: string; number: number },
): Promise<PullRequestFacts> {
  const { owner, repo } = parseRepo(params.repo);
  if (!Number.isSafeInteger(params.number) || params.number <= 0) {
    throw new AppError("invalid_pr_reference", `#${params.number} is not a pull request number`);
  }
  let data: unknown;
  try {
    ({ data } = await conditionalGet(client, `/repos/${owner}/${repo}/pulls/${params.number}`));
  } catch (error) {
    throw toGitHubAppError(error, client, { notFound: `PR #${params.number} does not exist in ${params.repo}` });
  }
  const parsed = PullRequestPayload.safeParse(data);
  if (!parsed.success) {
    throw new AppError("github_failed", `GitHub's answer for PR #${params.number} had an unexpected shape`, {
      issues: parsed.error.issues.slice(0, 5),
    });
  }
  const pr = parsed.data;
  return {
    number: pr.number,
    title: pr.title,
    author: pr.user?.login ?? "ghost",
    state: pr.state,
    merged: pr.merged ?? false,
    draft: pr.draft ?? false,
    baseRef: pr.base.ref,
    baseSha: pr.base.sha,
    headSha: pr.head.sha,
    mergeCommitSha: pr.merge_commit_sha,
    mergeable: pr.mergeable ?? null,
    nodeId: pr.node_id,
    labels: pr.labels.map((label) => label.name),
    htmlUrl: pr.html_url,
    updatedAt: pr.updated_at,
  };
}
