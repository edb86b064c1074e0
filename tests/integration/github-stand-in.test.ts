import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/errors";
import { createGitHubClient } from "../../server/github/client";
import { fetchRebuildsByPlatform } from "../../server/github/fetch-comparison-artifact";
import { fetchPullRequest } from "../../server/github/fetch-pull-request";
import { listPullRequestCommitTitles, listPullRequestFiles } from "../../server/github/list-pull-request-changes";
import {
  createTestUpstream,
  startGitHubStandIn,
  type GitHubStandIn,
  type StandInPullRequest,
  type TestUpstream,
} from "../../server/rehearsal/github-stand-in";

const TOKEN = "ghp_rehearsal_token";
const REPO = "NixOS/nixpkgs";
const HELLO = "pkgs/by-name/he/hello/package.nix";
const helloAt = (version: string) => `{ stdenv }:\nstdenv.mkDerivation {\n  pname = "hello";\n  version = "${version}";\n}\n`;
const REBUILDS = { "x86_64-linux": ["hello", "hello.tests"], "aarch64-darwin": ["hello"] };

const PULL_REQUESTS: StandInPullRequest[] = [
  {
    number: 101,
    title: "hello: 1.0 -> 1.1",
    author: "alice",
    labels: ["10.rebuild-linux: 1-10", "10.rebuild-darwin: 1"],
    body: "Bumps hello.",
    hasCiResults: true,
    rebuildsByPlatform: REBUILDS,
  },
  { number: 102, title: "hello: 1.0 -> 2.0", author: "bob" },
  { number: 103, title: "treewide: add many files", author: "carol", draft: true },
  { number: 104, title: "hello: cleanup", author: "dave", hasCiResults: true, ciArtifactExpired: true, rebuildsByPlatform: REBUILDS },
  { number: 105, title: "hello: add meta", author: "erin" },
];

let root: string;
let upstream: TestUpstream;
let standIn: GitHubStandIn;
const extraStandIns: GitHubStandIn[] = [];

const client = (token: string | null = TOKEN, target: GitHubStandIn = standIn) =>
  createGitHubClient({ apiUrl: target.url, token: token ?? undefined, log: { debug() {}, info() {}, warn() {}, error() {} } });

const rejection = async (promise: Promise<unknown>): Promise<AppError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
};

const statusesFor = (target: GitHubStandIn, pathPattern: RegExp, since = 0) =>
  target.requests.slice(since).filter((r) => pathPattern.test(r.path)).map((r) => r.status);

const clock = (date: Date) => `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;

async function rateLimitRemaining(target: GitHubStandIn, token?: string): Promise<{ remaining: number; reset: number }> {
  const response = await fetch(`${target.url}/rate_limit`, { headers: token ? { authorization: `token ${token}` } : {} });
  const body = (await response.json()) as { resources: { core: { remaining: number; reset: number } } };
  return body.resources.core;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "github-stand-in-"));
  upstream = await createTestUpstream(root, {
    "README.md": "# mini nixpkgs\n\nA tiny stand-in for nixpkgs used in tests.\n",
    [HELLO]: helloAt("1.0"),
    "pkgs/by-name/ol/old/package.nix": "{ }: { }\n",
  });
  await upstream.addPullRequest(101, [
    { message: "hello: 1.0 -> 1.1", files: { [HELLO]: helloAt("1.1") } },
    { message: "hello: add tests\n\nRuns the binary once.", files: { "pkgs/by-name/he/hello/tests.nix": "{ hello }: hello.tests\n" } },
    {
      message: "docs: move README",
      files: { "README.md": null, "doc/README.md": "# mini nixpkgs\n\nA tiny stand-in for nixpkgs used in tests.\n" },
    },
    { message: "old: remove", files: { "pkgs/by-name/ol/old/package.nix": null } },
  ]);
  await upstream.addPullRequest(102, [{ message: "hello: 1.0 -> 2.0", files: { [HELLO]: helloAt("2.0") } }]);
  // Master moves on in a conflicting way: PR 102 no longer merges cleanly.
  await upstream.commitToMaster({ message: "hello: 1.0 -> 1.5", files: { [HELLO]: helloAt("1.5") } });
  await upstream.refreshMergeRef(102);
  const many = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`pkgs/many/file-${String(i).padStart(3, "0")}.nix`, `${i}\n`]));
  await upstream.addPullRequest(103, [{ message: "treewide: add many files", files: many }]);
  await upstream.addPullRequest(104, [{ message: "hello: cleanup", files: { "pkgs/by-name/he/hello/cleanup.nix": "{ }\n" } }]);
  await upstream.addPullRequest(105, [{ message: "hello: add meta", files: { "pkgs/by-name/he/hello/meta.nix": "{ }\n" } }]);
  standIn = await startGitHubStandIn({ upstreamDir: upstream.upstreamDir, pullRequests: PULL_REQUESTS, token: TOKEN });
});

afterAll(async () => {
  await Promise.all([standIn, ...extraStandIns].filter(Boolean).map((s) => s.close()));
  if (root) await rm(root, { recursive: true, force: true });
});

async function freshStandIn(): Promise<GitHubStandIn> {
  const s = await startGitHubStandIn({ upstreamDir: upstream.upstreamDir, pullRequests: PULL_REQUESTS, token: TOKEN });
  extraStandIns.push(s);
  return s;
}

describe("pull request facts", () => {
  it("reports the SHAs git has for the PR, its base and its test merge", async () => {
    const facts = await fetchPullRequest(client(), { repo: REPO, number: 101 });
    expect(facts).toEqual({
      number: 101,
      title: "hello: 1.0 -> 1.1",
      author: "alice",
      state: "open",
      merged: false,
      draft: false,
      baseRef: "master",
      baseSha: await upstream.revParse("refs/heads/master"),
      headSha: await upstream.revParse("refs/pull/101/head"),
      mergeCommitSha: await upstream.revParse("refs/pull/101/merge"),
      mergeable: true,
      nodeId: expect.stringMatching(/^PR_/),
      labels: ["10.rebuild-linux: 1-10", "10.rebuild-darwin: 1"],
      htmlUrl: "https://github.com/NixOS/nixpkgs/pull/101",
      updatedAt: expect.any(String),
    });
    expect(facts.mergeCommitSha).toMatch(/^[0-9a-f]{40}$/);
  });

  it("shows a conflicting PR without a merge commit and as not mergeable", async () => {
    const facts = await fetchPullRequest(client(), { repo: REPO, number: 102 });
    expect(await upstream.revParse("refs/pull/102/merge")).toBeNull();
    expect(facts).toMatchObject({ headSha: await upstream.revParse("refs/pull/102/head"), mergeCommitSha: null, mergeable: false });
  });

  it("says which PR does not exist", async () => {
    const error = await rejection(fetchPullRequest(client(), { repo: REPO, number: 999999 }));
    expect(error.code).toBe("not_found");
    expect(error.message).toBe("PR #999999 does not exist in NixOS/nixpkgs");
    const otherRepo = await rejection(fetchPullRequest(client(), { repo: "NixOS/not-nixpkgs", number: 101 }));
    expect(otherRepo.message).toBe("PR #101 does not exist in NixOS/not-nixpkgs");
  });

  it("reuses the cached answer on 304 without spending rate limit", async () => {
    const github = client();
    const first = await fetchPullRequest(github, { repo: REPO, number: 101 });
    const before = await rateLimitRemaining(standIn, TOKEN);
    const since = standIn.requests.length;
    const second = await fetchPullRequest(github, { repo: REPO, number: 101 });
    expect(second).toEqual(first);
    const revalidation = standIn.requests.slice(since).filter((r) => r.path === "/repos/NixOS/nixpkgs/pulls/101");
    expect(revalidation).toHaveLength(1);
    expect(revalidation[0]?.status).toBe(304);
    expect(revalidation[0]?.headers["if-none-match"]).toMatch(/^W\/"[0-9a-f]{64}"$/);
    expect((await rateLimitRemaining(standIn, TOKEN)).remaining).toBe(before.remaining);
  });

  it("sees a push to the PR on the next request", async () => {
    const github = client();
    const before = await fetchPullRequest(github, { repo: REPO, number: 105 });
    const pushed = await upstream.pushToPullRequest(105, {
      message: "hello: fix meta",
      files: { "pkgs/by-name/he/hello/meta.nix": "{ description = \"hi\"; }\n" },
    });
    const since = standIn.requests.length;
    const after = await fetchPullRequest(github, { repo: REPO, number: 105 });
    expect(after.headSha).toBe(pushed.headSha);
    expect(after.headSha).not.toBe(before.headSha);
    expect(after.mergeCommitSha).toBe(pushed.mergeSha);
    expect(statusesFor(standIn, /\/pulls\/105$/, since)).toEqual([200]);
  });

  it("says the token was rejected when GitHub answers 401", async () => {
    const error = await rejection(fetchPullRequest(client("ghp_wrong"), { repo: REPO, number: 101 }));
    expect(error.code).toBe("unauthorized");
    expect(error.message).toBe("GITHUB_TOKEN was rejected by GitHub");
  });
});

describe("rate limits", () => {
  it("stops with the reset time when the hourly budget is used up", async () => {
    const limited = await freshStandIn();
    limited.setRateLimitRemaining(0);

    const anonymous = await rejection(fetchPullRequest(client(null, limited), { repo: REPO, number: 101 }));
    const { reset } = await rateLimitRemaining(limited);
    const resetAt = new Date(reset * 1000);
    expect(anonymous.code).toBe("rate_limited");
    expect(anonymous.message).toBe(
      `GitHub rate limit reached; resets at ${clock(resetAt)} (set GITHUB_TOKEN for 5,000 requests/hour)`,
    );
    expect(anonymous.details?.resetAt).toBe(resetAt.toISOString());

    const withToken = await rejection(fetchPullRequest(client(TOKEN, limited), { repo: REPO, number: 101 }));
    expect(withToken.code).toBe("rate_limited");
    expect(withToken.message).toMatch(/^GitHub rate limit reached; resets at \d\d:\d\d$/);
    // Neither client retried: the reset is far beyond the 10 s the client is willing to wait.
    expect(statusesFor(limited, /\/pulls\/101$/)).toEqual([403, 403]);
  });

  it("counts requests down from 60 without a token and 5,000 with one", async () => {
    const fresh = await freshStandIn();
    await fetchPullRequest(client(null, fresh), { repo: REPO, number: 102 });
    await fetchPullRequest(client(TOKEN, fresh), { repo: REPO, number: 102 });
    expect((await rateLimitRemaining(fresh)).remaining).toBe(59);
    expect((await rateLimitRemaining(fresh, TOKEN)).remaining).toBe(4999);
  });

  it("waits out a short secondary limit once and then succeeds", async () => {
    const since = standIn.requests.length;
    standIn.failNext(
      { method: "GET", pathPattern: /\/pulls\/102$/ },
      {
        status: 429,
        headers: { "retry-after": "1" },
        body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
      },
    );
    const facts = await fetchPullRequest(client(), { repo: REPO, number: 102 });
    expect(facts.number).toBe(102);
    expect(statusesFor(standIn, /\/pulls\/102$/, since)).toEqual([429, 200]);
  });

  it("gives up on a long secondary limit and says when to try again", async () => {
    const since = standIn.requests.length;
    standIn.failNext(
      { method: "GET", pathPattern: /\/pulls\/102$/ },
      {
        status: 429,
        headers: { "retry-after": "3600" },
        body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
      },
    );
    const error = await rejection(fetchPullRequest(client(), { repo: REPO, number: 102 }));
    expect(error.code).toBe("rate_limited");
    const resetAt = Date.parse(String(error.details?.resetAt));
    expect(resetAt).toBeGreaterThan(Date.now() + 3500_000);
    expect(statusesFor(standIn, /\/pulls\/102$/, since)).toEqual([429]);
  });

  it("retries a server error", async () => {
    const since = standIn.requests.length;
    standIn.failNext({ pathPattern: /\/pulls\/102$/ }, { status: 502, body: { message: "Server Error" } });
    await fetchPullRequest(client(), { repo: REPO, number: 102 });
    expect(statusesFor(standIn, /\/pulls\/102$/, since)).toEqual([502, 200]);
  });
});

describe("files and commits", () => {
  it("lists what the PR changed and its commit titles", async () => {
    const files = await listPullRequestFiles(client(), { repo: REPO, number: 101 });
    const summary = files
      .map((f) => ({ filename: f.filename, status: f.status, previousFilename: f.previousFilename, changes: f.changes }))
      .sort((a, b) => a.filename.localeCompare(b.filename));
    expect(summary).toEqual([
      { filename: "doc/README.md", status: "renamed", previousFilename: "README.md", changes: 0 },
      { filename: HELLO, status: "modified", previousFilename: null, changes: 2 },
      { filename: "pkgs/by-name/he/hello/tests.nix", status: "added", previousFilename: null, changes: 1 },
      { filename: "pkgs/by-name/ol/old/package.nix", status: "removed", previousFilename: null, changes: 1 },
    ]);
    expect(await listPullRequestCommitTitles(client(), { repo: REPO, number: 101 })).toEqual([
      "hello: 1.0 -> 1.1",
      "hello: add tests",
      "docs: move README",
      "old: remove",
    ]);
  });

  it("follows the Link header through every page", async () => {
    const since = standIn.requests.length;
    const files = await listPullRequestFiles(client(), { repo: REPO, number: 103 });
    expect(files).toHaveLength(130);
    expect(new Set(files.map((f) => f.filename)).size).toBe(130);
    expect(standIn.requests.slice(since).filter((r) => r.path.includes("/pulls/103/files")).map((r) => r.path)).toEqual([
      "/repos/NixOS/nixpkgs/pulls/103/files?per_page=100",
      "/repos/NixOS/nixpkgs/pulls/103/files?per_page=100&page=2",
    ]);
  });
});

describe("CI comparison artifact", () => {
  it("reads rebuildsByPlatform from the zip without sending the token to the blob store", async () => {
    const { headSha } = await fetchPullRequest(client(), { repo: REPO, number: 101 });
    const since = standIn.requests.length;
    const result = await fetchRebuildsByPlatform(client(), { repo: REPO, headSha });
    expect(result).toEqual({ status: "found", rebuildsByPlatform: REBUILDS });
    const recent = standIn.requests.slice(since);
    expect(recent.find((r) => /\/actions\/artifacts\/\d+\/zip$/.test(r.path))?.status).toBe(302);
    const blob = recent.find((r) => r.path.startsWith("/_artifact-blobs/"));
    expect(blob?.status).toBe(200);
    expect(blob?.headers.authorization).toBeUndefined();
  });

  it("reports none for a head without a CI run", async () => {
    const { headSha } = await fetchPullRequest(client(), { repo: REPO, number: 102 });
    const result = await fetchRebuildsByPlatform(client(), { repo: REPO, headSha });
    expect(result).toEqual({ status: "none", reason: `No finished CI evaluation for ${headSha.slice(0, 7)} yet` });
  });

  it("reports an expired artifact, whether listed as expired or answered with 410", async () => {
    const pr104 = await fetchPullRequest(client(), { repo: REPO, number: 104 });
    expect(await fetchRebuildsByPlatform(client(), { repo: REPO, headSha: pr104.headSha })).toMatchObject({ status: "expired" });

    const pr101 = await fetchPullRequest(client(), { repo: REPO, number: 101 });
    const since = standIn.requests.length;
    standIn.failNext({ pathPattern: /\/actions\/artifacts\/\d+\/zip$/ }, { status: 410, body: { message: "Artifact has expired" } });
    expect(await fetchRebuildsByPlatform(client(), { repo: REPO, headSha: pr101.headSha })).toMatchObject({ status: "expired" });
    expect(statusesFor(standIn, /\/zip$/, since)).toEqual([410]);
  });

  it("needs a token: the client says so, and the stand-in refuses the download like GitHub", async () => {
    const { headSha } = await fetchPullRequest(client(), { repo: REPO, number: 101 });
    const since = standIn.requests.length;
    const result = await fetchRebuildsByPlatform(client(null), { repo: REPO, headSha });
    expect(result).toEqual({ status: "unauthorized", reason: "Downloading CI results needs a GitHub token; set GITHUB_TOKEN" });
    expect(standIn.requests.length).toBe(since);

    const auth = { authorization: `Bearer ${TOKEN}` };
    const runs = (await (await fetch(`${standIn.url}/repos/${REPO}/actions/runs?head_sha=${headSha}`, { headers: auth })).json()) as {
      workflow_runs: Array<{ name: string; artifacts_url: string }>;
    };
    expect(runs.workflow_runs.map((r) => r.name).sort()).toEqual(["Check cherry-picks", "PR"]);
    const prRun = runs.workflow_runs.find((r) => r.name === "PR");
    const artifacts = (await (await fetch(prRun?.artifacts_url ?? "", { headers: auth })).json()) as {
      artifacts: Array<{ name: string; archive_download_url: string; expired: boolean }>;
    };
    const comparison = artifacts.artifacts.find((a) => a.name === "comparison");
    expect(comparison?.expired).toBe(false);
    const anonymous = await fetch(comparison?.archive_download_url ?? "", { redirect: "manual" });
    expect(anonymous.status).toBe(401);
    const authorized = await fetch(comparison?.archive_download_url ?? "", { redirect: "manual", headers: auth });
    expect(authorized.status).toBe(302);
    expect(authorized.headers.get("location")).toMatch(new RegExp(`^${standIn.url}/_artifact-blobs/\\d+\\.zip\\?`));
  });
});

describe("other endpoints", () => {
  it("answers unknown routes with GitHub's 404 JSON and sends rate-limit headers", async () => {
    const response = await fetch(`${standIn.url}/repos/${REPO}/no-such-thing`, { headers: { authorization: `token ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(response.headers.get("x-ratelimit-limit")).toBe("5000");
    expect(response.headers.get("x-ratelimit-resource")).toBe("core");
    expect(await response.json()).toMatchObject({ message: "Not Found", status: "404" });
  });

  it("answers GraphQL operations it does not implement with GitHub's errors array", async () => {
    const github = client();
    await expect(
      github.graphql(`mutation($id: ID!) { archiveRepository(input: {repositoryId: $id}) { clientMutationId } }`, { id: "R_x" }),
    ).rejects.toThrow(/archiveRepository/);
    const response = await fetch(`${standIn.url}/graphql`, {
      method: "POST",
      headers: { authorization: `bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ viewer { login } }" }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { errors: Array<{ type: string; message: string }> };
    expect(body.errors[0]).toMatchObject({ type: "NOT_IMPLEMENTED", message: expect.stringContaining("viewer") });
    expect(response.headers.get("x-ratelimit-resource")).toBe("graphql");
  });
});
