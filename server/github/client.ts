import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import { AppError } from "../errors";

/**
 * The one place an Octokit is built. `apiUrl` is https://api.github.com in production and the
 * stand-in's URL in rehearsal and tests; everything else is identical.
 */
export interface GitHubClientLog {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

export interface GitHubClientOptions {
  apiUrl: string;
  token?: string;
  fetch?: typeof globalThis.fetch;
  log?: GitHubClientLog;
}

const AppOctokit = Octokit.plugin(throttling, retry);

export type GitHubClient = InstanceType<typeof AppOctokit> & {
  /** False means 60 requests/hour and no artifact downloads: show a warning. */
  readonly isAuthenticated: boolean;
  readonly apiUrl: string;
  /** For downloads outside the API (signed artifact URLs), which must not carry the token. */
  readonly downloadFetch: typeof globalThis.fetch;
};

/** Longest wait the throttling plugin may sleep through before retrying; beyond it we give up. */
const MAX_RETRY_AFTER_SECONDS = 10;

/**
 * plugin-retry must not retry any 4xx: 429 and rate-limit 403s are retried by plugin-throttling,
 * which honours `retry-after`; letting plugin-retry see them too would retry them again with its
 * own backoff, also when throttling decided the wait was too long.
 */
const DO_NOT_RETRY = Array.from({ length: 100 }, (_, i) => 400 + i);

export function createGitHubClient(opts: GitHubClientOptions): GitHubClient {
  const token = opts.token?.trim() || undefined;
  const retryOnce = (kind: string) => (retryAfter: number, options: { method: string; url: string }, octokit: { log: GitHubClientLog }, retryCount: number) => {
    const retrying = retryCount < 1 && retryAfter <= MAX_RETRY_AFTER_SECONDS;
    octokit.log.warn(
      `GitHub ${kind} rate limit on ${options.method} ${options.url}; ${retrying ? `retrying in ${retryAfter}s` : `giving up (retry-after ${retryAfter}s)`}`,
    );
    return retrying;
  };
  const octokit = new AppOctokit({
    baseUrl: opts.apiUrl.replace(/\/+$/, ""),
    auth: token,
    userAgent: "maybe-a-few-hydra-failures",
    ...(opts.log ? { log: opts.log } : {}),
    request: opts.fetch ? { fetch: opts.fetch } : {},
    throttle: { onRateLimit: retryOnce("primary"), onSecondaryRateLimit: retryOnce("secondary") },
    retry: { retries: 2, doNotRetry: DO_NOT_RETRY },
  });
  return Object.assign(octokit, {
    isAuthenticated: token !== undefined,
    apiUrl: opts.apiUrl.replace(/\/+$/, ""),
    downloadFetch: opts.fetch ?? globalThis.fetch,
  });
}

export function parseRepo(repo: string): { owner: string; repo: string } {
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(repo);
  if (!match?.[1] || !match[2]) {
    throw new AppError("bad_request", `"${repo}" is not a GitHub repository name; expected owner/name like NixOS/nixpkgs`);
  }
  return { owner: match[1], repo: match[2] };
}

/** What Octokit's RequestError carries; checked structurally so we need not import its package. */
export interface GitHubRequestError extends Error {
  status: number;
  response?: { headers: Record<string, string | undefined>; data: unknown };
}

export function isGitHubRequestError(error: unknown): error is GitHubRequestError {
  return error instanceof Error && error.name === "HttpError" && typeof (error as { status?: unknown }).status === "number";
}

/**
 * Conditional GETs with a small per-client ETag cache: a 304 costs no rate limit, and Octokit
 * reports it by throwing a RequestError with status 304, so the cached body is reused there.
 */
class EtagCache {
  private readonly entries = new Map<string, { etag: string; data: unknown }>();
  constructor(private readonly capacity = 500) {}

  get(url: string) {
    const entry = this.entries.get(url);
    if (entry) {
      this.entries.delete(url);
      this.entries.set(url, entry);
    }
    return entry;
  }

  set(url: string, etag: string, data: unknown) {
    this.entries.delete(url);
    this.entries.set(url, { etag, data });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

const etagCaches = new WeakMap<GitHubClient, EtagCache>();

export async function conditionalGet(
  client: GitHubClient,
  url: string,
): Promise<{ data: unknown; fromCache: boolean }> {
  let cache = etagCaches.get(client);
  if (!cache) {
    cache = new EtagCache();
    etagCaches.set(client, cache);
  }
  const cached = cache.get(url);
  try {
    const response = await client.request({
      method: "GET",
      url,
      headers: cached ? { "if-none-match": cached.etag } : {},
    });
    const etag = response.headers.etag;
    if (etag) cache.set(url, etag, response.data);
    return { data: response.data, fromCache: false };
  } catch (error) {
    if (cached && isGitHubRequestError(error) && error.status === 304) {
      return { data: cached.data, fromCache: true };
    }
    throw error;
  }
}

function formatClock(date: Date): string {
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

function rateLimitResetAt(error: GitHubRequestError): Date | null {
  const headers = error.response?.headers ?? {};
  const message = error.message.toLowerCase();
  if (headers["x-ratelimit-remaining"] === "0" && headers["x-ratelimit-reset"]) {
    return new Date(Number(headers["x-ratelimit-reset"]) * 1000);
  }
  const retryAfter = Number(headers["retry-after"]);
  if (headers["retry-after"] !== undefined && Number.isFinite(retryAfter)) {
    return new Date(Date.now() + retryAfter * 1000);
  }
  if (message.includes("rate limit")) {
    // GitHub's advice for a secondary limit without retry-after: wait at least a minute.
    return new Date(Date.now() + 60_000);
  }
  return null;
}

/**
 * Maps a failed GitHub call to what the person on stage should read. `notFound` names the thing
 * that was asked for, e.g. "PR #123 does not exist in NixOS/nixpkgs".
 */
export function toGitHubAppError(error: unknown, client: GitHubClient, context: { notFound: string }): AppError {
  if (error instanceof AppError) return error;
  if (!isGitHubRequestError(error)) {
    return new AppError("github_failed", `GitHub request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { status } = error;
  if (status === 404) return new AppError("not_found", context.notFound, { status });
  if (status === 401) {
    return client.isAuthenticated
      ? new AppError("unauthorized", "GITHUB_TOKEN was rejected by GitHub", { status })
      : new AppError("unauthorized", "GitHub requires a token for this; set GITHUB_TOKEN", { status });
  }
  if (status === 403 || status === 429) {
    const resetAt = rateLimitResetAt(error);
    if (resetAt) {
      const hint = client.isAuthenticated ? "" : " (set GITHUB_TOKEN for 5,000 requests/hour)";
      return new AppError("rate_limited", `GitHub rate limit reached; resets at ${formatClock(resetAt)}${hint}`, {
        status,
        resetAt: resetAt.toISOString(),
      });
    }
  }
  if (!error.response) {
    return new AppError("github_failed", `Could not reach GitHub at ${client.apiUrl}: ${error.message}`, { status });
  }
  return new AppError("github_failed", `GitHub answered ${status}: ${error.message}`, { status });
}
