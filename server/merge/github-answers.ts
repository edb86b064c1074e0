import { AppError, isAppError } from "../errors";
import { isGitHubRequestError } from "../github/client";

/**
 * Turns what GitHub answered a maintainer's call into two things: a line for the audit (status and
 * body, as GitHub sent them) and an AppError the person on stage can act on. GitHub's own words
 * are quoted so the committer can look them up; the sentence around them says what to do.
 */
export interface GitHubAnswer {
  status: number | null;
  body: string;
}

export interface CallContext {
  /** What the maintainer asked for, as a verb phrase: "enqueue", "approve", "merge", "comment on". */
  action: string;
  login: string;
  prNumber: number;
  repo: string;
  baseRef?: string | null;
}

const MAX_AUDIT_BODY = 4000;

interface GraphqlErrorLike {
  type?: string;
  message: string;
}

function graphqlErrors(error: unknown): GraphqlErrorLike[] | null {
  if (!(error instanceof Error) || error.name !== "GraphqlResponseError") return null;
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) ? (errors as GraphqlErrorLike[]) : [];
}

export function clipForAudit(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > MAX_AUDIT_BODY ? `${text.slice(0, MAX_AUDIT_BODY)}…` : text;
}

export function answerOfError(error: unknown): GitHubAnswer {
  const errors = graphqlErrors(error);
  if (errors) return { status: 200, body: clipForAudit({ errors }) };
  if (isGitHubRequestError(error)) return { status: error.status, body: clipForAudit(error.response?.data ?? error.message) };
  return { status: null, body: clipForAudit(error instanceof Error ? error.message : String(error)) };
}

/** GitHub's message plus its validation details (422s put the useful part in `errors`). */
function githubWords(error: unknown): string {
  const errors = graphqlErrors(error);
  if (errors) return errors.map((e) => e.message).join("; ") || "no message";
  if (!isGitHubRequestError(error)) return error instanceof Error ? error.message : String(error);
  const data = error.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const parts = [typeof data?.message === "string" ? data.message : error.message];
  if (Array.isArray(data?.errors)) {
    for (const e of data.errors) {
      if (typeof e === "string") parts.push(e);
      else if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") parts.push((e as { message: string }).message);
    }
  }
  return parts.join(": ");
}

function clock(date: Date): string {
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

function rateLimitReset(error: unknown, now: number): Date | null {
  if (!isGitHubRequestError(error) || (error.status !== 403 && error.status !== 429)) return null;
  const headers = error.response?.headers ?? {};
  if (headers["x-ratelimit-remaining"] === "0" && headers["x-ratelimit-reset"]) return new Date(Number(headers["x-ratelimit-reset"]) * 1000);
  const retryAfter = Number(headers["retry-after"]);
  if (headers["retry-after"] !== undefined && Number.isFinite(retryAfter)) return new Date(now + retryAfter * 1000);
  if (error.status === 429 || /rate limit/i.test(githubWords(error))) return new Date(now + 60_000);
  return null;
}

const HEAD_MOVED = /head branch was modified|expected head|head (?:oid|sha)|headrefoid/i;

export function toMergeAppError(error: unknown, ctx: CallContext, now = Date.now()): AppError {
  if (isAppError(error)) return error;
  const pr = `#${ctx.prNumber}`;
  const said = githubWords(error);
  const quote = (status: number | string) => `(GitHub ${status}: “${said}”)`;

  const resetAt = rateLimitReset(error, now);
  if (resetAt) {
    return new AppError(
      "rate_limited",
      `GitHub's rate limit for @${ctx.login} is used up ${quote((error as { status: number }).status)}; it resets at ${clock(resetAt)}. Nothing was changed: try again then, or with another maintainer.`,
      { resetAt: resetAt.toISOString(), retryAfterSeconds: Math.max(1, Math.round((resetAt.getTime() - now) / 1000)) },
    );
  }

  const errors = graphqlErrors(error);
  if (errors) {
    const type = errors[0]?.type ?? "";
    if (HEAD_MOVED.test(said)) {
      return new AppError("head_moved", `The head of ${pr} moved after the build ${quote("GraphQL")}. Nothing was merged: rebuild ${pr} and try again.`);
    }
    if (type === "FORBIDDEN") {
      return new AppError("forbidden", `GitHub will not let @${ctx.login} ${ctx.action} ${pr} ${quote("GraphQL")}. Sign in a maintainer with push access to ${ctx.repo}.`);
    }
    if (type === "NOT_FOUND") {
      return new AppError("not_found", `GitHub could not find ${pr} for @${ctx.login} ${quote("GraphQL")}.`);
    }
    if (type === "RATE_LIMITED") {
      return new AppError("rate_limited", `GitHub's GraphQL rate limit for @${ctx.login} is used up ${quote("GraphQL")}. Nothing was changed: try again later, or with another maintainer.`);
    }
    return new AppError("conflict", `GitHub refused to ${ctx.action} ${pr} ${quote("GraphQL")}. Nothing was merged; check the PR on GitHub.`);
  }

  if (!isGitHubRequestError(error)) {
    return new AppError("github_failed", `Could not reach GitHub to ${ctx.action} ${pr}: ${said}. Check the PR on GitHub before trying again.`);
  }
  const { status } = error;
  switch (status) {
    case 401:
      return new AppError("unauthorized", `GitHub no longer accepts @${ctx.login}'s sign-in (revoked or expired token). Sign them in again.`, { status });
    case 403:
      return new AppError(
        "forbidden",
        `GitHub refused to let @${ctx.login} ${ctx.action} ${pr} ${quote(status)}. They need push access to ${ctx.repo} (a committer), and a token with the public_repo scope.`,
        { status },
      );
    case 404:
      return new AppError("not_found", `GitHub answered 404 to @${ctx.login} for ${pr}: the PR or ${ctx.repo} is not visible with their token.`, { status });
    case 405:
      if (/merge queue/i.test(said)) {
        return new AppError(
          "conflict",
          `${ctx.repo}'s ${ctx.baseRef ?? "base"} branch only takes changes through the merge queue ${quote(status)}. Nothing was merged; check the checklist again so it enqueues.`,
          { status },
        );
      }
      return new AppError(
        "conflict",
        `GitHub cannot merge ${pr} ${quote(status)}: conflicts, failing required checks or a draft. Nothing was merged; fix it on GitHub, rebuild, and try again.`,
        { status },
      );
    case 409:
      return new AppError("head_moved", `The head of ${pr} moved after the build ${quote(status)}. Nothing was merged: rebuild ${pr} and try again.`, { status });
    case 422:
      if (/your own pull request/i.test(said)) {
        return new AppError("conflict", `@${ctx.login} opened ${pr}, and GitHub does not let authors approve their own PR ${quote(status)}. Another maintainer has to.`, { status });
      }
      return new AppError("conflict", `GitHub rejected the request to ${ctx.action} ${pr} ${quote(status)}.`, { status });
    default:
      if (status >= 500) {
        return new AppError("github_failed", `GitHub failed while trying to ${ctx.action} ${pr} ${quote(status)}. Check the PR on GitHub before trying again.`, { status });
      }
      return new AppError("github_failed", `GitHub answered ${status} when asked to ${ctx.action} ${pr}: “${said}”.`, { status });
  }
}
