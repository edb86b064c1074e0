export interface StandInPullRequest {
  number: number;
  title: string;
  author: string;
  state?: "open" | "closed";
  merged?: boolean;
  draft?: boolean;
  /** Defaults to "master". */
  baseRef?: string;
  labels?: string[];
  body?: string;
  /** A finished `PR` workflow run with a `comparison` artifact exists for the current head. */
  hasCiResults?: boolean;
  /** That artifact is past its retention: listed with `expired: true`, and its download answers 410. */
  ciArtifactExpired?: boolean;
  rebuildsByPlatform?: Record<string, string[]>;
  /** The `no PR failures` check of the current head; defaults to "success". "missing" reports nothing. */
  noPrFailures?: CheckState;
  /** Where `no PR failures` is reported: a check run (GitHub Actions, the default) or a legacy commit status. */
  noPrFailuresAs?: "check-run" | "status";
  /** Reviews already on the PR; reviews posted through the API are added after these. */
  reviews?: StandInReview[];
  /**
   * What the merge queue does with this PR once enqueued. Every read of its queue entry moves it one
   * step: "merge" goes QUEUED → AWAITING_CHECKS → MERGEABLE → merged; "fail" goes QUEUED →
   * AWAITING_CHECKS → UNMERGEABLE → removed; "hold" stays QUEUED. Defaults to "merge".
   */
  mergeQueueOutcome?: "merge" | "fail" | "hold";
}

/** "missing": no check run or status with that name exists for the head (CI has not reported yet). */
export type CheckState = "success" | "pending" | "failure" | "missing";

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";

export type AuthorAssociation = "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "FIRST_TIME_CONTRIBUTOR" | "NONE";

export interface StandInReview {
  user: string;
  state: ReviewState;
  body?: string;
  /** Defaults to MEMBER for users with push access and CONTRIBUTOR for everyone else. */
  authorAssociation?: AuthorAssociation;
  /** Defaults to the PR's head when the review is read. */
  commitId?: string;
}

/** A GitHub account the stand-in knows: what `GET /user` says and what it may do in the repository. */
export interface StandInUser {
  login: string;
  name?: string;
  /** Repository role; push access is "write" and above. Defaults to "read". */
  permission?: "read" | "triage" | "write" | "maintain" | "admin";
  /** A personal access token for this user (device-flow tokens are issued on approval). */
  token?: string;
  /** Like the nixpkgs-committers team: a plain REST merge skips a required merge queue instead of a 405. */
  bypassMergeQueue?: boolean;
}

export interface StandInComment {
  id: number;
  prNumber: number;
  user: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface StandInReviewRecord extends StandInReview {
  id: number;
  submittedAt: string;
}

export type MergeQueueEntryState = "QUEUED" | "AWAITING_CHECKS" | "MERGEABLE" | "UNMERGEABLE" | "LOCKED";

/** What the stand-in remembers about a PR's way into master, for tests to assert on. */
export interface StandInMergeState {
  merged: boolean;
  mergedBy: string | null;
  /** How it was merged: through the queue, or a plain REST merge (bypassing the queue if there was one). */
  mergedVia: "merge-queue" | "rest" | null;
  queueEntry: { id: string; position: number; state: MergeQueueEntryState; headSha: string } | null;
  autoMerge: { enabledBy: string; enabledAt: string } | null;
}

export interface RecordedRequest {
  method: string;
  /** Path and query string as the client sent them. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
}

export interface InjectedResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON, strings as they are. */
  body?: unknown;
}

export interface FailureMatch {
  method?: string;
  /** Tested against the request's path and query string. */
  pathPattern: RegExp;
  /** Tested against the request body, e.g. /enqueuePullRequest/ to pick one GraphQL operation. */
  bodyPattern?: RegExp;
}
