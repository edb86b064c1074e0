import { parseRepo, toGitHubAppError, type GitHubClient } from "./client";

/** GitHub lists at most this many files of a PR; bigger PRs (treewides) need git instead. */
export const PULL_REQUEST_FILES_LIMIT = 3000;
/** GitHub lists at most this many commits of a PR. */
export const PULL_REQUEST_COMMITS_LIMIT = 250;

export interface PullRequestFile {
  filename: string;
  status: "added" | "removed" | "modified" | "renamed" | "copied" | "changed" | "unchanged";
  previousFilename: string | null;
  additions: number;
  deletions: number;
  changes: number;
}

interface PullRequestRef {
  repo: string;
  number: number;
}

const notFound = (params: PullRequestRef) => ({ notFound: `PR #${params.number} does not exist in ${params.repo}` });

/** All files of the PR, page by page; when the result reaches PULL_REQUEST_FILES_LIMIT it is cut off. */
export async function listPullRequestFiles(client: GitHubClient, params: PullRequestRef): Promise<PullRequestFile[]> {
  const { owner, repo } = parseRepo(params.repo);
  try {
    const files = await client.paginate(client.rest.pulls.listFiles, {
      owner,
      repo,
      pull_number: params.number,
      per_page: 100,
    });
    return files.map((file) => ({
      filename: file.filename,
      status: file.status,
      previousFilename: file.previous_filename ?? null,
      additions: file.additions,
      deletions: file.deletions,
      changes: file.changes,
    }));
  } catch (error) {
    throw toGitHubAppError(error, client, notFound(params));
  }
}

/** First line of each commit message, oldest first (at most PULL_REQUEST_COMMITS_LIMIT). */
export async function listPullRequestCommitTitles(client: GitHubClient, params: PullRequestRef): Promise<string[]> {
  const { owner, repo } = parseRepo(params.repo);
  try {
    const commits = await client.paginate(client.rest.pulls.listCommits, {
      owner,
      repo,
      pull_number: params.number,
      per_page: 100,
    });
    return commits.map((commit) => commit.commit.message.split("\n", 1)[0] ?? "");
  } catch (error) {
    throw toGitHubAppError(error, client, notFound(params));
  }
}
