/**
 * What the merge panel and the projector see of approve-and-merge: plain objects, never tokens.
 * A maintainer appears by login, scopes and GitHub's push permission only.
 */

/** How the PR goes in: the merge queue now, auto-merge (queue once checks pass), or a plain REST merge. */
export type MergeMethod = "enqueue" | "auto-merge" | "rest-merge";

export type MergeQueueState = "QUEUED" | "AWAITING_CHECKS" | "MERGEABLE" | "UNMERGEABLE" | "LOCKED";

/**
 * The payload of the `merge-updated` show event: one PR on its way into the base branch.
 * queued: in GitHub's merge queue; auto-merge: waiting for required checks, then the queue;
 * merged: GitHub says merged; dequeued: GitHub took it out of the queue (or auto-merge was turned
 * off, or the PR was closed) without merging it. `message` says what is happening now.
 */
export interface MergeView {
  prNumber: number;
  title: string | null;
  author: string | null;
  baseRef: string;
  maintainer: string;
  headSha: string;
  method: MergeMethod;
  state: "queued" | "auto-merge" | "merged" | "dequeued";
  queuePosition: number | null;
  queueState: MergeQueueState | null;
  /** One line for the person on stage: where the PR is and what happens next. */
  message: string;
  submitters: string[];
  resultCommentUrl: string | null;
  startedAt: string;
  updatedAt: string;
}

export interface MaintainerView {
  login: string;
  name: string | null;
  source: "device-flow" | "environment";
  /** GitHub's `permissions.push` on the repository; null when GitHub could not be asked. */
  canPush: boolean | null;
  /** Classic OAuth scopes from `x-oauth-scopes`; null for fine-grained tokens, which report none. */
  scopes: string[] | null;
  note: string | null;
  signedInAt: string;
}

export interface DeviceLoginView {
  id: string;
  userCode: string;
  verificationUri: string;
  expiresAt: string;
  intervalSeconds: number;
  status: "pending" | "signed-in" | "expired" | "denied" | "failed";
  message: string;
  login: string | null;
}

export type ChecklistKey = "open" | "head" | "builds" | "ci" | "reviews" | "author" | "push";

export interface ChecklistLine {
  key: ChecklistKey;
  ok: boolean;
  label: string;
  reason: string;
  /** "rebuild": the head moved since the build; building again is how to fix it. */
  action: "rebuild" | null;
}

export interface ChecklistView {
  prNumber: number;
  maintainer: string;
  title: string | null;
  baseRef: string | null;
  /** The head SHA the stage built (and what every merge call passes as expected head). */
  builtSha: string | null;
  githubHeadSha: string | null;
  /** What pressing the button will do when every line is ✅. */
  method: MergeMethod | null;
  lines: ChecklistLine[];
  ready: boolean;
  checkedAt: string;
}

export interface MergeAttemptView {
  id: number;
  prNumber: number;
  headSha: string;
  maintainer: string;
  /** enqueue | auto-merge | rest-merge | approve, or "checklist" when the app refused before asking GitHub. */
  method: string;
  outcome: "ok" | "refused" | "error";
  githubStatus: number | null;
  message: string;
  createdAt: string;
}

/** Everything the host's merge panel shows, for one host session. */
export interface MergePanelView {
  deviceFlowEnabled: boolean;
  /** Why sign-in is off, or what to configure; null when it is on. */
  deviceFlowNote: string | null;
  repo: string;
  maintainers: MaintainerView[];
  deviceLogins: DeviceLoginView[];
  merges: MergeView[];
  attempts: MergeAttemptView[];
}
