import { parseRepo, type GitHubClient } from "../github/client";
import { clipForAudit, type GitHubAnswer } from "./github-answers";
import type { MergeQueueState } from "./views";

/**
 * The GitHub calls approve-and-merge makes, with one maintainer's token. Reads return plain facts;
 * writes also return GitHub's answer for the audit. Failures are thrown as Octokit raised them and
 * mapped by the caller (github-answers.ts), which knows who asked for what.
 *
 * Writes are never retried by the client: a retried POST after a 5xx can post a comment twice.
 */
export const NO_PR_FAILURES = "no PR failures";
const NO_RETRY = { retries: 0 };

export type CheckState = "success" | "pending" | "failure" | "missing";

/** What a merge decision needs to know about the PR, read fresh (no ETag cache) at the moment of asking. */
export interface PullRequestState {
  number: number;
  title: string;
  author: string;
  state: "open" | "closed";
  merged: boolean;
  draft: boolean;
  baseRef: string;
  headSha: string;
  /** GraphQL id, which enqueuePullRequest and enablePullRequestAutoMerge take. */
  nodeId: string;
}

export interface ReviewFact {
  login: string;
  state: string;
  authorAssociation: string;
  submittedAt: string | null;
}

export interface QueueFacts {
  hasMergeQueue: boolean;
  isInMergeQueue: boolean;
  autoMergeEnabled: boolean;
}

export interface QueueEntryFacts {
  merged: boolean;
  state: "OPEN" | "CLOSED" | "MERGED";
  entry: { position: number; state: MergeQueueState } | null;
  autoMergeEnabled: boolean;
}

export interface Written<T> {
  value: T;
  answer: GitHubAnswer;
}

export interface MergeGitHub {
  viewer(): Promise<{ login: string; name: string | null; scopes: string[] | null }>;
  canPush(): Promise<boolean>;
  pullRequest(number: number): Promise<PullRequestState>;
  reviews(number: number): Promise<ReviewFact[]>;
  noPrFailures(headSha: string): Promise<CheckState>;
  queueFacts(number: number, baseRef: string): Promise<QueueFacts>;
  queueEntry(number: number): Promise<QueueEntryFacts>;
  approve(number: number, sha: string, body: string): Promise<Written<null>>;
  enqueue(nodeId: string, sha: string): Promise<Written<{ position: number | null; state: MergeQueueState | null }>>;
  enableAutoMerge(nodeId: string, sha: string): Promise<Written<null>>;
  restMerge(number: number, sha: string): Promise<Written<{ mergeSha: string | null }>>;
  createComment(number: number, body: string): Promise<Written<{ id: number; url: string }>>;
  updateComment(id: number, body: string): Promise<Written<{ id: number; url: string }>>;
}

const FAILED_CONCLUSIONS = new Set(["failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"]);

export function createMergeGitHub(client: GitHubClient, repoName: string): MergeGitHub {
  const { owner, repo } = parseRepo(repoName);
  const written = <T>(value: T, status: number, data: unknown): Written<T> => ({ value, answer: { status, body: clipForAudit(data) } });

  return {
    async viewer() {
      const response = await client.rest.users.getAuthenticated();
      const header = response.headers["x-oauth-scopes"];
      return {
        login: response.data.login,
        name: response.data.name ?? null,
        scopes: typeof header === "string" ? header.split(/,\s*/).filter(Boolean) : null,
      };
    },

    async canPush() {
      const { data } = await client.rest.repos.get({ owner, repo });
      return data.permissions?.push ?? false;
    },

    async pullRequest(number) {
      const { data } = await client.rest.pulls.get({ owner, repo, pull_number: number });
      return {
        number: data.number,
        title: data.title,
        author: data.user?.login ?? "ghost",
        state: data.state === "closed" ? "closed" : "open",
        merged: data.merged ?? false,
        draft: data.draft ?? false,
        baseRef: data.base.ref,
        headSha: data.head.sha,
        nodeId: data.node_id,
      };
    },

    async reviews(number) {
      const reviews = await client.paginate(client.rest.pulls.listReviews, { owner, repo, pull_number: number, per_page: 100 });
      return reviews.map((r) => ({
        login: r.user?.login ?? "ghost",
        state: r.state,
        authorAssociation: r.author_association,
        submittedAt: r.submitted_at ?? null,
      }));
    },

    async noPrFailures(headSha) {
      const { data } = await client.rest.checks.listForRef({ owner, repo, ref: headSha, check_name: NO_PR_FAILURES, filter: "latest" });
      const run = data.check_runs.find((r) => r.name === NO_PR_FAILURES);
      if (run) {
        if (run.status !== "completed") return "pending";
        return FAILED_CONCLUSIONS.has(run.conclusion ?? "") ? "failure" : "success";
      }
      // Older setups (ofborg) reported commit statuses instead of check runs.
      const status = await client.rest.repos.getCombinedStatusForRef({ owner, repo, ref: headSha });
      const legacy = status.data.statuses.find((s) => s.context === NO_PR_FAILURES);
      if (!legacy) return "missing";
      return legacy.state === "success" ? "success" : legacy.state === "pending" ? "pending" : "failure";
    },

    async queueFacts(number, baseRef) {
      const data = await client.graphql<{
        repository: { mergeQueue: { id: string } | null; pullRequest: { isInMergeQueue: boolean; autoMergeRequest: { enabledAt: string } | null } | null };
      }>(
        `query($owner: String!, $name: String!, $number: Int!, $branch: String!) {
  repository(owner: $owner, name: $name) {
    mergeQueue(branch: $branch) { id }
    pullRequest(number: $number) { isInMergeQueue autoMergeRequest { enabledAt } }
  }
}`,
        { owner, name: repo, number, branch: baseRef },
      );
      return {
        hasMergeQueue: data.repository.mergeQueue !== null,
        isInMergeQueue: data.repository.pullRequest?.isInMergeQueue ?? false,
        autoMergeEnabled: data.repository.pullRequest?.autoMergeRequest != null,
      };
    },

    async queueEntry(number) {
      const data = await client.graphql<{
        repository: {
          pullRequest: {
            state: "OPEN" | "CLOSED" | "MERGED";
            merged: boolean;
            mergeQueueEntry: { position: number; state: MergeQueueState } | null;
            autoMergeRequest: { enabledAt: string } | null;
          };
        };
      }>(
        `query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) { state merged mergeQueueEntry { position state } autoMergeRequest { enabledAt } }
  }
}`,
        { owner, name: repo, number },
      );
      const pr = data.repository.pullRequest;
      return {
        merged: pr.merged,
        state: pr.state,
        entry: pr.mergeQueueEntry ? { position: pr.mergeQueueEntry.position, state: pr.mergeQueueEntry.state } : null,
        autoMergeEnabled: pr.autoMergeRequest != null,
      };
    },

    async approve(number, sha, body) {
      const response = await client.rest.pulls.createReview({
        owner,
        repo,
        pull_number: number,
        commit_id: sha,
        event: "APPROVE",
        body,
        request: NO_RETRY,
      });
      return written(null, response.status, { id: response.data.id, state: response.data.state, commit_id: response.data.commit_id });
    },

    async enqueue(nodeId, sha) {
      const data = await client.graphql<{
        enqueuePullRequest: { mergeQueueEntry: { id: string; position: number; state: MergeQueueState } | null } | null;
      }>(
        `mutation($id: ID!, $head: GitObjectID!) {
  enqueuePullRequest(input: { pullRequestId: $id, expectedHeadOid: $head }) {
    mergeQueueEntry { id position state }
  }
}`,
        { id: nodeId, head: sha, request: NO_RETRY },
      );
      const entry = data.enqueuePullRequest?.mergeQueueEntry ?? null;
      return written({ position: entry?.position ?? null, state: entry?.state ?? null }, 200, { data });
    },

    async enableAutoMerge(nodeId, sha) {
      const data = await client.graphql<unknown>(
        `mutation($id: ID!, $head: GitObjectID!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $id, expectedHeadOid: $head, mergeMethod: MERGE }) {
    pullRequest { number autoMergeRequest { enabledAt mergeMethod } }
  }
}`,
        { id: nodeId, head: sha, request: NO_RETRY },
      );
      return written(null, 200, { data });
    },

    async restMerge(number, sha) {
      const response = await client.rest.pulls.merge({ owner, repo, pull_number: number, sha, merge_method: "merge", request: NO_RETRY });
      return written({ mergeSha: response.data.sha ?? null }, response.status, response.data);
    },

    async createComment(number, body) {
      const response = await client.rest.issues.createComment({ owner, repo, issue_number: number, body, request: NO_RETRY });
      return written({ id: response.data.id, url: response.data.html_url }, response.status, { id: response.data.id, html_url: response.data.html_url });
    },

    async updateComment(id, body) {
      const response = await client.rest.issues.updateComment({ owner, repo, comment_id: id, body, request: NO_RETRY });
      return written({ id: response.data.id, url: response.data.html_url }, response.status, { id: response.data.id, html_url: response.data.html_url });
    },
  };
}
