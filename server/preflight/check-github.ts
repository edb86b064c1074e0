import { createGitHubClient, isGitHubRequestError, type GitHubClient, type GitHubClientLog } from "../github/client";
import { resultOf, type CheckName, type PreflightCheck } from "./preflight-check";

export const GITHUB_CHECK: CheckName = { id: "github", label: "GitHub token" };

const DEFAULT_TIMEOUT_MS = 15_000;
/** Fewer requests left than this in the hour, and a busy show may run out. */
const LOW_REMAINING = 500;
const WRITE_SCOPES = ["public_repo", "repo"];

export interface GitHubCheckDeps {
  apiUrl: string;
  token: string | null;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

const quiet: GitHubClientLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface RateLimit {
  limit: number;
  remaining: number;
  reset: number;
}

function clock(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** One try, bounded: a preflight wants an answer now, not Octokit's retries with backoff. */
function once(timeoutMs: number) {
  return { request: { retries: 0, signal: AbortSignal.timeout(timeoutMs) } };
}

async function rateLimit(client: GitHubClient, timeoutMs: number): Promise<RateLimit> {
  const { data } = await client.request("GET /rate_limit", once(timeoutMs));
  const core = data.resources.core;
  return { limit: core.limit, remaining: core.remaining, reset: core.reset };
}

export async function checkGitHub(deps: GitHubCheckDeps): Promise<PreflightCheck> {
  const v = resultOf(GITHUB_CHECK);
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const client = createGitHubClient({ apiUrl: deps.apiUrl, token: deps.token ?? undefined, fetch: deps.fetch, log: quiet });
  const newToken =
    "Create a token (classic with public_repo, or fine-grained with read access to pull requests, actions, checks and statuses) and set GITHUB_TOKEN.";

  let rate: RateLimit;
  try {
    rate = await rateLimit(client, timeoutMs);
  } catch (error) {
    if (isGitHubRequestError(error) && error.status === 401) {
      return v.fail(`GitHub at ${deps.apiUrl} rejected GITHUB_TOKEN (${error.message}).`, `The token is wrong, expired or revoked. ${newToken}`);
    }
    return v.fail(
      `GitHub at ${deps.apiUrl} cannot be reached: ${(error as Error).message}.`,
      "Check this machine's network and GITHUB_API_URL; without GitHub no PR can be checked or built.",
    );
  }
  const left = `${rate.remaining.toLocaleString("en")} of ${rate.limit.toLocaleString("en")} requests left this hour (resets ${clock(rate.reset)})`;
  if (!deps.token) {
    return v.fail(`No GITHUB_TOKEN: ${left}, and no CI artifacts.`, newToken);
  }

  if (rate.remaining === 0) {
    return v.fail(`GITHUB_TOKEN has used up its rate limit: ${left}.`, `Wait until ${clock(rate.reset)}, or use another account's token.`);
  }

  let login: string;
  let scopes: string[] | null;
  try {
    const user = await client.request("GET /user", once(timeoutMs));
    login = user.data.login;
    const header = user.headers["x-oauth-scopes"];
    scopes = typeof header === "string" ? header.split(",").map((s) => s.trim()).filter(Boolean) : null;
  } catch (error) {
    if (isGitHubRequestError(error) && error.status === 401) {
      return v.fail(`GitHub rejected GITHUB_TOKEN (${error.message}).`, `The token is wrong, expired or revoked. ${newToken}`);
    }
    return v.fail(`GitHub did not say who GITHUB_TOKEN belongs to: ${(error as Error).message}.`, "Try again in a minute; if it persists, check GITHUB_API_URL.");
  }

  const kind = scopes === null ? "a fine-grained token (GitHub does not list its permissions)" : `scopes: ${scopes.join(", ") || "none"}`;
  const detail = `${login}, ${kind}; ${left}`;
  if (rate.remaining < Math.min(LOW_REMAINING, rate.limit / 10)) {
    return v.warn(`${detail}. That may not last the show.`, `Use a token nothing else spends, or wait until ${clock(rate.reset)}.`);
  }
  if (scopes !== null && !scopes.some((s) => WRITE_SCOPES.includes(s))) {
    return v.warn(
      `${detail}. Enough to read PRs, but merging or commenting with this token needs public_repo.`,
      "If this token should merge or comment, add the public_repo scope on github.com/settings/tokens.",
    );
  }
  return v.ok(detail);
}
