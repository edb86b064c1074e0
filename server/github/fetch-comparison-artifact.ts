import { unzipSync } from "fflate";
import { z } from "zod";
import { AppError } from "../errors";
import { isGitHubRequestError, parseRepo, toGitHubAppError, type GitHubClient } from "./client";

/**
 * What nixpkgs CI says a PR rebuilds, read the way nixpkgs-review does (nixpkgs_review/github.py):
 * the workflow run named "PR" (formerly "Eval") for the head SHA, its `comparison` artifact, and
 * `rebuildsByPlatform` from the `changed-paths.json` inside the zip.
 */
export type ComparisonArtifactResult =
  | { status: "found"; rebuildsByPlatform: Record<string, string[]> }
  | { status: "none" | "expired" | "unauthorized"; reason: string };

const EVAL_WORKFLOW_NAMES = new Set(["PR", "Eval"]);
const ARTIFACT_NAME = "comparison";
const DOWNLOAD_TIMEOUT_MS = 60_000;

const ChangedPaths = z.object({
  rebuildsByPlatform: z.record(z.string(), z.array(z.string())),
});

export async function fetchRebuildsByPlatform(
  client: GitHubClient,
  params: { repo: string; headSha: string },
): Promise<ComparisonArtifactResult> {
  const { owner, repo } = parseRepo(params.repo);
  const short = params.headSha.slice(0, 7);
  if (!client.isAuthenticated) {
    return { status: "unauthorized", reason: "Downloading CI results needs a GitHub token; set GITHUB_TOKEN" };
  }
  const fail = (error: unknown) =>
    toGitHubAppError(error, client, { notFound: `Repository ${params.repo} was not found on GitHub` });

  let runs;
  try {
    const { data } = await client.rest.actions.listWorkflowRunsForRepo({ owner, repo, head_sha: params.headSha, per_page: 100 });
    runs = data.workflow_runs.filter((run) => EVAL_WORKFLOW_NAMES.has(run.name ?? ""));
  } catch (error) {
    throw fail(error);
  }

  let expired = false;
  for (const run of runs) {
    let artifacts;
    try {
      const { data } = await client.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id, per_page: 100 });
      artifacts = data.artifacts.filter((artifact) => artifact.name === ARTIFACT_NAME);
    } catch (error) {
      throw fail(error);
    }
    for (const artifact of artifacts) {
      if (artifact.expired) {
        expired = true;
        continue;
      }
      const location = await artifactLocation(client, { owner, repo, artifactId: artifact.id });
      if (location.status !== "found") {
        if (location.status === "expired") {
          expired = true;
          continue;
        }
        return location;
      }
      return { status: "found", rebuildsByPlatform: await downloadChangedPaths(client, location.url, short) };
    }
  }
  if (expired) {
    return { status: "expired", reason: `The CI comparison artifact for ${short} has expired; rerun the PR workflow to get one` };
  }
  return { status: "none", reason: `No finished CI evaluation for ${short} yet` };
}

/**
 * The archive endpoint answers 302 with a signed URL valid for a minute. The redirect is not
 * followed so the token stays with GitHub and is not sent on to the blob store.
 */
async function artifactLocation(
  client: GitHubClient,
  params: { owner: string; repo: string; artifactId: number },
): Promise<{ status: "found"; url: string } | Exclude<ComparisonArtifactResult, { status: "found" }>> {
  try {
    const response = await client.rest.actions.downloadArtifact({
      owner: params.owner,
      repo: params.repo,
      artifact_id: params.artifactId,
      archive_format: "zip",
      request: { redirect: "manual" },
    });
    const location = response.headers.location;
    if (!location || !/^https?:\/\//.test(location)) {
      throw new AppError("github_failed", `GitHub answered ${response.status} without a download location for the CI artifact`);
    }
    return { status: "found", url: location };
  } catch (error) {
    if (isGitHubRequestError(error) && error.status === 410) {
      return { status: "expired", reason: "The CI comparison artifact has expired" };
    }
    if (isGitHubRequestError(error) && error.status === 401) {
      return { status: "unauthorized", reason: "GitHub refused the artifact download: GITHUB_TOKEN was rejected" };
    }
    if (isGitHubRequestError(error) && error.status === 403 && error.response?.headers["x-ratelimit-remaining"] !== "0") {
      return { status: "unauthorized", reason: "GitHub refused the artifact download: the token needs Actions read access" };
    }
    throw toGitHubAppError(error, client, { notFound: "The CI comparison artifact no longer exists" });
  }
}

async function downloadChangedPaths(client: GitHubClient, url: string, short: string): Promise<Record<string, string[]>> {
  let archive: Uint8Array;
  try {
    const response = await client.downloadFetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`download answered ${response.status}`);
    archive = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new AppError("github_failed", `Could not download the CI comparison artifact for ${short}: ${(error as Error).message}`);
  }
  try {
    const files = unzipSync(archive, { filter: (file) => file.name === "changed-paths.json" });
    const json = files["changed-paths.json"];
    if (!json) throw new Error("changed-paths.json is missing");
    return ChangedPaths.parse(JSON.parse(new TextDecoder().decode(json))).rebuildsByPlatform;
  } catch (error) {
    throw new AppError("github_failed", `The CI comparison artifact for ${short} is unreadable: ${(error as Error).message}`);
  }
}
