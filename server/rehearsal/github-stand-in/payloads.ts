import { createHash } from "node:crypto";
import type { ChangedFile, CommitRecord, PullRequestRefs } from "./git";
import type {
  AuthorAssociation,
  CheckState,
  StandInComment,
  StandInMergeState,
  StandInPullRequest,
  StandInReviewRecord,
} from "./types";

/**
 * GitHub's REST JSON shapes (as documented for pulls.get, pulls.listFiles, pulls.listCommits,
 * actions.listWorkflowRunsForRepo and actions.listWorkflowRunArtifacts), filled from git.
 */
export interface PayloadContext {
  apiUrl: string;
  repo: string;
}

const WEB_URL = "https://github.com";

function numericId(seed: string): number {
  return createHash("sha256").update(seed).digest().readUInt32BE(0) % 900_000_000 + 1_000_000;
}

function nodeId(prefix: string, seed: string): string {
  return `${prefix}_kwDO${Buffer.from(seed).toString("base64url")}`;
}

export function userJson(ctx: PayloadContext, login: string, type: "User" | "Organization" = "User") {
  const id = numericId(`user:${login}`);
  return {
    login,
    id,
    node_id: nodeId("U", login),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    url: `${ctx.apiUrl}/users/${login}`,
    html_url: `${WEB_URL}/${login}`,
    type,
    site_admin: false,
  };
}

export function repoJson(ctx: PayloadContext, fullName: string, fork: boolean) {
  const [owner = "", name = ""] = fullName.split("/");
  return {
    id: numericId(`repo:${fullName}`),
    node_id: nodeId("R", fullName),
    name,
    full_name: fullName,
    private: false,
    owner: userJson(ctx, owner, fork ? "User" : "Organization"),
    html_url: `${WEB_URL}/${fullName}`,
    fork,
    url: `${ctx.apiUrl}/repos/${fullName}`,
    clone_url: `${WEB_URL}/${fullName}.git`,
    default_branch: "master",
    visibility: "public",
  };
}

export interface PullRequestStats {
  commits: number;
  additions: number;
  deletions: number;
  changedFiles: number;
}

/** The GraphQL id GitHub gives a PR (what `enqueuePullRequest` takes as `pullRequestId`). */
export function pullRequestNodeId(repo: string, number: number): string {
  return nodeId("PR", `${repo}#${number}`);
}

export function parsePullRequestNodeId(id: string): { repo: string; number: number } | null {
  const match = /^PR_kwDO([A-Za-z0-9_-]+)$/.exec(id);
  if (!match?.[1]) return null;
  const seed = /^(.+)#(\d+)$/.exec(Buffer.from(match[1], "base64url").toString("utf8"));
  return seed?.[1] && seed[2] ? { repo: seed[1], number: Number(seed[2]) } : null;
}

export function pullRequestJson(
  ctx: PayloadContext,
  pr: StandInPullRequest,
  refs: PullRequestRefs,
  stats: PullRequestStats,
  times: { createdAt: string; updatedAt: string },
  merging?: StandInMergeState,
) {
  const baseRef = pr.baseRef ?? "master";
  const merged = pr.merged ?? false;
  const state = merged ? "closed" : (pr.state ?? "open");
  const draft = pr.draft ?? false;
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  const webBase = `${WEB_URL}/${ctx.repo}`;
  const headRef = `pr-${pr.number}`;
  const [baseOwner = ""] = ctx.repo.split("/");
  const forkName = `${pr.author}/${ctx.repo.split("/")[1] ?? "nixpkgs"}`;
  // GitHub stops computing mergeability once a PR is merged.
  const mergeable = merged ? null : refs.mergeSha !== null;
  const mergeableState = merged ? "unknown" : !mergeable ? "dirty" : draft ? "draft" : "clean";
  const closedAt = state === "closed" ? times.updatedAt : null;

  return {
    url: `${apiBase}/pulls/${pr.number}`,
    id: numericId(`pr:${ctx.repo}#${pr.number}`),
    node_id: pullRequestNodeId(ctx.repo, pr.number),
    html_url: `${webBase}/pull/${pr.number}`,
    diff_url: `${webBase}/pull/${pr.number}.diff`,
    patch_url: `${webBase}/pull/${pr.number}.patch`,
    issue_url: `${apiBase}/issues/${pr.number}`,
    commits_url: `${apiBase}/pulls/${pr.number}/commits`,
    review_comments_url: `${apiBase}/pulls/${pr.number}/comments`,
    review_comment_url: `${apiBase}/pulls/comments{/number}`,
    comments_url: `${apiBase}/issues/${pr.number}/comments`,
    statuses_url: `${apiBase}/statuses/${refs.headSha}`,
    number: pr.number,
    state,
    locked: false,
    title: pr.title,
    user: userJson(ctx, pr.author),
    body: pr.body ?? null,
    labels: (pr.labels ?? []).map((name) => ({
      id: numericId(`label:${name}`),
      node_id: nodeId("LA", name),
      url: `${apiBase}/labels/${encodeURIComponent(name)}`,
      name,
      description: null,
      color: "ededed",
      default: false,
    })),
    milestone: null,
    active_lock_reason: null,
    created_at: times.createdAt,
    updated_at: times.updatedAt,
    closed_at: closedAt,
    merged_at: merged ? closedAt : null,
    merge_commit_sha: refs.mergeSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: {
      label: `${pr.author}:${headRef}`,
      ref: headRef,
      sha: refs.headSha,
      user: userJson(ctx, pr.author),
      repo: repoJson(ctx, forkName, true),
    },
    base: {
      label: `${baseOwner}:${baseRef}`,
      ref: baseRef,
      sha: refs.baseSha,
      user: userJson(ctx, baseOwner, "Organization"),
      repo: repoJson(ctx, ctx.repo, false),
    },
    author_association: "CONTRIBUTOR",
    auto_merge: merging?.autoMerge
      ? { enabled_by: userJson(ctx, merging.autoMerge.enabledBy), merge_method: "merge", commit_title: null, commit_message: null }
      : null,
    draft,
    merged,
    mergeable,
    rebaseable: mergeable,
    mergeable_state: mergeableState,
    merged_by: merged && merging?.mergedBy ? userJson(ctx, merging.mergedBy) : null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: true,
    commits: stats.commits,
    additions: stats.additions,
    deletions: stats.deletions,
    changed_files: stats.changedFiles,
  };
}

export function fileJson(ctx: PayloadContext, headSha: string, file: ChangedFile) {
  const path = file.filename.split("/").map(encodeURIComponent).join("/");
  return {
    sha: file.blobSha,
    filename: file.filename,
    status: file.status,
    additions: file.additions,
    deletions: file.deletions,
    changes: file.additions + file.deletions,
    blob_url: `${WEB_URL}/${ctx.repo}/blob/${headSha}/${path}`,
    raw_url: `${WEB_URL}/${ctx.repo}/raw/${headSha}/${path}`,
    contents_url: `${ctx.apiUrl}/repos/${ctx.repo}/contents/${path}?ref=${headSha}`,
    ...(file.previousFilename === null ? {} : { previous_filename: file.previousFilename }),
  };
}

export function commitJson(ctx: PayloadContext, commit: CommitRecord) {
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  return {
    sha: commit.sha,
    node_id: nodeId("C", commit.sha),
    commit: {
      author: { name: commit.authorName, email: commit.authorEmail, date: commit.authorDate },
      committer: { name: commit.committerName, email: commit.committerEmail, date: commit.committerDate },
      message: commit.message,
      tree: { sha: commit.tree, url: `${apiBase}/git/trees/${commit.tree}` },
      url: `${apiBase}/git/commits/${commit.sha}`,
      comment_count: 0,
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    },
    url: `${apiBase}/commits/${commit.sha}`,
    html_url: `${WEB_URL}/${ctx.repo}/commit/${commit.sha}`,
    comments_url: `${apiBase}/commits/${commit.sha}/comments`,
    author: null,
    committer: null,
    parents: commit.parents.map((sha) => ({
      sha,
      url: `${apiBase}/commits/${sha}`,
      html_url: `${WEB_URL}/${ctx.repo}/commit/${sha}`,
    })),
  };
}

/** Workflow runs the stand-in invents for a PR: nixpkgs' `PR` workflow and an unrelated one. */
export const WORKFLOWS = [
  { kind: 1, name: "PR", path: ".github/workflows/pr.yml" },
  { kind: 2, name: "Check cherry-picks", path: ".github/workflows/check-cherry-picks.yml" },
] as const;

export const ARTIFACTS = [
  { kind: 1, name: "comparison" },
  { kind: 2, name: "maintainers" },
] as const;

const RUN_ID_BASE = 10_000_000_000;
const ARTIFACT_ID_BASE = 3_000_000_000;

export const runId = (prNumber: number, kind: number) => RUN_ID_BASE + prNumber * 10 + kind;
export const artifactId = (prNumber: number, kind: number) => ARTIFACT_ID_BASE + prNumber * 10 + kind;

export function decodeId(id: number, base: "run" | "artifact"): { prNumber: number; kind: number } | null {
  const offset = id - (base === "run" ? RUN_ID_BASE : ARTIFACT_ID_BASE);
  if (!Number.isSafeInteger(offset) || offset <= 0) return null;
  return { prNumber: Math.floor(offset / 10), kind: offset % 10 };
}

export function workflowRunJson(
  ctx: PayloadContext,
  pr: StandInPullRequest,
  refs: PullRequestRefs,
  workflow: (typeof WORKFLOWS)[number],
) {
  const id = runId(pr.number, workflow.kind);
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  const createdAt = new Date(Date.parse(refs.headCommittedAt) + 60_000).toISOString();
  const updatedAt = new Date(Date.parse(refs.headCommittedAt) + 20 * 60_000).toISOString();
  return {
    id,
    name: workflow.name,
    node_id: nodeId("WFR", String(id)),
    head_branch: `pr-${pr.number}`,
    head_sha: refs.headSha,
    path: workflow.path,
    display_title: pr.title,
    run_number: pr.number,
    event: "pull_request_target",
    status: "completed",
    conclusion: "success",
    workflow_id: numericId(`workflow:${workflow.path}`),
    url: `${apiBase}/actions/runs/${id}`,
    html_url: `${WEB_URL}/${ctx.repo}/actions/runs/${id}`,
    pull_requests: [],
    created_at: createdAt,
    updated_at: updatedAt,
    run_attempt: 1,
    run_started_at: createdAt,
    jobs_url: `${apiBase}/actions/runs/${id}/jobs`,
    logs_url: `${apiBase}/actions/runs/${id}/logs`,
    artifacts_url: `${apiBase}/actions/runs/${id}/artifacts`,
    cancel_url: `${apiBase}/actions/runs/${id}/cancel`,
    rerun_url: `${apiBase}/actions/runs/${id}/rerun`,
    workflow_url: `${apiBase}/actions/workflows/${numericId(`workflow:${workflow.path}`)}`,
    head_commit: { id: refs.headSha, tree_id: null, message: pr.title, timestamp: refs.headCommittedAt },
  };
}

export function artifactJson(
  ctx: PayloadContext,
  pr: StandInPullRequest,
  refs: PullRequestRefs,
  artifact: (typeof ARTIFACTS)[number],
  sizeInBytes: number,
) {
  const id = artifactId(pr.number, artifact.kind);
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  const createdAt = new Date(Date.parse(refs.headCommittedAt) + 15 * 60_000);
  const expired = pr.ciArtifactExpired ?? false;
  const expiresAt = expired ? new Date(Date.now() - 86_400_000) : new Date(createdAt.getTime() + 90 * 86_400_000);
  return {
    id,
    node_id: nodeId("MDg", String(id)),
    name: artifact.name,
    size_in_bytes: sizeInBytes,
    url: `${apiBase}/actions/artifacts/${id}`,
    archive_download_url: `${apiBase}/actions/artifacts/${id}/zip`,
    expired,
    digest: null,
    created_at: createdAt.toISOString(),
    updated_at: createdAt.toISOString(),
    expires_at: expiresAt.toISOString(),
    workflow_run: {
      id: runId(pr.number, 1),
      repository_id: numericId(`repo:${ctx.repo}`),
      head_repository_id: numericId(`repo:${pr.author}`),
      head_branch: `pr-${pr.number}`,
      head_sha: refs.headSha,
    },
  };
}

export function reviewJson(ctx: PayloadContext, prNumber: number, review: StandInReviewRecord, commitId: string, association: AuthorAssociation) {
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  return {
    id: review.id,
    node_id: nodeId("PRR", String(review.id)),
    user: userJson(ctx, review.user),
    body: review.body ?? "",
    state: review.state,
    html_url: `${WEB_URL}/${ctx.repo}/pull/${prNumber}#pullrequestreview-${review.id}`,
    pull_request_url: `${apiBase}/pulls/${prNumber}`,
    author_association: association,
    submitted_at: review.submittedAt,
    commit_id: commitId,
  };
}

export function commentJson(ctx: PayloadContext, comment: StandInComment, association: AuthorAssociation) {
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  return {
    id: comment.id,
    node_id: nodeId("IC", String(comment.id)),
    url: `${apiBase}/issues/comments/${comment.id}`,
    html_url: `${WEB_URL}/${ctx.repo}/pull/${comment.prNumber}#issuecomment-${comment.id}`,
    issue_url: `${apiBase}/issues/${comment.prNumber}`,
    body: comment.body,
    user: userJson(ctx, comment.user),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: association,
  };
}

/** nixpkgs' required check is the GitHub Actions job "no PR failures" (app id 15368). */
export const NO_PR_FAILURES = "no PR failures";

export function checkRunJson(ctx: PayloadContext, prNumber: number, headSha: string, state: Exclude<CheckState, "missing">, at: string) {
  const id = numericId(`check-run:${prNumber}:${headSha}`);
  const completed = state !== "pending";
  return {
    id,
    node_id: nodeId("CR", String(id)),
    head_sha: headSha,
    external_id: "",
    url: `${ctx.apiUrl}/repos/${ctx.repo}/check-runs/${id}`,
    html_url: `${WEB_URL}/${ctx.repo}/actions/runs/${runId(prNumber, 1)}/job/${id}`,
    details_url: `${WEB_URL}/${ctx.repo}/actions/runs/${runId(prNumber, 1)}/job/${id}`,
    status: completed ? "completed" : "in_progress",
    conclusion: completed ? state : null,
    started_at: at,
    completed_at: completed ? at : null,
    output: { title: null, summary: null, text: null, annotations_count: 0 },
    name: NO_PR_FAILURES,
    check_suite: { id: numericId(`check-suite:${prNumber}:${headSha}`) },
    app: { id: 15368, slug: "github-actions", name: "GitHub Actions" },
    pull_requests: [],
  };
}

export function combinedStatusJson(ctx: PayloadContext, sha: string, state: CheckState, prNumber: number | null, at: string) {
  const apiBase = `${ctx.apiUrl}/repos/${ctx.repo}`;
  const statuses =
    state === "missing" || prNumber === null
      ? []
      : [
          {
            id: numericId(`status:${sha}`),
            node_id: nodeId("SC", sha),
            state: state === "success" ? "success" : state === "failure" ? "failure" : "pending",
            description: state === "success" ? "All PR checks passed" : state === "failure" ? "Some PR checks failed" : "Waiting for checks",
            target_url: `${WEB_URL}/${ctx.repo}/actions/runs/${runId(prNumber, 1)}`,
            context: NO_PR_FAILURES,
            created_at: at,
            updated_at: at,
          },
        ];
  return {
    // GitHub reports "pending" for a commit without any status.
    state: statuses[0]?.state ?? "pending",
    statuses,
    sha,
    total_count: statuses.length,
    repository: repoJson(ctx, ctx.repo, false),
    commit_url: `${apiBase}/commits/${sha}`,
    url: `${apiBase}/commits/${sha}/status`,
  };
}
