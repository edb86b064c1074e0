import { execFile } from "node:child_process";
import { EventEmitter } from "node:events";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as mergeRoute, GET as mergePanelRoute } from "@/app/api/host/merge/route";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { mergeAnnouncement } from "@/server/merge/announcement";
import { awardMergePoints, createMergeService, MERGE_POINTS, type MergeService } from "@/server/merge/merge-service";
import type { ChecklistView, MergeView } from "@/server/merge/views";
import type { GitHubStandIn } from "@/server/rehearsal/github-stand-in";
import { createSessionCookie, csrfTokenFor, HOST_COOKIE } from "@/server/show/host-auth";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/**
 * Approve-and-merge against the GitHub stand-in, with real builds of the rehearsal nixpkgs and a
 * real database: maintainer sign-in with the device flow, the checklist line by line, the merge
 * queue, GitHub's refusals, the result comment, and the HTTP edge (host session and CSRF).
 */
const execFileAsync = promisify(execFile);
const REPO = "NixOS/nixpkgs";
const HOST = "host-session-one";
const COMMITTER = "nix-committer";
const SECOND_COMMITTER = "second-committer";
const HELPER = "friendly-helper";

let h: ShowHarness;
let github: GitHubStandIn;
let service: MergeService;
const updates = new EventEmitter();
const merges: MergeView[] = [];
/** What the app sent to GitHub, as seen by its fetch: GraphQL documents and variables, REST bodies. */
const sent: Array<{ method: string; path: string; body: string }> = [];
/** Secrets GitHub handed the app: they must never appear in anything the panel receives. */
const secrets: string[] = [];

const recordingFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const body = request.method === "GET" ? "" : await request.clone().text();
  sent.push({ method: request.method, path: new URL(request.url).pathname, body });
  const response = await fetch(request);
  if (new URL(request.url).pathname === "/login/oauth/access_token" || new URL(request.url).pathname === "/login/device/code") {
    const answer = (await response.clone().json()) as { access_token?: string; device_code?: string };
    for (const secret of [answer.access_token, answer.device_code]) if (secret) secrets.push(secret);
  }
  return response;
};

const fixture = (number: number) => h.kit.mini.pullRequests.find((p) => p.number === number)!;
const built: Record<number, string> = {};

async function git(args: string[]): Promise<string> {
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" };
  const { stdout } = await execFileAsync("git", ["--git-dir", h.kit.mini.upstreamDir, ...args], { env });
  return stdout.trim();
}

/** Someone pushes to the PR after the stage built it; `restore` puts the built head back. */
async function pushToPullRequest(number: number): Promise<{ newSha: string; restore: () => Promise<void> }> {
  const ref = `refs/pull/${number}/head`;
  const old = await git(["rev-parse", ref]);
  const newSha = await git(["commit-tree", `${old}^{tree}`, "-p", old, "-m", "fixup after review"]);
  await git(["update-ref", ref, newSha]);
  return { newSha, restore: () => git(["update-ref", ref, old]).then(() => undefined) };
}

async function signIn(host: string, login: string): Promise<void> {
  const started = await service.startDeviceLogin(host);
  github.approveDeviceCode(started.userCode, login);
  const done = await service.pollDeviceLogin(host, started.id);
  expect(done).toMatchObject({ status: "signed-in", login });
}

function nextMerge(prNumber: number, state: MergeView["state"]): Promise<MergeView> {
  return new Promise((resolve) => {
    const listener = (view: MergeView) => {
      if (view.prNumber !== prNumber || view.state !== state) return;
      updates.off("merge", listener);
      resolve(view);
    };
    updates.on("merge", listener);
  });
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e as { code: string; message: string },
  );
  expect(error).not.toBeNull();
  return error!;
}

const failingKeys = (checklist: ChecklistView) => checklist.lines.filter((l) => !l.ok).map((l) => l.key);
/** Merge calls the stand-in received since `since`: REST merges, enqueues and auto-merges. */
const mergeCallsSince = (since: number) =>
  sent.slice(since).filter((r) => /\/pulls\/\d+\/merge$/.test(r.path) || /enqueuePullRequest|enablePullRequestAutoMerge/.test(r.body));

async function submitAndBuild(prNumber: number, nickname: string, deviceToken: string): Promise<void> {
  await submitPullRequest(h.show.context.intake, { source: "web", text: `#${prNumber}`, nickname, deviceToken, remote: false });
  await h.show.context.builds.startBuild(prNumber);
}

beforeAll(async () => {
  h = await startHarness();
  github = h.kit.github;
  github.setDeviceFlowTiming({ interval: 0 });
  github.setUser({ login: COMMITTER, name: "Nix Committer", permission: "write" });
  github.setUser({ login: SECOND_COMMITTER, permission: "write" });
  github.setUser({ login: HELPER, permission: "read" });
  github.setUser({ login: fixture(400001).author, permission: "write" });
  service = createMergeService({
    db: h.show.context.db,
    events: {
      emit: (event: string, payload: unknown) => {
        if (event === "merge-updated") {
          merges.push(payload as MergeView);
          updates.emit("merge", payload);
        }
        return true;
      },
    },
    github: { apiUrl: github.url, webUrl: github.webUrl, repo: REPO, clientId: "rehearsal-oauth-app", envToken: null },
    builds: h.show.context.builds,
    logs: h.show.context.logs,
    options: { watchIntervalMs: 20, fetch: recordingFetch },
  });
  // What server/index.ts does when it wires the service; the route handlers find it there.
  Object.assign(h.show.context, { merge: service });

  await submitAndBuild(400001, "alice", "device-alice");
  await submitAndBuild(400002, "bob", "device-bob");
  await submitAndBuild(400003, "carol", "device-carol");
  await submitAndBuild(400007, "dave", "device-dave");
  await h.show.context.builds.idle();
  for (const n of [400001, 400002, 400003, 400007]) {
    const [latest] = await h.show.context.builds.buildsOfPr(n);
    expect(latest?.status).toBe(fixture(n).expected === "pass" ? "passed" : "failed");
    built[n] = latest!.headSha!;
  }
  await signIn(HOST, COMMITTER);
}, 600_000);

afterAll(async () => {
  await service?.close();
  await h?.close();
});

describe("maintainer sign-in with GitHub's device flow", () => {
  it("shows a code, waits for it, then knows who signed in and whether they can push; tokens stay on the server", async () => {
    const started = await service.startDeviceLogin(HOST);
    expect(started).toMatchObject({ status: "pending", verificationUri: `${github.webUrl}/login/device` });
    expect(started.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);

    const waiting = await service.pollDeviceLogin(HOST, started.id);
    expect(waiting.status).toBe("pending");
    expect(waiting.message).toContain(started.userCode);

    github.approveDeviceCode(started.userCode, SECOND_COMMITTER);
    const done = await service.pollDeviceLogin(HOST, started.id);
    expect(done).toMatchObject({ status: "signed-in", login: SECOND_COMMITTER, message: `Signed in as @${SECOND_COMMITTER} (can push).` });

    const panel = await service.panel(HOST);
    expect(panel.maintainers.map((m) => [m.login, m.canPush, m.source, m.scopes])).toEqual([
      [COMMITTER, true, "device-flow", ["public_repo"]],
      [SECOND_COMMITTER, true, "device-flow", ["public_repo"]],
    ]);
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const payload = JSON.stringify(panel);
    for (const secret of secrets) expect(payload).not.toContain(secret);

    // Another host console (another browser) does not get these maintainers.
    expect((await service.panel("another-host-session")).maintainers).toEqual([]);
    await expect(service.checklist("another-host-session", { pr: 400001, maintainer: COMMITTER })).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("says when the code expired, when GitHub asks to poll more slowly, and when the person declined", async () => {
    const expiring = await service.startDeviceLogin(HOST);
    github.expireDeviceCode(expiring.userCode);
    expect(await service.pollDeviceLogin(HOST, expiring.id)).toMatchObject({ status: "expired", message: expect.stringMatching(/expired.*start the sign-in again/) });

    const slow = await service.startDeviceLogin(HOST);
    github.failNext(
      { method: "POST", pathPattern: /^\/login\/oauth\/access_token$/ },
      { status: 200, body: { error: "slow_down", error_description: "Too many requests have been made in the same timeframe.", interval: 5 } },
    );
    const slowed = await service.pollDeviceLogin(HOST, slow.id);
    expect(slowed).toMatchObject({ status: "pending", intervalSeconds: 5 });
    expect(slowed.message).toMatch(/every 5 s/);
    // GitHub asked for 5 seconds between polls: polling again at once does not reach GitHub.
    const polls = () => sent.filter((r) => r.path === "/login/oauth/access_token").length;
    const before = polls();
    expect((await service.pollDeviceLogin(HOST, slow.id)).status).toBe("pending");
    expect(polls()).toBe(before);

    const declined = await service.startDeviceLogin(HOST);
    github.denyDeviceCode(declined.userCode);
    expect(await service.pollDeviceLogin(HOST, declined.id)).toMatchObject({ status: "denied", message: "The sign-in was cancelled on GitHub." });
  });

  it("is off without GITHUB_OAUTH_CLIENT_ID and says what to set; GITHUB_MAINTAINER_TOKEN signs one maintainer in for every console", async () => {
    github.setUser({ login: "env-committer", permission: "write", token: "ghp_env_committer_token" });
    const other = createMergeService({
      db: h.show.context.db,
      events: { emit: () => true },
      github: { apiUrl: github.url, webUrl: github.webUrl, repo: REPO, clientId: null, envToken: "ghp_env_committer_token" },
      builds: h.show.context.builds,
      logs: h.show.context.logs,
    });
    const panel = await other.panel("any-host-session");
    expect(panel.deviceFlowEnabled).toBe(false);
    expect(panel.deviceFlowNote).toMatch(/GITHUB_OAUTH_CLIENT_ID/);
    expect(panel.maintainers).toEqual([expect.objectContaining({ login: "env-committer", source: "environment", canPush: true })]);
    expect(JSON.stringify(panel)).not.toContain("ghp_env_committer_token");
    await expect(other.startDeviceLogin("any-host-session")).rejects.toMatchObject({ code: "unavailable" });
    await other.close();
  });
});

describe("the checklist, asked of GitHub at the moment of asking", () => {
  it("is all ✅ for a PR that passed on stage, and enqueues on a merge-queue branch", async () => {
    const checklist = await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER });
    expect(checklist.lines.map((l) => [l.key, l.ok])).toEqual([
      ["open", true],
      ["head", true],
      ["builds", true],
      ["ci", true],
      ["reviews", true],
      ["author", true],
      ["push", true],
    ]);
    expect(checklist).toMatchObject({ ready: true, method: "enqueue", builtSha: fixture(400001).headSha, githubHeadSha: fixture(400001).headSha });
  });

  it("fails on the open line alone when the PR was closed", async () => {
    github.updatePullRequest(400001, { state: "closed" });
    try {
      const checklist = await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER });
      expect(failingKeys(checklist)).toEqual(["open"]);
      expect(checklist.lines[0]?.reason).toBe("Closed on GitHub.");
      expect(checklist.ready).toBe(false);
    } finally {
      github.updatePullRequest(400001, { state: "open" });
    }
  });

  it("fails on the head line alone when someone pushed after the build, and offers a rebuild", async () => {
    const moved = await pushToPullRequest(400001);
    try {
      const checklist = await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER });
      expect(failingKeys(checklist)).toEqual(["head"]);
      const head = checklist.lines.find((l) => l.key === "head")!;
      expect(head.action).toBe("rebuild");
      expect(head.reason).toContain(moved.newSha.slice(0, 7));
      expect(head.reason).toContain(built[400001]!.slice(0, 7));
    } finally {
      await moved.restore();
    }
  });

  it("fails on the builds line alone when the build failed, naming where", async () => {
    const checklist = await service.checklist(HOST, { pr: 400002, maintainer: COMMITTER });
    expect(failingKeys(checklist)).toEqual(["builds"]);
    expect(checklist.lines.find((l) => l.key === "builds")?.reason).toMatch(
      new RegExp(`^Failed on ${h.show.context.config.nixSystems[0]} \\(broken-tool-[\\d.]+ in ${fixture(400002).failure!.phase}\\)\\.$`),
    );
  });

  it("fails on the CI line alone when “no PR failures” is red, as a check run or a legacy status", async () => {
    for (const as of ["check-run", "status"] as const) {
      github.updatePullRequest(400001, { noPrFailures: "failure", noPrFailuresAs: as });
      try {
        const checklist = await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER });
        expect(failingKeys(checklist)).toEqual(["ci"]);
      } finally {
        github.updatePullRequest(400001, { noPrFailures: "success", noPrFailuresAs: "check-run" });
      }
    }
  });

  it("lets a pending or missing “no PR failures” through, to go in with auto-merge", async () => {
    for (const state of ["pending", "missing"] as const) {
      github.updatePullRequest(400001, { noPrFailures: state });
      try {
        const checklist = await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER });
        expect(checklist).toMatchObject({ ready: true, method: "auto-merge" });
      } finally {
        github.updatePullRequest(400001, { noPrFailures: "success" });
      }
    }
  });

  it("fails on the reviews line alone while a committer's requested changes stand, not for a contributor's", async () => {
    github.updatePullRequest(400001, { reviews: [{ user: "drive-by-reviewer", state: "CHANGES_REQUESTED" }] });
    expect((await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER })).ready).toBe(true);

    github.updatePullRequest(400001, {
      reviews: [
        { user: "drive-by-reviewer", state: "CHANGES_REQUESTED" },
        { user: SECOND_COMMITTER, state: "CHANGES_REQUESTED" },
        { user: SECOND_COMMITTER, state: "COMMENTED" },
      ],
    });
    const blocked = await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER });
    expect(failingKeys(blocked)).toEqual(["reviews"]);
    expect(blocked.lines.find((l) => l.key === "reviews")?.reason).toBe(`@${SECOND_COMMITTER} requested changes: they must approve or dismiss first.`);

    github.updatePullRequest(400001, {
      reviews: [
        { user: SECOND_COMMITTER, state: "CHANGES_REQUESTED" },
        { user: SECOND_COMMITTER, state: "APPROVED" },
      ],
    });
    expect((await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER })).ready).toBe(true);
    github.updatePullRequest(400001, { reviews: [] });
  });

  it("fails on the author line alone when the maintainer opened the PR", async () => {
    const author = fixture(400001).author;
    await signIn(HOST, author);
    const checklist = await service.checklist(HOST, { pr: 400001, maintainer: author });
    expect(failingKeys(checklist)).toEqual(["author"]);
    expect(checklist.lines.find((l) => l.key === "author")?.reason).toBe(`@${author} opened #400001: another maintainer has to approve it.`);
  });

  it("fails on the push line alone for a maintainer GitHub says cannot push", async () => {
    await signIn(HOST, HELPER);
    const checklist = await service.checklist(HOST, { pr: 400001, maintainer: HELPER });
    expect(failingKeys(checklist)).toEqual(["push"]);
    expect((await service.panel(HOST)).maintainers.find((m) => m.login === HELPER)?.canPush).toBe(false);
  });

  it("uses a plain merge only where the branch has no merge queue", async () => {
    github.setMergeQueue("master", false);
    try {
      expect((await service.checklist(HOST, { pr: 400001, maintainer: COMMITTER })).method).toBe("rest-merge");
    } finally {
      github.setMergeQueue("master", true);
    }
  });
});

describe("approve and merge", () => {
  it("posts the result, approves, enqueues the built SHA, follows the queue to merged, and celebrates", async () => {
    const since = sent.length;
    const merged = nextMerge(400001, "merged");
    const queued = await service.merge(HOST, { pr: 400001, maintainer: COMMITTER, approve: true });
    expect(queued).toMatchObject({ state: "queued", method: "enqueue", queuePosition: 1, queueState: "QUEUED", headSha: built[400001], maintainer: COMMITTER });
    expect(queued.submitters).toEqual(["alice"]);
    const final = await merged;
    expect(final.message).toBe(`Merged into master through the merge queue, approved by @${COMMITTER}.`);

    // Every state GitHub reported was shown on the way.
    expect(merges.filter((m) => m.prNumber === 400001).map((m) => m.queueState ?? m.state)).toEqual(["QUEUED", "AWAITING_CHECKS", "MERGEABLE", "merged"]);

    const enqueue = sent.slice(since).find((r) => r.body.includes("enqueuePullRequest"));
    expect(JSON.parse(enqueue!.body).variables).toMatchObject({ head: built[400001] });
    expect(sent.slice(since).some((r) => /\/pulls\/400001\/merge$/.test(r.path))).toBe(false);
    expect(github.mergeState(400001)).toMatchObject({ merged: true, mergedVia: "merge-queue", mergedBy: COMMITTER });
    expect(github.reviews(400001).map((r) => [r.user, r.state, r.commitId])).toEqual([[COMMITTER, "APPROVED", built[400001]]]);

    const [comment] = github.comments(400001);
    expect(comment?.body).toContain("## `nixpkgs-review` result");
    expect(comment?.body).toContain(`Commit: \`${built[400001]}\``);
    expect(final.resultCommentUrl).toMatch(/#issuecomment-\d+$/);

    expect(mergeAnnouncement(final)).toBe(`★ #400001 ${fixture(400001).title} is merged into master: built on stage, approved by @nix-committer. Thanks alice for sending it!`);
    const queue = await h.show.context.db.queueEntry.findUnique({ where: { prNumber: 400001 } });
    expect(queue?.state).toBe("merged");

    const points = await h.show.context.db.scoreEvent.findMany({ where: { prNumber: 400001, reason: "submitted-pr-merged" } });
    expect(points.map((p) => [p.deviceToken, p.points])).toEqual([["device-alice", MERGE_POINTS]]);
    expect(await awardMergePoints(h.show.context.db, 400001)).toBe(0);

    const attempts = (await service.panel(HOST)).attempts.filter((a) => a.prNumber === 400001);
    expect(attempts.map((a) => [a.method, a.outcome, a.githubStatus, a.headSha])).toEqual([
      ["enqueue", "ok", 200, built[400001]],
      ["approve", "ok", 200, built[400001]],
    ]);
  });

  it("refuses when the head moved between the build and the click, and merges nothing", async () => {
    const moved = await pushToPullRequest(400007);
    const since = sent.length;
    try {
      const error = await rejection(service.merge(HOST, { pr: 400007, maintainer: COMMITTER, approve: true }));
      expect(error.code).toBe("head_moved");
      expect(error.message).toContain(moved.newSha.slice(0, 7));
      expect(error.message).toContain("rebuild");
      expect(mergeCallsSince(since)).toEqual([]);
      expect(github.reviews(400007)).toEqual([]);
      expect(github.comments(400007)).toEqual([]);
      expect(github.mergeState(400007)).toMatchObject({ merged: false, queueEntry: null });
      const [attempt] = (await service.panel(HOST)).attempts;
      expect(attempt).toMatchObject({ prNumber: 400007, method: "checklist", outcome: "refused", headSha: built[400007] });
    } finally {
      await moved.restore();
    }
  });

  it("turns a refusing GitHub answer into a message for the stage, merges nothing, and keeps the answer in the audit", async () => {
    const cases = [
      {
        name: "405 not mergeable",
        queue: false,
        match: { method: "PUT", pathPattern: /\/pulls\/400007\/merge$/ },
        response: { status: 405, body: { message: "Pull Request is not mergeable" } },
        code: "conflict",
        message: /^GitHub cannot merge #400007 \(GitHub 405: “Pull Request is not mergeable”\).*Nothing was merged/,
      },
      {
        name: "405 merge queue",
        queue: false,
        match: { method: "PUT", pathPattern: /\/pulls\/400007\/merge$/ },
        response: { status: 405, body: { message: "Changes must be made through the merge queue" } },
        code: "conflict",
        message: /only takes changes through the merge queue/,
      },
      {
        name: "409",
        queue: false,
        match: { method: "PUT", pathPattern: /\/pulls\/400007\/merge$/ },
        response: { status: 409, body: { message: "Head branch was modified. Review and try the merge again." } },
        code: "head_moved",
        message: /^The head of #400007 moved after the build .* rebuild #400007/,
      },
      {
        name: "403",
        queue: false,
        match: { method: "PUT", pathPattern: /\/pulls\/400007\/merge$/ },
        response: { status: 403, body: { message: "Must have admin rights to Repository." } },
        code: "forbidden",
        message: /^GitHub refused to let @nix-committer merge #400007 .*push access to NixOS\/nixpkgs/,
      },
      {
        name: "422 GraphQL refusal",
        queue: true,
        match: { method: "POST", pathPattern: /^\/graphql$/, bodyPattern: /enqueuePullRequest/ },
        response: {
          status: 200,
          body: { data: { enqueuePullRequest: null }, errors: [{ type: "UNPROCESSABLE", path: ["enqueuePullRequest"], message: "Merge queue is locked" }] },
        },
        code: "conflict",
        message: /^GitHub refused to enqueue #400007 \(GitHub GraphQL: “Merge queue is locked”\)/,
      },
      {
        name: "429",
        queue: true,
        match: { method: "POST", pathPattern: /^\/graphql$/, bodyPattern: /enqueuePullRequest/ },
        response: {
          status: 429,
          headers: { "retry-after": "3600" },
          body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
        },
        code: "rate_limited",
        message: /^GitHub's rate limit for @nix-committer is used up .*resets at \d\d:\d\d\. Nothing was changed/,
      },
    ];
    for (const c of cases) {
      github.setMergeQueue("master", c.queue);
      github.failNext(c.match, c.response);
      const since = sent.length;
      try {
        const error = await rejection(service.merge(HOST, { pr: 400007, maintainer: COMMITTER, approve: false }));
        expect({ case: c.name, code: error.code }).toEqual({ case: c.name, code: c.code });
        expect(error.message).toMatch(c.message);
      } finally {
        github.setMergeQueue("master", true);
      }
      expect(mergeCallsSince(since)).toHaveLength(1);
      expect(github.mergeState(400007)).toMatchObject({ merged: false, queueEntry: null, autoMerge: null });
      const [attempt] = (await service.panel(HOST)).attempts;
      expect(attempt).toMatchObject({ prNumber: 400007, outcome: "refused", githubStatus: c.response.status, headSha: built[400007] });
    }
  });

  it("stops at GitHub's 422 on the approval of one's own PR, before anything is merged", async () => {
    github.failNext(
      { method: "POST", pathPattern: /\/pulls\/400007\/reviews$/ },
      { status: 422, body: { message: "Unprocessable Entity", errors: ["Review Can not approve your own pull request"] } },
    );
    const since = sent.length;
    const error = await rejection(service.merge(HOST, { pr: 400007, maintainer: COMMITTER, approve: true }));
    expect(error).toMatchObject({ code: "conflict", message: expect.stringMatching(/^@nix-committer opened #400007.*Another maintainer has to\.$/) });
    expect(mergeCallsSince(since)).toEqual([]);
    const [attempt] = (await service.panel(HOST)).attempts;
    expect(attempt).toMatchObject({ method: "approve", outcome: "refused", githubStatus: 422 });
  });

  it("posts the result comment once and edits it afterwards, failure tails included", async () => {
    const first = await service.postResultComment(HOST, { pr: 400002, maintainer: COMMITTER });
    expect(first.edited).toBe(false);
    await h.show.context.builds.startBuild(400002);
    await h.show.context.builds.idle();
    const second = await service.postResultComment(HOST, { pr: 400002, maintainer: SECOND_COMMITTER });
    expect(second).toMatchObject({ edited: true, url: first.url });

    const comments = github.comments(400002);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body).toContain(":x: 1 package failed to build:");
    // The tail is HTML inside the comment: GitHub shows &#x27; as the quote the log had.
    expect(body).toContain(fixture(400002).failure!.line.replaceAll("'", "&#x27;"));
    expect(sent.filter((r) => r.method === "PATCH" && r.path.endsWith(`/issues/comments/${comments[0]!.id}`))).toHaveLength(1);
  });

  it("turns on auto-merge while “no PR failures” is pending, and follows it through the queue once green", async () => {
    github.updatePullRequest(400003, { noPrFailures: "pending" });
    const merged = nextMerge(400003, "merged");
    const waiting = await service.merge(HOST, { pr: 400003, maintainer: COMMITTER, approve: false });
    expect(waiting).toMatchObject({ state: "auto-merge", method: "auto-merge" });
    expect(github.mergeState(400003).autoMerge).toMatchObject({ enabledBy: COMMITTER });
    const autoMerge = sent.filter((r) => r.body.includes("enablePullRequestAutoMerge")).at(-1);
    expect(JSON.parse(autoMerge!.body).variables).toMatchObject({ head: built[400003] });

    github.updatePullRequest(400003, { noPrFailures: "success" });
    await merged;
    expect(github.mergeState(400003)).toMatchObject({ merged: true, mergedVia: "merge-queue" });
  });

  it("says so when GitHub takes the PR out of the queue without merging it", async () => {
    github.updatePullRequest(400007, { mergeQueueOutcome: "fail" });
    const dequeued = nextMerge(400007, "dequeued");
    await service.merge(HOST, { pr: 400007, maintainer: COMMITTER, approve: false });
    expect((await dequeued).message).toMatch(/out of the merge queue without merging it/);
    expect(github.mergeState(400007)).toMatchObject({ merged: false, queueEntry: null });
    github.updatePullRequest(400007, { mergeQueueOutcome: "merge" });
  });
});

describe("the HTTP edge", () => {
  it("merges nothing without a host session, with a forged CSRF token, or without a maintainer signed in on that console", async () => {
    const { config } = h.show.context;
    const { value, session } = createSessionCookie(config.sessionSecret);
    const cookie = `${HOST_COOKIE}=${encodeURIComponent(value)}`;
    const csrf = csrfTokenFor(config.sessionSecret, session);
    const request = (headers: Record<string, string>) =>
      new Request("http://show.local/api/host/merge", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ pr: 400007, maintainer: COMMITTER }),
      });
    const since = sent.length;

    const anonymous = await mergeRoute(request({}));
    expect(anonymous.status).toBe(401);
    const forged = await mergeRoute(request({ cookie, "x-csrf-token": `${csrf.slice(0, -2)}xx` }));
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ error: { code: "forbidden", message: expect.stringMatching(/CSRF/) } });
    const noMaintainer = await mergeRoute(request({ cookie, "x-csrf-token": csrf }));
    expect(noMaintainer.status).toBe(401);
    expect(((await noMaintainer.json()) as { error: { message: string } }).error.message).toBe(
      `@${COMMITTER} is not signed in on this host console: sign them in with GitHub first.`,
    );
    expect(mergeCallsSince(since)).toEqual([]);
    expect(sent.slice(since)).toEqual([]);

    // The same request from a console where the committer signed in goes through.
    await signIn(session.id, COMMITTER);
    const accepted = await mergeRoute(request({ cookie, "x-csrf-token": csrf }));
    expect(accepted.status).toBe(202);
    expect(((await accepted.json()) as { merge: MergeView }).merge).toMatchObject({ prNumber: 400007, state: "queued" });

    const panel = await mergePanelRoute(new Request("http://show.local/api/host/merge", { headers: { cookie, "x-csrf-token": csrf } }));
    const text = await panel.text();
    expect(JSON.parse(text)).toMatchObject({ maintainers: [expect.objectContaining({ login: COMMITTER })] });
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});

describe("a restart", () => {
  it("follows PRs that were in the merge queue when the server stopped, and celebrates what merges afterwards", async () => {
    github.updatePullRequest(400003, { merged: false, state: "open", mergeQueueOutcome: "hold" });
    await service.merge(HOST, { pr: 400003, maintainer: COMMITTER, approve: false });
    await service.close();
    github.setUser({ login: COMMITTER, name: "Nix Committer", permission: "write", token: "ghp_committer_after_restart" });

    const afterRestart = new EventEmitter();
    const seen: MergeView[] = [];
    afterRestart.on("merge-updated", (view: MergeView) => seen.push(view));
    const restarted = createMergeService({
      db: h.show.context.db,
      events: { emit: (event: string, payload: unknown) => afterRestart.emit(event, payload) },
      github: { apiUrl: github.url, webUrl: github.webUrl, repo: REPO, clientId: null, envToken: "ghp_committer_after_restart" },
      builds: h.show.context.builds,
      logs: h.show.context.logs,
      options: { watchIntervalMs: 20 },
    });
    try {
      const merged = new Promise<MergeView>((resolve) =>
        afterRestart.on("merge-updated", (view: MergeView) => view.prNumber === 400003 && view.state === "merged" && resolve(view)),
      );
      await restarted.resume();
      expect(restarted.merges().find((m) => m.prNumber === 400003)).toMatchObject({ state: "queued", maintainer: COMMITTER, headSha: built[400003] });
      github.updatePullRequest(400003, { mergeQueueOutcome: "merge" });
      expect((await merged).message).toBe(`Merged into master through the merge queue, approved by @${COMMITTER}.`);
      // 400001 merged before the restart: it is known again as merged, without a second celebration.
      expect(restarted.merges().find((m) => m.prNumber === 400001)?.state).toBe("merged");
      expect(seen.filter((m) => m.prNumber === 400001)).toEqual([]);
    } finally {
      await restarted.close();
    }
  });
});
