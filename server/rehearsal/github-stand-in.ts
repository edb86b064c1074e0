import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ArtifactUrlSigner, buildArtifactZip, type ArtifactName } from "./github-stand-in/artifacts";
import { UpstreamGit, type PullRequestRefs } from "./github-stand-in/git";
import { answerGraphql, parseGraphqlBody } from "./github-stand-in/graphql";
import {
  ARTIFACTS,
  WORKFLOWS,
  artifactJson,
  commitJson,
  decodeId,
  fileJson,
  pullRequestJson,
  workflowRunJson,
  type PayloadContext,
} from "./github-stand-in/payloads";
import { RateLimits } from "./github-stand-in/rate-limit";
import type { FailureMatch, InjectedResponse, RecordedRequest, StandInPullRequest } from "./github-stand-in/types";

/**
 * A local stand-in for api.github.com, serving the REST endpoints (and the GraphQL entry point)
 * the app uses with GitHub's documented shapes, status codes, rate-limit headers and ETags. PR
 * facts come from a real bare git repository so the SHAs agree with what `git fetch` sees.
 */
export type { FailureMatch, InjectedResponse, RecordedRequest, StandInPullRequest } from "./github-stand-in/types";
export type { GraphqlContext, GraphqlRequest, GraphqlResolver } from "./github-stand-in/graphql";
export { createTestUpstream, type TestUpstream, type TestUpstreamCommit } from "./github-stand-in/test-upstream";

export interface GitHubStandIn {
  /** REST root, like https://api.github.com (no /api/v3 prefix). */
  url: string;
  close(): Promise<void>;
  setPullRequest(pr: StandInPullRequest): void;
  /** The next request matching `match` gets `response` instead of its normal answer (once). */
  failNext(match: FailureMatch, response: InjectedResponse): void;
  setRateLimitRemaining(n: number): void;
  requests: RecordedRequest[];
}

export interface GitHubStandInOptions {
  /** Bare repo with refs/heads/<base>, refs/pull/N/head and (when it merges cleanly) refs/pull/N/merge. */
  upstreamDir: string;
  /** Defaults to "NixOS/nixpkgs". */
  repo?: string;
  pullRequests: StandInPullRequest[];
  port?: number;
  /** When set, only `Authorization: token|Bearer <token>` counts as authenticated; other tokens get 401. */
  token?: string;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable, or raw bytes/text. */
  body?: unknown;
}

interface PullRequestEntry {
  pr: StandInPullRequest;
  createdAt: string;
  updatedAt: string;
}

type Identity = { kind: "anonymous" } | { kind: "token"; token: string } | { kind: "bad" };

const MAX_BODY_BYTES = 1024 * 1024;
const FILES_LIMIT = 3000;
const COMMITS_LIMIT = 250;

const DOCS = {
  root: "https://docs.github.com/rest",
  pull: "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
  rateLimit: "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
  download: "https://docs.github.com/rest/actions/artifacts#download-an-artifact",
  graphqlAuth: "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
};

const notFound = (documentationUrl = DOCS.root): Reply => ({
  status: 404,
  body: { message: "Not Found", documentation_url: documentationUrl, status: "404" },
});

export async function startGitHubStandIn(opts: GitHubStandInOptions): Promise<GitHubStandIn> {
  const repo = opts.repo ?? "NixOS/nixpkgs";
  const git = new UpstreamGit(opts.upstreamDir);
  const rateLimits = new RateLimits();
  const signer = new ArtifactUrlSigner();
  const pullRequests = new Map<number, PullRequestEntry>();
  const failures: Array<{ match: FailureMatch; response: InjectedResponse }> = [];
  const requests: RecordedRequest[] = [];
  let apiUrl = "";

  const setPullRequest = (pr: StandInPullRequest) => {
    const now = new Date().toISOString();
    pullRequests.set(pr.number, { pr, createdAt: pullRequests.get(pr.number)?.createdAt ?? now, updatedAt: now });
  };
  opts.pullRequests.forEach(setPullRequest);

  const ctx = (): PayloadContext => ({ apiUrl, repo });

  function identify(req: http.IncomingMessage): Identity {
    const header = req.headers.authorization;
    if (!header) return { kind: "anonymous" };
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (!match?.[1] || (opts.token !== undefined && match[1] !== opts.token)) return { kind: "bad" };
    return { kind: "token", token: match[1] };
  }

  async function readRefs(entry: PullRequestEntry): Promise<PullRequestRefs> {
    const refs = await git.readPullRequestRefs(entry.pr.number, entry.pr.baseRef ?? "master");
    if (!refs) {
      throw new Error(`GitHub stand-in: refs/pull/${entry.pr.number}/head does not exist in ${opts.upstreamDir}`);
    }
    return refs;
  }

  async function pullRequestReply(entry: PullRequestEntry): Promise<Reply> {
    const refs = await readRefs(entry);
    const from = await git.diffBase(refs);
    const [files, commits] = await Promise.all([
      from ? git.changedFiles(from, refs.headSha) : Promise.resolve([]),
      git.commits(from, refs.headSha),
    ]);
    const updatedAt = [entry.updatedAt, refs.headCommittedAt].sort().at(-1) ?? entry.updatedAt;
    return {
      status: 200,
      body: pullRequestJson(
        ctx(),
        entry.pr,
        refs,
        {
          commits: commits.length,
          additions: files.reduce((sum, f) => sum + f.additions, 0),
          deletions: files.reduce((sum, f) => sum + f.deletions, 0),
          changedFiles: files.length,
        },
        { createdAt: entry.createdAt, updatedAt },
      ),
    };
  }

  async function filesReply(entry: PullRequestEntry, url: URL): Promise<Reply> {
    const refs = await readRefs(entry);
    const from = await git.diffBase(refs);
    const files = from ? await git.changedFiles(from, refs.headSha) : [];
    const items = files.slice(0, FILES_LIMIT).map((file) => fileJson(ctx(), refs.headSha, file));
    return paginate(items, url);
  }

  async function commitsReply(entry: PullRequestEntry, url: URL): Promise<Reply> {
    const refs = await readRefs(entry);
    const from = await git.diffBase(refs);
    const commits = await git.commits(from, refs.headSha);
    return paginate(
      commits.slice(0, COMMITS_LIMIT).map((commit) => commitJson(ctx(), commit)),
      url,
    );
  }

  function paginate(items: unknown[], url: URL): Reply {
    const perPage = Math.min(100, Math.max(1, Number.parseInt(url.searchParams.get("per_page") ?? "", 10) || 30));
    const page = Math.max(1, Number.parseInt(url.searchParams.get("page") ?? "", 10) || 1);
    const lastPage = Math.max(1, Math.ceil(items.length / perPage));
    const pageUrl = (n: number) => {
      const target = new URL(url.pathname + url.search, apiUrl);
      target.searchParams.set("per_page", String(perPage));
      target.searchParams.set("page", String(n));
      return target.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${pageUrl(page - 1)}>; rel="prev"`, `<${pageUrl(1)}>; rel="first"`);
    if (page < lastPage) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
    return {
      status: 200,
      headers: links.length > 0 ? { link: links.join(", ") } : {},
      body: items.slice((page - 1) * perPage, page * perPage),
    };
  }

  /** PRs whose current head has a finished CI run; a push leaves the new head without results. */
  async function pullRequestsWithCi(headSha: string | null) {
    const found: Array<{ entry: PullRequestEntry; refs: PullRequestRefs }> = [];
    for (const entry of pullRequests.values()) {
      if (!entry.pr.hasCiResults) continue;
      const refs = await git.readPullRequestRefs(entry.pr.number, entry.pr.baseRef ?? "master");
      if (refs && (headSha === null || refs.headSha === headSha)) found.push({ entry, refs });
    }
    return found;
  }

  async function runsReply(url: URL): Promise<Reply> {
    const found = await pullRequestsWithCi(url.searchParams.get("head_sha"));
    const runs = found
      .flatMap(({ entry, refs }) => WORKFLOWS.map((workflow) => workflowRunJson(ctx(), entry.pr, refs, workflow)))
      .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
    const page = paginate(runs, url);
    return { ...page, body: { total_count: runs.length, workflow_runs: page.body } };
  }

  async function ciEntry(id: number, base: "run" | "artifact") {
    const decoded = decodeId(id, base);
    const entry = decoded ? pullRequests.get(decoded.prNumber) : undefined;
    if (!decoded || !entry?.pr.hasCiResults) return null;
    const refs = await git.readPullRequestRefs(entry.pr.number, entry.pr.baseRef ?? "master");
    return refs ? { entry, refs, kind: decoded.kind } : null;
  }

  function artifactZip(entry: PullRequestEntry, name: ArtifactName): Uint8Array {
    return buildArtifactZip(name, entry.pr.rebuildsByPlatform ?? {});
  }

  async function artifactsReply(id: number): Promise<Reply> {
    const found = await ciEntry(id, "run");
    if (!found) return notFound();
    const artifacts =
      found.kind === 1
        ? ARTIFACTS.map((artifact) =>
            artifactJson(ctx(), found.entry.pr, found.refs, artifact, artifactZip(found.entry, artifact.name).length),
          )
        : [];
    return { status: 200, body: { total_count: artifacts.length, artifacts } };
  }

  async function downloadReply(id: number, identity: Identity): Promise<Reply> {
    if (identity.kind !== "token") {
      return {
        status: 401,
        body: { message: "You must have the actions scope to download artifacts.", documentation_url: DOCS.download, status: "401" },
      };
    }
    const found = await ciEntry(id, "artifact");
    if (!found || !ARTIFACTS.some((a) => a.kind === found.kind)) return notFound(DOCS.download);
    if (found.entry.pr.ciArtifactExpired) {
      return { status: 410, body: { message: "Artifact has expired", documentation_url: DOCS.download, status: "410" } };
    }
    return { status: 302, headers: { location: signer.sign(apiUrl, id) }, body: "" };
  }

  async function blobReply(url: URL): Promise<Reply> {
    const match = /^\/_artifact-blobs\/(\d+)\.zip$/.exec(url.pathname);
    const id = Number(match?.[1]);
    if (!match || !signer.verify(id, url.searchParams.get("expires"), url.searchParams.get("sig"))) {
      return { status: 403, headers: { "content-type": "application/xml" }, body: "<Error><Code>AuthenticationFailed</Code></Error>" };
    }
    const found = await ciEntry(id, "artifact");
    const artifact = ARTIFACTS.find((a) => a.kind === found?.kind);
    if (!found || !artifact) return { status: 404, headers: { "content-type": "application/xml" }, body: "<Error><Code>BlobNotFound</Code></Error>" };
    return { status: 200, headers: { "content-type": "application/zip" }, body: Buffer.from(artifactZip(found.entry, artifact.name)) };
  }

  async function graphqlReply(req: http.IncomingMessage, identity: Identity): Promise<Reply> {
    if (identity.kind !== "token") {
      return {
        status: 401,
        body: { message: "This endpoint requires you to be authenticated.", documentation_url: DOCS.graphqlAuth, status: "401" },
      };
    }
    const parsed = parseGraphqlBody(await readBody(req));
    if (!parsed.ok) return { status: parsed.status, body: parsed.body };
    const body = await answerGraphql(parsed.request, { repo, pullRequests: () => [...pullRequests.values()].map((e) => e.pr) });
    return { status: 200, body };
  }

  async function route(req: http.IncomingMessage, url: URL, identity: Identity): Promise<Reply> {
    const method = req.method ?? "GET";
    if (url.pathname === "/graphql") return method === "POST" ? graphqlReply(req, identity) : notFound();
    const repoMatch = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!repoMatch || method !== "GET") return notFound();
    if (`${repoMatch[1]}/${repoMatch[2]}`.toLowerCase() !== repo.toLowerCase()) return notFound();
    const rest = repoMatch[3] ?? "";

    const pull = /^\/pulls\/(\d+)(\/files|\/commits)?$/.exec(rest);
    if (pull) {
      const entry = pullRequests.get(Number(pull[1]));
      if (!entry) return notFound(DOCS.pull);
      if (pull[2] === "/files") return filesReply(entry, url);
      if (pull[2] === "/commits") return commitsReply(entry, url);
      return pullRequestReply(entry);
    }
    if (rest === "/actions/runs") return runsReply(url);
    const runArtifacts = /^\/actions\/runs\/(\d+)\/artifacts$/.exec(rest);
    if (runArtifacts) return artifactsReply(Number(runArtifacts[1]));
    const download = /^\/actions\/artifacts\/(\d+)\/zip$/.exec(rest);
    if (download) return downloadReply(Number(download[1]), identity);
    return notFound();
  }

  function rateLimitReply(identityKey: string | null): Reply {
    const core = rateLimits.bucket(identityKey, "core");
    const graphql = rateLimits.bucket(identityKey, "graphql");
    return {
      status: 200,
      body: {
        resources: { core: RateLimits.summary(core), graphql: RateLimits.summary(graphql) },
        rate: RateLimits.summary(core),
      },
    };
  }

  function exceededReply(identity: Identity, req: http.IncomingMessage): Reply {
    const who =
      identity.kind === "token"
        ? "user ID 1."
        : `${req.socket.remoteAddress ?? "127.0.0.1"}. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)`;
    return { status: 403, body: { message: `API rate limit exceeded for ${who}`, documentation_url: DOCS.rateLimit, status: "403" } };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", apiUrl);
    const method = req.method ?? "GET";
    const path = url.pathname + url.search;

    const respond = (reply: Reply, extraHeaders: Record<string, string>) => {
      requests.push({ method, path, headers: { ...req.headers }, status: reply.status });
      const headers: Record<string, string> = { ...extraHeaders, ...reply.headers };
      let payload: Buffer | string = "";
      if (Buffer.isBuffer(reply.body) || typeof reply.body === "string") {
        payload = reply.body;
      } else if (reply.body !== undefined) {
        payload = JSON.stringify(reply.body);
        headers["content-type"] ??= "application/json; charset=utf-8";
      }
      if (reply.status !== 304) headers["content-length"] = String(Buffer.byteLength(payload));
      res.writeHead(reply.status, headers);
      res.end(reply.status === 304 ? undefined : payload);
    };

    if (url.pathname.startsWith("/_artifact-blobs/")) {
      respond(await blobReply(url), {});
      return;
    }

    const identity = identify(req);
    const identityKey = identity.kind === "token" ? identity.token : null;
    const resource = url.pathname === "/graphql" ? "graphql" : "core";
    const bucket = rateLimits.bucket(identityKey, resource);
    const common = (): Record<string, string> => ({
      "x-github-api-version-selected": "2022-11-28",
      "x-github-media-type": "github.v3; format=json",
      "x-github-request-id": randomUUID().toUpperCase(),
      "access-control-allow-origin": "*",
      "access-control-expose-headers":
        "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-GitHub-Media-Type, X-GitHub-Request-Id",
      vary: "Accept, Authorization, Cookie, X-GitHub-OTP",
      "cache-control": identity.kind === "token" ? "private, max-age=60, s-maxage=60" : "public, max-age=60, s-maxage=60",
      ...(identity.kind === "token" ? { "x-oauth-scopes": "public_repo", "x-accepted-oauth-scopes": "" } : {}),
      ...RateLimits.headers(bucket),
    });

    const failureIndex = failures.findIndex(
      ({ match }) => (!match.method || match.method.toUpperCase() === method) && match.pathPattern.test(path),
    );
    const failure = failureIndex >= 0 ? failures.splice(failureIndex, 1)[0] : undefined;
    if (failure) {
      respond({ status: failure.response.status, headers: failure.response.headers, body: failure.response.body }, common());
      return;
    }

    if (identity.kind === "bad") {
      bucket.remaining = Math.max(0, bucket.remaining - 1);
      respond({ status: 401, body: { message: "Bad credentials", documentation_url: DOCS.root, status: "401" } }, common());
      return;
    }
    if (url.pathname === "/rate_limit" && method === "GET") {
      respond(rateLimitReply(identityKey), common());
      return;
    }
    if (bucket.remaining <= 0) {
      respond(exceededReply(identity, req), common());
      return;
    }

    const reply = await route(req, url, identity);
    if (method === "GET" && reply.status === 200 && reply.body !== undefined && !Buffer.isBuffer(reply.body)) {
      const etag = `W/"${createHash("sha256").update(JSON.stringify(reply.body)).digest("hex")}"`;
      reply.headers = { ...reply.headers, etag };
      if (etagMatches(req.headers["if-none-match"], etag)) {
        // Conditional hits do not count against the primary rate limit.
        respond({ status: 304, headers: { etag } }, common());
        return;
      }
    }
    bucket.remaining = Math.max(0, bucket.remaining - 1);
    respond(reply, common());
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      requests.push({ method: req.method ?? "GET", path: req.url ?? "/", headers: { ...req.headers }, status: 500 });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ message, documentation_url: DOCS.root, status: "500" }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: apiUrl,
    requests,
    setPullRequest,
    failNext: (match, response) => failures.push({ match, response }),
    setRateLimitRemaining: (n) => rateLimits.setRemaining(n),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || strip(tag) === strip(etag));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
