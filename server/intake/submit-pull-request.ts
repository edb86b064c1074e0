import { AppError, isAppError } from "../errors";
import type { Db } from "../db/client";
import type { ShowEvents } from "../show/show-events";
import type { ShowSettingsStore } from "../show/show-settings";
import type { PullRequestFacts } from "../github/fetch-pull-request";
import { parsePrReference } from "./parse-pr-reference";
import { cleanNickname } from "./nickname";
import { ineligibilityReason, type EligibilityRules } from "./eligibility";
import type { SubmissionLimiter } from "./rate-limit";
import { findDevice, listQueue, markSubmissionRefused, queueSubmission, recordSubmission } from "./intake.repo";

export interface IntakeDeps {
  db: Db;
  events: ShowEvents;
  repo: string;
  fetchPullRequest: (number: number) => Promise<PullRequestFacts>;
  settings: ShowSettingsStore;
  limiter: SubmissionLimiter;
  rules: EligibilityRules;
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
  /** The room code the submitter typed or arrived with (needed from remote devices when the host requires it). */
  roomCode?: string | null;
}

export interface SubmissionResult {
  prNumber: number;
  status: "queued" | "duplicate";
  state: string;
  title: string | null;
  message: string;
  warning: string | null;
}

// A burst of submissions re-reads and broadcasts the queue once, not once per submission.
const QUEUE_COALESCE_MS = 50;
const queueScheduled = new WeakSet<ShowEvents>();

export async function emitQueue(deps: Pick<IntakeDeps, "db" | "events">): Promise<void> {
  if (queueScheduled.has(deps.events)) return;
  queueScheduled.add(deps.events);
  setTimeout(() => {
    queueScheduled.delete(deps.events);
    listQueue(deps.db, { includeHidden: true })
      .then((queue) => deps.events.emit("queue-changed", queue))
      .catch(() => undefined); // the show is closing; the next snapshot has the queue
  }, QUEUE_COALESCE_MS);
}

function rateLimited(limit: string, retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const who = limit === "device" ? "from this phone" : limit === "ip" ? "from this network" : "for the whole show";
  return new AppError("rate_limited", `Too many submissions ${who}; try again in ${seconds} s.`, { retryAfterSeconds: seconds });
}

/**
 * The one path every audience source takes. Spam is turned away first (429 with when to retry);
 * everything else is stored as sent before it is checked, then parsed, checked with GitHub and
 * queued. A refusal is stored with its reason and thrown as an AppError for the edge to show;
 * GitHub being unreachable queues the PR anyway with a warning, so nothing is lost.
 */
export async function submitPullRequest(deps: IntakeDeps, input: SubmissionInput): Promise<SubmissionResult> {
  const blocked = deps.limiter.check({ device: input.deviceToken ?? null, ip: input.ip ?? null });
  if (blocked) throw rateLimited(blocked.limit, blocked.retryAfterMs);

  const device = input.deviceToken ? await findDevice(deps.db, input.deviceToken) : null;
  const remote = input.remote ?? device?.remote ?? true;
  const nickname = cleanNickname(input.nickname ?? device?.nickname);
  const id = await recordSubmission(deps.db, {
    source: input.source,
    remote,
    rawText: (input.rawText ?? input.text).slice(0, 2000),
    nickname,
    deviceToken: input.deviceToken ?? null,
    ip: input.ip ?? null,
  });
  const refuse = async (code: ConstructorParameters<typeof AppError>[0], reason: string, prNumber?: number) => {
    await markSubmissionRefused(deps.db, id, reason, prNumber);
    return new AppError(code, reason);
  };

  if (device?.banned) throw await refuse("forbidden", `The host removed this device from the show${device.bannedReason ? `: ${device.bannedReason}` : "."}`);
  const settings = await deps.settings.get();
  if (settings.submissionsLocked) throw await refuse("conflict", "Submissions are closed for now; the host will open them again.");
  if (input.source === "web" && remote && settings.requireRoomCodeForRemote && input.roomCode?.toUpperCase() !== settings.roomCode) {
    throw await refuse("forbidden", "Remote submissions need the room code shown on the stream; enter it above.");
  }

  const parsed = parsePrReference(input.text.slice(0, 2000), { repo: deps.repo });
  if (!parsed.ok) throw await refuse("invalid_pr_reference", parsed.reason);
  const prNumber = parsed.numbers[0]!;

  let facts: PullRequestFacts | null = null;
  let warning: string | null = null;
  try {
    facts = await deps.fetchPullRequest(prNumber);
  } catch (error) {
    if (isAppError(error) && (error.code === "not_found" || error.code === "bad_request")) {
      throw await refuse(error.code, error.message, prNumber);
    }
    warning = `Could not check PR #${prNumber} with GitHub (${isAppError(error) ? error.message : "no answer"}); it is queued and will be checked before it builds.`;
  }
  if (facts) {
    const reason = ineligibilityReason(facts, deps.rules);
    if (reason) throw await refuse("conflict", `${reason} Only open PRs that fit the show can be built on stage.`, prNumber);
  }

  const { duplicate, state } = await queueSubmission(
    deps.db,
    id,
    prNumber,
    {
      title: facts?.title ?? null,
      author: facts?.author ?? null,
      headSha: facts?.headSha ?? null,
      baseRef: facts?.baseRef ?? null,
      labels: facts?.labels,
    },
    { initialState: settings.approveBeforeShown ? "pending" : "queued", deviceToken: input.deviceToken },
  );
  await emitQueue(deps);
  const title = facts?.title ?? null;
  const named = `PR #${prNumber}${title ? ` “${title}”` : ""}`;
  let message: string;
  if (state === "rejected") message = `${named} was turned down by the host.`;
  else if (duplicate) message = `${named} is already in the queue; your vote is counted with the others.`;
  else if (state === "pending") message = `${named} is waiting for the host's approval.`;
  else message = `${named} is in the queue.`;
  return { prNumber, status: duplicate ? "duplicate" : "queued", state, title, warning, message };
}
