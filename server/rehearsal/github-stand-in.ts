import { createHash, randomUUID } from "node:crypto";
import { readBody as readRequestBody } from "./read-body";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ArtifactUrlSigner, buildArtifactZip, type ArtifactName } from "./github-stand-in/artifacts";
import { Accounts, canPush } from "./github-stand-in/accounts";
import { DeviceFlow, encodeOAuthBody, oauthParams } from "./github-stand-in/device-flow";
import { UpstreamGit, type PullRequestRefs } from "./github-stand-in/git";
import { answerGraphql, graphqlArgument, parseGraphqlBody, type GraphqlResolver } from "./github-stand-in/graphql";
import { MergeDesk } from "./github-stand-in/merging";
import {
  ARTIFACTS,
  WORKFLOWS,
  artifactJson,
  commitJson,
  decodeId,
  fileJson,
  pullRequestJson,
  repoJson,
  userJson,
  workflowRunJson,
  type PayloadContext,
} from "./github-stand-in/payloads";
import { RateLimits } from "./github-stand-in/rate-limit";
import type {
  FailureMatch,
  InjectedResponse,
  RecordedRequest,
  StandInComment,
  StandInMergeState,
  StandInPullRequest,
  StandInReviewRecord,
  StandInUser,
} from "./github-stand-in/types";

/**
 * A local stand-in for api.github.com, serving the REST endpoints (and the GraphQL entry point)
 * the app uses with GitHub's documented shapes, status codes, rate-limit headers and ETags. PR
 * facts come from a real bare git repository so the SHAs agree with what `git fetch` sees. The
 * same port also plays github.com for the OAuth device flow (`/login/device/code`,
 * `/login/oauth/access_token`, and a small `/login/device` page where a person can approve a code
 * in rehearsals).
 */
export type {
  CheckState,
  FailureMatch,
  InjectedResponse,
  MergeQueueEntryState,
  RecordedRequest,
  StandInComment,
  StandInMergeState,
  StandInPullRequest,
  StandInReview,
  StandInReviewRecord,
  StandInUser,
} from "./github-stand-in/types";
export type { GraphqlContext, GraphqlRequest, GraphqlResolver } from "./github-stand-in/graphql";
export { createTestUpstream, type TestUpstream, type TestUpstreamCommit } from "./github-stand-in/test-upstream";

export interface GitHubStandIn {
  /** REST root, like https://api.github.com (no /api/v3 prefix). */
  url: string;
  /** The web host, like https://github.com: the same server, serving the OAuth device flow. */
  webUrl: string;
  close(): Promise<void>;
  setPullRequest(pr: StandInPullRequest): void;
  /** Changes some fields of a PR the stand-in serves (its knobs: state, checks, reviews, …). */
  updatePullRequest(number: number, patch: Partial<StandInPullRequest>): void;
  /** The next request matching `match` gets `response` instead of its normal answer (once). */
  failNext(match: FailureMatch, response: InjectedResponse): void;
  setRateLimitRemaining(n: number): void;
  /** Adds or replaces an account: its permission in the repository and optionally a token. */
  setUser(user: StandInUser): void;
  /** Whether `branch` requires the merge queue (nixpkgs: master, staging*, release-*). */
  setMergeQueue(branch: string, required: boolean): void;
  /** The person entered `userCode` at /login/device and authorized the app as `login`. */
  approveDeviceCode(userCode: string, login: string): void;
  denyDeviceCode(userCode: string): void;
  expireDeviceCode(userCode: string): void;
  /** Interval and lifetime (seconds) of device codes handed out from now on. */
  setDeviceFlowTiming(timing: { interval?: number; expiresIn?: number }): void;
  mergeState(number: number): StandInMergeState;
  comments(number: number): StandInComment[];
  reviews(number: number): StandInReviewRecord[];
  requests: RecordedRequest[];
}

export interface GitHubStandInOptions {
  /** Bare repo with refs/heads/<base>, refs/pull/N/head and (when it merges cleanly) refs/pull/N/merge. */
  upstreamDir: string;
  /** Defaults to "NixOS/nixpkgs". */
  repo?: string;
  pullRequests: StandInPullRequest[];
  port?: number;
  /**
   * When set, only this token (acting as `rehearsal-bot`, read access), the tokens of `users` and
   * tokens issued by the device flow are accepted; other tokens get 401.
   */
  token?: string;
  users?: StandInUser[];
  /** Branches that require the merge queue; defaults to ["master"], like nixpkgs. */
  mergeQueueBranches?: string[];
  /** When set, the device flow accepts only this OAuth client_id. */
  oauthClientId?: string;
  /** Device-flow timing in seconds; GitHub's are interval 5 and expires_in 900. */
  deviceFlow?: { interval?: number; expiresIn?: number };
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

type Identity = { kind: "anonymous" } | { kind: "token"; token: string; user: StandInUser; scopes: string } | { kind: "bad" };

const MAX_BODY_BYTES = 1024 * 1024;
const FILES_LIMIT = 3000;
const COMMITS_LIMIT = 250;

const DOCS = {
  root: "https://docs.github.com/rest",
  pull: "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
  rateLimit: "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
  download: "https://docs.github.com/rest/actions/artifacts#download-an-artifact",
  graphqlAuth: "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
  user: "https://docs.github.com/rest/users/users#get-the-authenticated-user",
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
  const accounts = new Accounts(opts.token);
  (opts.users ?? []).forEach((user) => accounts.setUser(user));
  const deviceFlow = new DeviceFlow({
    clientId: opts.oauthClientId,
    interval: opts.deviceFlow?.interval ?? 5,
    expiresIn: opts.deviceFlow?.expiresIn ?? 900,
  });
  let apiUrl = "";

  const setPullRequest = (pr: StandInPullRequest) => {
    const now = new Date().toISOString();
    pullRequests.set(pr.number, { pr, createdAt: pullRequests.get(pr.number)?.createdAt ?? now, updatedAt: now });
  };
  opts.pullRequests.forEach(setPullRequest);
  const updatePullRequest = (number: number, patch: Partial<StandInPullRequest>) => {
    const entry = pullRequests.get(number);
    if (!entry) throw new Error(`GitHub stand-in: PR #${number} is not served`);
    setPullRequest({ ...entry.pr, ...patch });
  };

  const ctx = (): PayloadContext => ({ apiUrl, repo });
  const desk = new MergeDesk(
    {
      ctx,
      get: (number) => pullRequests.get(number)?.pr,
      all: () => [...pullRequests.values()].map((e) => e.pr),
      update: updatePullRequest,
      refs: (number) => {
        const entry = pullRequests.get(number);
        return entry ? git.readPullRequestRefs(number, entry.pr.baseRef ?? "master") : Promise.resolve(null);
      },
    },
    accounts,
    opts.mergeQueueBranches ?? ["master"],
  );

  function identify(req: http.IncomingMessage): Identity {
    const header = req.headers.authorization;
    if (!header) return { kind: "anonymous" };
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    const owner = match?.[1] ? accounts.owner(match[1]) : null;
    if (!match?.[1] || !owner) return { kind: "bad" };
    return { kind: "token", token: match[1], user: owner.user, scopes: owner.scopes };
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
        desk.state(entry.pr.number),
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
    const viewer = identity.user;
    const arg = (name: string) => graphqlArgument(parsed.request, name);
    const resolvers: Record<string, GraphqlResolver> = {
      enqueuePullRequest: () => desk.enqueue(viewer, { pullRequestId: arg("pullRequestId"), expectedHeadOid: arg("expectedHeadOid") }),
      enablePullRequestAutoMerge: () =>
        desk.enableAutoMerge(viewer, { pullRequestId: arg("pullRequestId"), expectedHeadOid: arg("expectedHeadOid") }),
      repository: (request) =>
        desk.repositoryQuery(request.query, { owner: arg("owner"), name: arg("name"), branch: arg("branch"), number: arg("number") }),
    };
    const body = await answerGraphql(parsed.request, { repo, pullRequests: () => [...pullRequests.values()].map((e) => e.pr) }, resolvers);
    return { status: 200, body };
  }

  function userReply(identity: Identity): Reply {
    if (identity.kind !== "token") {
      return { status: 401, body: { message: "Requires authentication", documentation_url: DOCS.user, status: "401" } };
    }
    const { user } = identity;
    return { status: 200, body: { ...userJson(ctx(), user.login), name: user.name ?? null, created_at: "2015-01-01T00:00:00Z" } };
  }

  function repositoryReply(identity: Identity): Reply {
    const body: Record<string, unknown> = { ...repoJson(ctx(), repo, false), allow_merge_commit: true, allow_squash_merge: false, allow_rebase_merge: false };
    if (identity.kind === "token") {
      const role = identity.user.permission ?? "read";
      body.permissions = {
        admin: role === "admin",
        maintain: role === "admin" || role === "maintain",
        push: canPush(identity.user),
        triage: role !== "read",
        pull: true,
      };
    }
    return { status: 200, body };
  }

  async function readJsonBody(req: http.IncomingMessage): Promise<Record<string, unknown> | null> {
    try {
      const value: unknown = JSON.parse((await readBody(req)) || "{}");
      return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  /** REST writes: the caller must be someone, and the body must be JSON. */
  async function writeReply(
    req: http.IncomingMessage,
    identity: Identity,
    act: (viewer: StandInUser, body: Record<string, unknown>) => Promise<Reply> | Reply,
  ): Promise<Reply> {
    if (identity.kind !== "token") {
      return { status: 401, body: { message: "Requires authentication", documentation_url: DOCS.root, status: "401" } };
    }
    const body = await readJsonBody(req);
    if (!body) return { status: 400, body: { message: "Problems parsing JSON", documentation_url: DOCS.root, status: "400" } };
    return act(identity.user, body);
  }

  async function route(req: http.IncomingMessage, url: URL, identity: Identity): Promise<Reply> {
    const method = req.method ?? "GET";
    if (url.pathname === "/graphql") return method === "POST" ? graphqlReply(req, identity) : notFound();
    if (url.pathname === "/user") return method === "GET" ? userReply(identity) : notFound();
    const repoMatch = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!repoMatch) return notFound();
    if (`${repoMatch[1]}/${repoMatch[2]}`.toLowerCase() !== repo.toLowerCase()) return notFound();
    const rest = repoMatch[3] ?? "";

    const pullWrite = /^\/pulls\/(\d+)\/(reviews|merge)$/.exec(rest);
    if (pullWrite && method !== "GET") {
      const number = Number(pullWrite[1]);
      if (!pullRequests.has(number)) return notFound(DOCS.pull);
      if (pullWrite[2] === "reviews" && method === "POST") return writeReply(req, identity, (viewer, body) => desk.createReview(number, viewer, body));
      if (pullWrite[2] === "merge" && method === "PUT") return writeReply(req, identity, (viewer, body) => desk.restMerge(number, viewer, body));
      return notFound();
    }
    const issueComments = /^\/issues\/(\d+)\/comments$/.exec(rest);
    if (issueComments) {
      const number = Number(issueComments[1]);
      if (!pullRequests.has(number)) return notFound();
      if (method === "GET") return desk.listCommentsReply(number);
      if (method === "POST") return writeReply(req, identity, (viewer, body) => desk.createComment(number, viewer, body));
      return notFound();
    }
    const comment = /^\/issues\/comments\/(\d+)$/.exec(rest);
    if (comment && method === "PATCH") return writeReply(req, identity, (viewer, body) => desk.updateComment(Number(comment[1]), viewer, body));
    if (method !== "GET") return notFound();

    if (rest === "") return repositoryReply(identity);
    const pull = /^\/pulls\/(\d+)(\/files|\/commits|\/reviews)?$/.exec(rest);
    if (pull) {
      const entry = pullRequests.get(Number(pull[1]));
      if (!entry) return notFound(DOCS.pull);
      if (pull[2] === "/files") return filesReply(entry, url);
      if (pull[2] === "/commits") return commitsReply(entry, url);
      if (pull[2] === "/reviews") return desk.reviewsReply(entry.pr.number);
      return pullRequestReply(entry);
    }
    const commitChecks = /^\/commits\/([^/]+)\/(status|check-runs)$/.exec(rest);
    if (commitChecks) {
      const ref = decodeURIComponent(commitChecks[1] ?? "");
      return commitChecks[2] === "status" ? desk.combinedStatusReply(ref) : desk.checkRunsReply(ref, url);
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
    if (url.pathname.startsWith("/login/")) {
      const injected = await takeFailure(req, method, path);
      respond(injected ?? (await webReply(req, url)), {});
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
      ...(identity.kind === "token" ? { "x-oauth-scopes": identity.scopes, "x-accepted-oauth-scopes": "" } : {}),
      ...RateLimits.headers(bucket),
    });

    const failure = await takeFailure(req, method, path);
    if (failure) {
      respond(failure, common());
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

  async function takeFailure(req: http.IncomingMessage, method: string, path: string): Promise<Reply | null> {
    const candidates = failures.filter(
      ({ match }) => (!match.method || match.method.toUpperCase() === method) && match.pathPattern.test(path),
    );
    if (candidates.length === 0) return null;
    const body = candidates.some(({ match }) => match.bodyPattern) ? await readBody(req) : "";
    const index = failures.findIndex((f) => candidates.includes(f) && (!f.match.bodyPattern || f.match.bodyPattern.test(body)));
    const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
    return failure ? { status: failure.response.status, headers: failure.response.headers, body: failure.response.body } : null;
  }

  /** github.com's side: the OAuth device flow, and the page where a person enters the user code. */
  async function webReply(req: http.IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method ?? "GET";
    const oauth = (answer: { status: number; body: Record<string, string | number> }): Reply => {
      const encoded = encodeOAuthBody(answer.body, req.headers.accept);
      return { status: answer.status, headers: { "content-type": encoded.contentType }, body: encoded.text };
    };
    if (url.pathname === "/login/device/code" && method === "POST") {
      const params = oauthParams(await readBody(req), req.headers["content-type"], url);
      return oauth(deviceFlow.start(params, `${apiUrl}/login/device`));
    }
    if (url.pathname === "/login/oauth/access_token" && method === "POST") {
      const params = oauthParams(await readBody(req), req.headers["content-type"], url);
      return oauth(deviceFlow.poll(params, (login, scopes) => accounts.issueToken(login, scopes)));
    }
    if (url.pathname === "/login/device") return devicePage(req, method);
    return { status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: "Not Found" };
  }

  /** Rehearsals have no github.com: this page approves a user code as whoever the person says. */
  async function devicePage(req: http.IncomingMessage, method: string): Promise<Reply> {
    const html = (text: string) => ({ status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: text });
    if (method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      const code = form.get("user_code") ?? "";
      const login = (form.get("login") ?? "").trim();
      if (!/^[A-Za-z0-9-]{1,39}$/.test(login) || !deviceFlow.isPending(code)) {
        return html(page("<p>That code is unknown or expired, or the login is not a GitHub login. Go back and try again.</p>"));
      }
      if (form.get("committer") === "on" && !accounts.user(login)) accounts.setUser({ login, permission: "write" });
      deviceFlow.approve(code, login);
      return html(page(`<p>Device authorized as <b>${login}</b>. You can close this page.</p>`));
    }
    return html(
      page(`<form method="post">
  <label>Code <input name="user_code" placeholder="WDJB-MJHT" autofocus></label>
  <label>GitHub login <input name="login"></label>
  <label><input type="checkbox" name="committer" checked> has push access (a committer)</label>
  <button>Authorize</button>
</form>`),
    );
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
    webUrl: apiUrl,
    requests,
    setPullRequest,
    updatePullRequest,
    failNext: (match, response) => failures.push({ match, response }),
    setRateLimitRemaining: (n) => rateLimits.setRemaining(n),
    setUser: (user) => accounts.setUser(user),
    setMergeQueue: (branch, required) => desk.setMergeQueue(branch, required),
    approveDeviceCode: (userCode, login) => deviceFlow.approve(userCode, login),
    denyDeviceCode: (userCode) => deviceFlow.deny(userCode),
    expireDeviceCode: (userCode) => deviceFlow.expire(userCode),
    setDeviceFlowTiming: (timing) => deviceFlow.setTiming(timing),
    mergeState: (number) => desk.state(number),
    comments: (number) => desk.commentsOf(number),
    reviews: (number) => desk.reviews(number),
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

const bodies = new WeakMap<http.IncomingMessage, Promise<string>>();

/** The request body, read once (failure injection may look at it before the route does). */
function readBody(req: http.IncomingMessage): Promise<string> {
  let body = bodies.get(req);
  if (!body) {
    body = readRequestBody(req, MAX_BODY_BYTES);
    bodies.set(req, body);
  }
  return body;
}


function page(body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Device activation · GitHub stand-in</title>
<style>body{font:16px system-ui;margin:3rem auto;max-width:28rem}label{display:block;margin:.8rem 0}input[name]{font:inherit;padding:.3rem}</style>
</head><body><h1>Device activation</h1><p>The rehearsal GitHub stand-in: enter the code shown on the host console.</p>${body}</body></html>`;
}
