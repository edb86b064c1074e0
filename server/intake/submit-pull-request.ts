import { AppError, isAppError } from "../errors";
import type { Db } from "../db/client";
import type { ShowEvents } from "../show/show-events";
import type { PullRequestFacts } from "../github/fetch-pull-request";
import { parsePrReference } from "./parse-pr-reference";
import { cleanNickname } from "./nickname";
import { listQueue, markSubmissionRefused, queueSubmission, recordSubmission } from "./intake.repo";

export interface IntakeDeps {
  db: Db;
  events: ShowEvents;
  repo: string;
  fetchPullRequest: (number: number) => Promise<PullRequestFacts>;
}

export interface SubmissionInput {
  source: "web" | "owncast" | "host";
  /** What to parse: one PR reference. */
  text: string;
  /** What the person actually sent, stored as it was (a chat message may name several PRs). */
  rawText?: string;
  remote?: boolean;
  nickname?: string | null;
  deviceToken?: string | null;
  ip?: string | null;
}

export interface SubmissionResult {
  prNumber: number;
  status: "queued" | "duplicate";
  title: string | null;
  message: string;
  warning: string | null;
}

/** Why GitHub refuses a PR for the show, or null when it may be queued. */
function ineligibility(pr: PullRequestFacts): string | null {
  if (pr.merged) return `PR #${pr.number} is already merged`;
  if (pr.state !== "open") return `PR #${pr.number} is closed`;
  if (pr.draft) return `PR #${pr.number} is still a draft`;
  return null;
}

/**
 * The one path every audience source takes: store the raw submission, parse it, check it with
 * GitHub, queue it. A refusal is stored with its reason and thrown as an AppError for the edge to
 * show; GitHub being unreachable queues the PR anyway with a warning, so nothing is lost.
 */
export async function submitPullRequest(deps: IntakeDeps, input: SubmissionInput): Promise<SubmissionResult> {
  const nickname = cleanNickname(input.nickname);
  const text = input.text.slice(0, 2000);
  const id = await recordSubmission(deps.db, {
    source: input.source,
    remote: input.remote ?? false,
    rawText: (input.rawText ?? input.text).slice(0, 2000),
    nickname,
    deviceToken: input.deviceToken ?? null,
    ip: input.ip ?? null,
  });

  const parsed = parsePrReference(text, { repo: deps.repo });
  if (!parsed.ok) {
    await markSubmissionRefused(deps.db, id, parsed.reason);
    throw new AppError("invalid_pr_reference", parsed.reason);
  }
  const prNumber = parsed.numbers[0]!;

  let facts: PullRequestFacts | null = null;
  let warning: string | null = null;
  try {
    facts = await deps.fetchPullRequest(prNumber);
  } catch (error) {
    if (isAppError(error) && (error.code === "not_found" || error.code === "bad_request")) {
      await markSubmissionRefused(deps.db, id, error.message, prNumber);
      throw error;
    }
    warning = `Could not check PR #${prNumber} with GitHub (${isAppError(error) ? error.message : "no answer"}); it is queued and will be checked before it builds.`;
  }
  if (facts) {
    const reason = ineligibility(facts);
    if (reason) {
      await markSubmissionRefused(deps.db, id, reason, prNumber);
      throw new AppError("conflict", `${reason}: only open PRs can be built on stage.`);
    }
  }

  const { duplicate } = await queueSubmission(deps.db, id, prNumber, {
    title: facts?.title ?? null,
    author: facts?.author ?? null,
    headSha: facts?.headSha ?? null,
    baseRef: facts?.baseRef ?? null,
  });
  deps.events.emit("queue-changed", await listQueue(deps.db));
  const title = facts?.title ?? null;
  return {
    prNumber,
    status: duplicate ? "duplicate" : "queued",
    title,
    warning,
    message: duplicate
      ? `PR #${prNumber} is already in the queue; your vote is counted with the others.`
      : `PR #${prNumber}${title ? ` “${title}”` : ""} is in the queue.`,
  };
}
