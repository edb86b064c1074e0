import { randomBytes } from "node:crypto";
import { canPush, type Accounts } from "./accounts";
import type { PullRequestRefs } from "./git";
import type { GraphqlError, GraphqlResponse } from "./graphql";
import {
  NO_PR_FAILURES,
  checkRunJson,
  combinedStatusJson,
  commentJson,
  parsePullRequestNodeId,
  pullRequestNodeId,
  reviewJson,
  type PayloadContext,
} from "./payloads";
import type {
  AuthorAssociation,
  CheckState,
  MergeQueueEntryState,
  StandInComment,
  StandInMergeState,
  StandInPullRequest,
  StandInReviewRecord,
  StandInUser,
} from "./types";

/**
 * How a PR gets into master on the stand-in, following nixpkgs' rules: reviews, the required
 * `no PR failures` check, comments, REST merges (405 on a merge-queue branch unless the user may
 * bypass it, 409 when the head moved) and the GraphQL merge queue (enqueue, auto-merge, the entry's
 * position and state). Answers carry GitHub's documented status codes and messages.
 */
export interface RestAnswer {
  status: number;
  body: unknown;
}

export interface PullRequestAccess {
  ctx(): PayloadContext;
  get(number: number): StandInPullRequest | undefined;
  all(): StandInPullRequest[];
  update(number: number, patch: Partial<StandInPullRequest>): void;
  refs(number: number): Promise<PullRequestRefs | null>;
}

const DOCS = {
  merge: "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
  reviews: "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
  comments: "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
  updateComment: "https://docs.github.com/rest/issues/comments#update-an-issue-comment",
};
export const MAX_COMMENT_LENGTH = 65_536;
const QUEUE_STEPS: Record<"merge" | "fail", MergeQueueEntryState[]> = {
  merge: ["QUEUED", "AWAITING_CHECKS", "MERGEABLE"],
  fail: ["QUEUED", "AWAITING_CHECKS", "UNMERGEABLE"],
};
const FIRST_REVIEW_ID = 2_100_000_000;
const FIRST_COMMENT_ID = 2_500_000_000;

const message = (status: number, text: string, documentationUrl: string, extra: Record<string, unknown> = {}): RestAnswer => ({
  status,
  body: { message: text, documentation_url: documentationUrl, status: String(status), ...extra },
});

const gqlError = (type: string, path: string, text: string): GraphqlError => ({
  type,
  path: [path],
  locations: [{ line: 2, column: 3 }],
  message: text,
});

interface QueueEntry {
  id: string;
  prNumber: number;
  baseRef: string;
  headSha: string;
  enqueuedBy: string;
  enqueuedAt: string;
  step: number;
}

export class MergeDesk {
  private readonly queueBranches: Set<string>;
  private readonly queue: QueueEntry[] = [];
  private readonly autoMerge = new Map<number, { enabledBy: string; enabledAt: string }>();
  private readonly mergedBy = new Map<number, { login: string; via: "merge-queue" | "rest" }>();
  private readonly postedReviews = new Map<number, StandInReviewRecord[]>();
  private readonly comments = new Map<number, StandInComment>();
  private nextReviewId = FIRST_REVIEW_ID;
  private nextCommentId = FIRST_COMMENT_ID;

  constructor(
    private readonly prs: PullRequestAccess,
    private readonly accounts: Accounts,
    mergeQueueBranches: string[],
  ) {
    this.queueBranches = new Set(mergeQueueBranches);
  }

  setMergeQueue(branch: string, required: boolean): void {
    if (required) this.queueBranches.add(branch);
    else this.queueBranches.delete(branch);
  }

  hasMergeQueue(branch: string): boolean {
    return this.queueBranches.has(branch);
  }

  state(number: number): StandInMergeState {
    const entry = this.queue.find((e) => e.prNumber === number);
    const merged = this.mergedBy.get(number);
    return {
      merged: this.prs.get(number)?.merged ?? false,
      mergedBy: merged?.login ?? null,
      mergedVia: merged?.via ?? null,
      queueEntry: entry ? { id: entry.id, position: this.position(entry), state: this.entryState(entry), headSha: entry.headSha } : null,
      autoMerge: this.autoMerge.get(number) ?? null,
    };
  }

  association(login: string): AuthorAssociation {
    const user = this.accounts.user(login);
    return user && canPush(user) ? "MEMBER" : "CONTRIBUTOR";
  }

  // ---- reviews ------------------------------------------------------------------------------

  reviews(number: number): StandInReviewRecord[] {
    const pr = this.prs.get(number);
    const preset = (pr?.reviews ?? []).map((review, i) => ({
      ...review,
      id: FIRST_REVIEW_ID - 1000 + i,
      submittedAt: new Date(0).toISOString(),
    }));
    return [...preset, ...(this.postedReviews.get(number) ?? [])];
  }

  async reviewsReply(number: number): Promise<RestAnswer> {
    const refs = await this.prs.refs(number);
    const ctx = this.prs.ctx();
    return {
      status: 200,
      body: this.reviews(number).map((review) =>
        reviewJson(ctx, number, review, review.commitId ?? refs?.headSha ?? "", review.authorAssociation ?? this.association(review.user)),
      ),
    };
  }

  async createReview(number: number, viewer: StandInUser, body: Record<string, unknown>): Promise<RestAnswer> {
    const pr = this.prs.get(number)!;
    const event = body.event;
    if (event !== "APPROVE" && event !== "REQUEST_CHANGES" && event !== "COMMENT") {
      return message(422, "Unprocessable Entity", DOCS.reviews, { errors: ["Event must be one of APPROVE, REQUEST_CHANGES or COMMENT"] });
    }
    if (event !== "COMMENT" && viewer.login.toLowerCase() === pr.author.toLowerCase()) {
      const what = event === "APPROVE" ? "approve" : "request changes on";
      return message(422, "Unprocessable Entity", DOCS.reviews, { errors: [`Review Can not ${what} your own pull request`] });
    }
    if (event !== "APPROVE" && typeof body.body !== "string") {
      return message(422, "Unprocessable Entity", DOCS.reviews, { errors: ["Body is required for REQUEST_CHANGES and COMMENT"] });
    }
    const refs = await this.prs.refs(number);
    const review: StandInReviewRecord = {
      id: this.nextReviewId++,
      user: viewer.login,
      state: event === "APPROVE" ? "APPROVED" : event === "REQUEST_CHANGES" ? "CHANGES_REQUESTED" : "COMMENTED",
      body: typeof body.body === "string" ? body.body : "",
      commitId: typeof body.commit_id === "string" ? body.commit_id : refs?.headSha,
      submittedAt: new Date().toISOString(),
    };
    this.postedReviews.set(number, [...(this.postedReviews.get(number) ?? []), review]);
    return { status: 200, body: reviewJson(this.prs.ctx(), number, review, review.commitId ?? "", this.association(viewer.login)) };
  }

  // ---- checks -------------------------------------------------------------------------------

  checkState(pr: StandInPullRequest): CheckState {
    return pr.noPrFailures ?? "success";
  }

  /** The PR whose current head is `sha`; checks belong to heads, and an old head has none here. */
  private async prWithHead(sha: string): Promise<StandInPullRequest | null> {
    for (const pr of this.prs.all()) {
      if ((await this.prs.refs(pr.number))?.headSha === sha) return pr;
    }
    return null;
  }

  async checkRunsReply(ref: string, url: URL): Promise<RestAnswer> {
    const pr = await this.prWithHead(ref);
    const state = pr ? this.checkState(pr) : "missing";
    const nameFilter = url.searchParams.get("check_name");
    const runs =
      pr && state !== "missing" && (pr.noPrFailuresAs ?? "check-run") === "check-run" && (nameFilter === null || nameFilter === NO_PR_FAILURES)
        ? [checkRunJson(this.prs.ctx(), pr.number, ref, state, new Date().toISOString())]
        : [];
    return { status: 200, body: { total_count: runs.length, check_runs: runs } };
  }

  async combinedStatusReply(ref: string): Promise<RestAnswer> {
    const pr = await this.prWithHead(ref);
    const reported = pr && pr.noPrFailuresAs === "status" ? this.checkState(pr) : "missing";
    return { status: 200, body: combinedStatusJson(this.prs.ctx(), ref, reported, pr?.number ?? null, new Date().toISOString()) };
  }

  // ---- REST merge ---------------------------------------------------------------------------

  async restMerge(number: number, viewer: StandInUser, body: Record<string, unknown>): Promise<RestAnswer> {
    const pr = this.prs.get(number)!;
    const refs = await this.prs.refs(number);
    if (!canPush(viewer)) return message(403, "Must have admin rights to Repository.", DOCS.merge);
    if (pr.merged || pr.state === "closed" || !refs) return message(405, "Pull Request is not mergeable", DOCS.merge);
    if (typeof body.sha === "string" && body.sha !== refs.headSha) {
      return message(409, "Head branch was modified. Review and try the merge again.", DOCS.merge);
    }
    const method = typeof body.merge_method === "string" ? body.merge_method : "merge";
    if (method !== "merge") {
      return message(405, `${method === "squash" ? "Squash" : "Rebase"} merges are not allowed on this repository.`, DOCS.merge);
    }
    if (pr.draft) return message(405, "Pull Request is still a draft", DOCS.merge);
    if (refs.mergeSha === null) return message(405, "Pull Request is not mergeable", DOCS.merge);
    const baseRef = pr.baseRef ?? "master";
    if (this.hasMergeQueue(baseRef) && !viewer.bypassMergeQueue) {
      return message(405, "Changes must be made through the merge queue", DOCS.merge);
    }
    this.markMerged(number, viewer.login, "rest");
    return { status: 200, body: { sha: refs.mergeSha, merged: true, message: "Pull Request successfully merged" } };
  }

  private markMerged(number: number, login: string, via: "merge-queue" | "rest"): void {
    this.prs.update(number, { merged: true, state: "closed" });
    this.mergedBy.set(number, { login, via });
    this.autoMerge.delete(number);
    const index = this.queue.findIndex((e) => e.prNumber === number);
    if (index >= 0) this.queue.splice(index, 1);
  }

  // ---- GraphQL merge queue ------------------------------------------------------------------

  /** Shared refusals of enqueuePullRequest and enablePullRequestAutoMerge. */
  private async mutationTarget(
    field: string,
    viewer: StandInUser,
    pullRequestId: unknown,
    expectedHeadOid: unknown,
  ): Promise<{ pr: StandInPullRequest; refs: PullRequestRefs } | { errors: GraphqlError[] }> {
    const id = typeof pullRequestId === "string" ? pullRequestId : "";
    const decoded = parsePullRequestNodeId(id);
    const pr = decoded && decoded.repo.toLowerCase() === this.prs.ctx().repo.toLowerCase() ? this.prs.get(decoded.number) : undefined;
    const refs = pr ? await this.prs.refs(pr.number) : null;
    if (!pr || !refs) {
      return { errors: [gqlError("NOT_FOUND", field, `Could not resolve to a node with the global id of '${id}' (${field}.input.pullRequestId).`)] };
    }
    if (!canPush(viewer)) {
      return { errors: [gqlError("FORBIDDEN", field, `${viewer.login} does not have permission to merge pull requests in ${this.prs.ctx().repo}.`)] };
    }
    if (pr.merged) return { errors: [gqlError("UNPROCESSABLE", field, "Pull request is already merged")] };
    if (pr.state === "closed") return { errors: [gqlError("UNPROCESSABLE", field, "Pull request is closed")] };
    if (pr.draft) return { errors: [gqlError("UNPROCESSABLE", field, "Pull request is in draft state")] };
    if (typeof expectedHeadOid === "string" && expectedHeadOid !== refs.headSha) {
      return { errors: [gqlError("UNPROCESSABLE", field, "Head branch was modified. Review and try the merge again.")] };
    }
    if (this.queue.some((e) => e.prNumber === pr.number)) {
      return { errors: [gqlError("UNPROCESSABLE", field, "This pull request is already in the merge queue.")] };
    }
    if (refs.mergeSha === null) return { errors: [gqlError("UNPROCESSABLE", field, "Pull request is not mergeable")] };
    return { pr, refs };
  }

  async enqueue(viewer: StandInUser, args: { pullRequestId: unknown; expectedHeadOid: unknown }): Promise<GraphqlResponse> {
    const field = "enqueuePullRequest";
    const target = await this.mutationTarget(field, viewer, args.pullRequestId, args.expectedHeadOid);
    if ("errors" in target) return { data: { [field]: null }, errors: target.errors };
    const { pr, refs } = target;
    const baseRef = pr.baseRef ?? "master";
    if (!this.hasMergeQueue(baseRef)) {
      return { data: { [field]: null }, errors: [gqlError("UNPROCESSABLE", field, `The ${baseRef} branch does not have a merge queue.`)] };
    }
    const check = this.checkState(pr);
    if (check !== "success") {
      const why = check === "failure" ? "is failing" : "is expected";
      return { data: { [field]: null }, errors: [gqlError("UNPROCESSABLE", field, `Required status check "${NO_PR_FAILURES}" ${why}.`)] };
    }
    const entry = this.addToQueue(pr, refs.headSha, viewer.login);
    return {
      data: { [field]: { clientMutationId: null, mergeQueueEntry: this.entryJson(entry) } },
    };
  }

  async enableAutoMerge(viewer: StandInUser, args: { pullRequestId: unknown; expectedHeadOid: unknown }): Promise<GraphqlResponse> {
    const field = "enablePullRequestAutoMerge";
    const target = await this.mutationTarget(field, viewer, args.pullRequestId, args.expectedHeadOid);
    if ("errors" in target) return { data: { [field]: null }, errors: target.errors };
    const { pr } = target;
    // GitHub will not wait for checks that have already passed: the caller should enqueue instead.
    if (this.checkState(pr) === "success") {
      return { data: { [field]: null }, errors: [gqlError("UNPROCESSABLE", field, "Pull request is in clean status")] };
    }
    const request = this.autoMerge.get(pr.number) ?? { enabledBy: viewer.login, enabledAt: new Date().toISOString() };
    this.autoMerge.set(pr.number, request);
    return {
      data: {
        [field]: {
          clientMutationId: null,
          pullRequest: { id: args.pullRequestId, number: pr.number, autoMergeRequest: this.autoMergeJson(request) },
        },
      },
    };
  }

  /**
   * `repository(owner, name) { mergeQueue(branch) { … } pullRequest(number) { … } }`, answering the
   * fields the app selects. Reading a PR's `mergeQueueEntry` moves the entry one step (see
   * `StandInPullRequest.mergeQueueOutcome`), so a watcher sees the queue progress without timers.
   */
  async repositoryQuery(query: string, args: { owner: unknown; name: unknown; branch: unknown; number: unknown }): Promise<GraphqlResponse> {
    const { repo } = this.prs.ctx();
    const fullName = `${String(args.owner)}/${String(args.name)}`;
    if (fullName.toLowerCase() !== repo.toLowerCase()) {
      return { data: { repository: null }, errors: [gqlError("NOT_FOUND", "repository", `Could not resolve to a Repository with the name '${fullName}'.`)] };
    }
    const repository: Record<string, unknown> = {};
    if (/\bmergeQueue\s*\(/.test(query)) {
      const branch = typeof args.branch === "string" ? args.branch : "master";
      repository.mergeQueue = this.hasMergeQueue(branch)
        ? { id: `MQ_${Buffer.from(`${repo}:${branch}`).toString("base64url")}`, entries: { totalCount: this.queue.filter((e) => e.baseRef === branch).length } }
        : null;
    }
    if (/\bpullRequest\s*\(/.test(query)) {
      const number = Number(args.number);
      const pr = this.prs.get(number);
      const refs = pr ? await this.prs.refs(number) : null;
      if (!pr || !refs) {
        return {
          data: { repository: { ...repository, pullRequest: null } },
          errors: [gqlError("NOT_FOUND", "repository", `Could not resolve to a PullRequest with the number of ${String(args.number)}.`)],
        };
      }
      this.promoteAutoMerge(pr, refs);
      if (/\bmergeQueueEntry\b/.test(query)) this.advance(pr);
      const current = this.prs.get(number)!;
      const entry = this.queue.find((e) => e.prNumber === number);
      const autoMerge = this.autoMerge.get(number);
      repository.pullRequest = {
        id: pullRequestNodeId(repo, number),
        number,
        state: current.merged ? "MERGED" : (current.state ?? "open").toUpperCase(),
        merged: current.merged ?? false,
        isDraft: current.draft ?? false,
        headRefOid: refs.headSha,
        baseRefName: current.baseRef ?? "master",
        isInMergeQueue: entry !== undefined,
        mergeQueueEntry: entry ? this.entryJson(entry) : null,
        autoMergeRequest: autoMerge ? this.autoMergeJson(autoMerge) : null,
      };
    }
    return { data: { repository } };
  }

  /** Auto-merge on a merge-queue branch enqueues the PR once its required check passes. */
  private promoteAutoMerge(pr: StandInPullRequest, refs: PullRequestRefs): void {
    const request = this.autoMerge.get(pr.number);
    if (!request || this.checkState(pr) !== "success") return;
    this.addToQueue(pr, refs.headSha, request.enabledBy);
  }

  private addToQueue(pr: StandInPullRequest, headSha: string, enqueuedBy: string): QueueEntry {
    const entry: QueueEntry = {
      id: `MQE_${randomBytes(9).toString("base64url")}`,
      prNumber: pr.number,
      baseRef: pr.baseRef ?? "master",
      headSha,
      enqueuedBy,
      enqueuedAt: new Date().toISOString(),
      step: 0,
    };
    this.autoMerge.delete(pr.number);
    this.queue.push(entry);
    return entry;
  }

  private advance(pr: StandInPullRequest): void {
    const entry = this.queue.find((e) => e.prNumber === pr.number);
    const outcome = pr.mergeQueueOutcome ?? "merge";
    if (!entry || outcome === "hold") return;
    entry.step += 1;
    if (entry.step < QUEUE_STEPS[outcome].length) return;
    if (outcome === "merge") {
      this.markMerged(pr.number, entry.enqueuedBy, "merge-queue");
    } else {
      this.queue.splice(this.queue.indexOf(entry), 1);
    }
  }

  private entryState(entry: QueueEntry): MergeQueueEntryState {
    const pr = this.prs.get(entry.prNumber);
    const steps = QUEUE_STEPS[pr?.mergeQueueOutcome === "fail" ? "fail" : "merge"];
    return steps[Math.min(entry.step, steps.length - 1)]!;
  }

  private position(entry: QueueEntry): number {
    return this.queue.filter((e) => e.baseRef === entry.baseRef).indexOf(entry) + 1;
  }

  private entryJson(entry: QueueEntry) {
    return { id: entry.id, position: this.position(entry), state: this.entryState(entry), enqueuedAt: entry.enqueuedAt, headCommit: { oid: entry.headSha } };
  }

  private autoMergeJson(request: { enabledBy: string; enabledAt: string }) {
    return { enabledAt: request.enabledAt, mergeMethod: "MERGE", enabledBy: { login: request.enabledBy } };
  }

  // ---- comments -----------------------------------------------------------------------------

  commentsOf(number: number): StandInComment[] {
    return [...this.comments.values()].filter((c) => c.prNumber === number);
  }

  listCommentsReply(number: number): RestAnswer {
    const ctx = this.prs.ctx();
    return { status: 200, body: this.commentsOf(number).map((c) => commentJson(ctx, c, this.association(c.user))) };
  }

  createComment(number: number, viewer: StandInUser, body: Record<string, unknown>): RestAnswer {
    const invalid = this.invalidCommentBody(body.body, DOCS.comments);
    if (invalid) return invalid;
    const now = new Date().toISOString();
    const comment: StandInComment = { id: this.nextCommentId++, prNumber: number, user: viewer.login, body: body.body as string, createdAt: now, updatedAt: now };
    this.comments.set(comment.id, comment);
    return { status: 201, body: commentJson(this.prs.ctx(), comment, this.association(viewer.login)) };
  }

  updateComment(id: number, viewer: StandInUser, body: Record<string, unknown>): RestAnswer {
    const comment = this.comments.get(id);
    if (!comment) return message(404, "Not Found", DOCS.updateComment);
    if (comment.user.toLowerCase() !== viewer.login.toLowerCase() && !canPush(viewer)) {
      return message(403, "Must have admin rights to Repository.", DOCS.updateComment);
    }
    const invalid = this.invalidCommentBody(body.body, DOCS.updateComment);
    if (invalid) return invalid;
    comment.body = body.body as string;
    comment.updatedAt = new Date().toISOString();
    return { status: 200, body: commentJson(this.prs.ctx(), comment, this.association(comment.user)) };
  }

  deleteComment(id: number): void {
    this.comments.delete(id);
  }

  private invalidCommentBody(value: unknown, documentationUrl: string): RestAnswer | null {
    if (typeof value !== "string" || value.trim() === "") {
      return message(422, "Validation Failed", documentationUrl, {
        errors: [{ resource: "IssueComment", code: "missing_field", field: "body" }],
      });
    }
    if (value.length > MAX_COMMENT_LENGTH) {
      return message(422, "Validation Failed", documentationUrl, {
        errors: [{ resource: "IssueComment", code: "unprocessable", field: "data", message: `Body is too long (maximum is ${MAX_COMMENT_LENGTH} characters)` }],
      });
    }
    return null;
  }
}
