import { createLogger } from "../logger";
import { createGitHubClient } from "./client";
import { fetchPullRequest, type PullRequestFacts } from "./fetch-pull-request";
import { listPullRequestCommitTitles } from "./list-pull-request-changes";
import { fetchRebuildsByPlatform } from "./fetch-comparison-artifact";

/** What the show needs from GitHub, bound to one repository and one client (and its ETag cache). */
export interface GitHubGateway {
  authenticated: boolean;
  repo: string;
  fetchPullRequest(number: number): Promise<PullRequestFacts>;
  listCommitTitles(number: number): Promise<string[]>;
  /** `rebuildsByPlatform` from the PR's CI comparison artifact, or null when there is none. */
  fetchRebuildsByPlatform(headSha: string): Promise<Record<string, string[]> | null>;
}

export function createGitHubGateway(opts: { apiUrl: string; token: string | null; repo: string }): GitHubGateway {
  const logger = createLogger({ component: "github" });
  const client = createGitHubClient({
    apiUrl: opts.apiUrl,
    token: opts.token ?? undefined,
    // Octokit logs every non-2xx answer (304 and 404 included) as an error; they are ordinary
    // answers here, and real failures reach the caller as AppErrors.
    log: {
      debug: (msg) => logger.debug(msg),
      info: (msg) => logger.debug(msg),
      warn: (msg) => logger.warn(msg),
      error: (msg) => logger.debug(msg),
    },
  });
  return {
    authenticated: opts.token !== null,
    repo: opts.repo,
    fetchPullRequest: (number) => fetchPullRequest(client, { repo: opts.repo, number }),
    listCommitTitles: (number) => listPullRequestCommitTitles(client, { repo: opts.repo, number }),
    fetchRebuildsByPlatform: async (headSha) => {
      const result = await fetchRebuildsByPlatform(client, { repo: opts.repo, headSha });
      return result.status === "found" ? result.rebuildsByPlatform : null;
    },
  };
}
