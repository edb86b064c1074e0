import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { StandInPullRequest } from "@/server/rehearsal/github-stand-in";
import { standInPullRequests } from "@/server/rehearsal/rehearsal-kit";
import { submitPullRequest, type SubmissionInput } from "@/server/intake/submit-pull-request";
import { joinShow } from "@/server/intake/devices";
import { approveEntry, banFromShow, rejectEntry, setShowSwitch, upvote } from "@/server/intake/moderation";
import { deviceSubmissions, listQueue } from "@/server/intake/intake.repo";
import { runGit } from "@/server/workspace/git";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/** Audience intake against the GitHub stand-in and a real database. */
let h: ShowHarness;
let original: StandInPullRequest[];

beforeAll(async () => {
  // Facts change between tests here: no reuse of GitHub's answers.
  h = await startHarness({ env: { RATE_LIMIT_DEVICE: "3/60s", PR_FACTS_CACHE_SECONDS: "0" } });
  original = standInPullRequests(h.kit.mini, h.show.context.config.nixSystems[0]!);
  // Base branches a PR may target; the stand-in reads base.sha from the upstream's refs.
  for (const branch of ["haskell-updates", "release-25.11"]) {
    await runGit(["--git-dir", h.kit.mini.upstreamDir, "branch", branch, "master"], { cwd: h.kit.dir });
  }
});

afterAll(async () => {
  await h?.close();
});

afterEach(async () => {
  for (const pr of original) h.kit.github.setPullRequest(pr);
  h.kit.github.setRateLimitRemaining(5000);
  for (const key of ["submissionsLocked", "approveBeforeShown", "requireRoomCodeForRemote", "joinsLocked"] as const) {
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, key, false);
  }
});

const device = () => randomUUID();
const submit = (input: Partial<SubmissionInput> & { text: string }) =>
  submitPullRequest(h.show.context.intake, { source: "web", deviceToken: device(), ...input });
const facts = (number: number) => original.find((p) => p.number === number)!;

describe("eligibility from GitHub", () => {
  it.each<[string, Partial<StandInPullRequest>, RegExp]>([
    ["a draft", { draft: true }, /still a draft/],
    ["a closed PR", { state: "closed" }, /is closed/],
    ["a merged PR", { state: "closed", merged: true }, /already merged/],
    ["another base branch", { baseRef: "haskell-updates" }, /targets haskell-updates; this show builds PRs against master, staging, staging-next, release-\*/],
    ["a merge conflict", { labels: ["2.status: merge conflict"] }, /merge conflict/],
    ["too many rebuilds", { labels: ["10.rebuild-linux: 501+", "10.rebuild-linux: 501-1000"] }, /more than 501 packages/],
  ])("refuses %s with the reason, and stores the attempt", async (_name, patch, reason) => {
    h.kit.github.setPullRequest({ ...facts(400007), ...patch });
    const token = device();
    await expect(submit({ text: "#400007", deviceToken: token })).rejects.toThrow(reason);
    const [stored] = await deviceSubmissions(h.show.context.db, token);
    expect(stored).toMatchObject({ rawText: "#400007", outcome: "refused", prNumber: 400007 });
    expect(stored!.reason).toMatch(reason);
  });

  it("accepts release branches and small rebuild buckets", async () => {
    h.kit.github.setPullRequest({ ...facts(400007), baseRef: "release-25.11", labels: ["10.rebuild-linux: 1-10", "10.rebuild-linux: 1"] });
    await expect(submit({ text: "#400007" })).resolves.toMatchObject({ prNumber: 400007, warning: null });
  });

  it("reuses GitHub's answer with a conditional request (304) the second time", async () => {
    const before = h.kit.github.requests.length;
    await submit({ text: "#400001" });
    await submit({ text: "#400001" });
    const prRequests = h.kit.github.requests.slice(before).filter((r) => r.path === "/repos/NixOS/nixpkgs/pulls/400001");
    expect(prRequests).toHaveLength(2);
    expect(prRequests[1]).toMatchObject({ status: 304 });
    expect(prRequests[1]!.headers["if-none-match"]).toBeTruthy();
  });

  it("queues the PR with a visible warning when GitHub's rate limit is exhausted", async () => {
    h.kit.github.setRateLimitRemaining(0);
    const result = await submit({ text: "#400005" });
    expect(result.status).toBe("queued");
    expect(result.warning).toMatch(/rate limit/i);
    h.kit.github.failNext({ pathPattern: /pulls\/400002$/ }, { status: 429, headers: { "retry-after": "120" }, body: { message: "You have exceeded a secondary rate limit." } });
    h.kit.github.setRateLimitRemaining(5000);
    const second = await submit({ text: "#400002" });
    expect(second.warning).toMatch(/rate limit/i);
  });
});

describe("the queue", () => {
  it("is one entry per PR crediting every submitter, one upvote per device, ordered by votes then age", async () => {
    const a = device();
    await submit({ text: "#400003", deviceToken: a, nickname: "ann" });
    await submit({ text: "#400004", nickname: "ben" });
    const again = await submit({ text: "https://github.com/NixOS/nixpkgs/pull/400004", nickname: "cat" });
    expect(again.status).toBe("duplicate");
    // ann's own submission counted as her vote; a second vote from her device changes nothing.
    await upvote(h.show.context.intake, { deviceToken: a, prNumber: 400003 });
    const queue = await listQueue(h.show.context.db);
    const [first, second] = queue.filter((q) => q.prNumber === 400003 || q.prNumber === 400004);
    expect(first).toMatchObject({ prNumber: 400004, votes: 2, submitters: ["ben", "cat"] });
    expect(second).toMatchObject({ prNumber: 400003, votes: 1 });
    await upvote(h.show.context.intake, { deviceToken: device(), prNumber: 400003 });
    await upvote(h.show.context.intake, { deviceToken: device(), prNumber: 400003 });
    const reordered = (await listQueue(h.show.context.db)).filter((q) => q.prNumber === 400003 || q.prNumber === 400004);
    expect(reordered.map((q) => q.prNumber)).toEqual([400003, 400004]);
  });

  it("holds new entries for approval when the host asks, and shows the rejection reason to the submitter", async () => {
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, "approveBeforeShown", true);
    const token = device();
    const result = await submit({ text: "#400006", deviceToken: token });
    expect(result.message).toMatch(/waiting for the host's approval/);
    expect((await listQueue(h.show.context.db)).some((q) => q.prNumber === 400006)).toBe(false);
    expect((await listQueue(h.show.context.db, { includeHidden: true })).find((q) => q.prNumber === 400006)?.state).toBe("pending");
    await rejectEntry(h.show.context.intake, 400006, "Not tonight: it needs a rebase");
    const [mine] = await deviceSubmissions(h.show.context.db, token);
    expect(mine).toMatchObject({ state: "rejected", reason: "Not tonight: it needs a rebase" });
    await approveEntry(h.show.context.intake, 400006);
    expect((await listQueue(h.show.context.db)).find((q) => q.prNumber === 400006)?.state).toBe("queued");
  });

  it("refuses submissions while the host has locked them", async () => {
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, "submissionsLocked", true);
    await expect(submit({ text: "#400001" })).rejects.toThrow(/closed for now/);
  });

  it("refuses a banned device, and keeps what it sent", async () => {
    const token = device();
    await joinShow(h.show.context.intake, { deviceToken: token, nickname: "troll" });
    await banFromShow(h.show.context.intake, token, "flooding");
    await expect(submit({ text: "#400001", deviceToken: token })).rejects.toThrow(/removed this device from the show: flooding/);
    await expect(upvote(h.show.context.intake, { deviceToken: token, prNumber: 400001 })).rejects.toThrow(/removed/);
    await expect(joinShow(h.show.context.intake, { deviceToken: token })).rejects.toThrow(/removed/);
    expect((await deviceSubmissions(h.show.context.db, token))[0]).toMatchObject({ outcome: "refused" });
  });
});

describe("joining", () => {
  it("marks a phone that came through the stage's QR code as in the room, anything else as remote", async () => {
    const { roomCode } = await h.show.context.settings.get();
    expect(roomCode).toMatch(/^[ACDEFGHJKMNPQRTUVWXY]{4}$/);
    const inRoom = await joinShow(h.show.context.intake, { deviceToken: device(), roomCode: roomCode.toLowerCase(), via: "qr" });
    expect(inRoom.remote).toBe(false);
    const remote = await joinShow(h.show.context.intake, { deviceToken: device(), nickname: "  \u202eevil\u200b name  " });
    expect(remote).toMatchObject({ remote: true, nickname: "evil name" });
    await expect(joinShow(h.show.context.intake, { deviceToken: device(), roomCode: "ZZZZ", via: "qr" })).rejects.toThrow(/not this show's room code/);
    await expect(joinShow(h.show.context.intake, { deviceToken: "short" })).rejects.toThrow(/not valid/);
  });

  it("requires the room code from remote devices when the host says so", async () => {
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, "requireRoomCodeForRemote", true);
    const token = device();
    await joinShow(h.show.context.intake, { deviceToken: token });
    await expect(submit({ text: "#400001", deviceToken: token })).rejects.toThrow(/need the room code/);
    const { roomCode } = await h.show.context.settings.get();
    await expect(submit({ text: "#400001", deviceToken: token, roomCode })).resolves.toMatchObject({ prNumber: 400001 });
  });

  it("refuses new devices while joins are locked, but lets known ones back", async () => {
    const known = device();
    await joinShow(h.show.context.intake, { deviceToken: known });
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, "joinsLocked", true);
    await expect(joinShow(h.show.context.intake, { deviceToken: device() })).rejects.toThrow(/not taking new players/);
    await expect(joinShow(h.show.context.intake, { deviceToken: known })).resolves.toMatchObject({ deviceToken: known });
  });
});

describe("anti-spam", () => {
  it("answers too many submissions from one device with rate_limited and when to retry, storing nothing", async () => {
    const token = device();
    for (let i = 0; i < 3; i++) await submit({ text: "#400001", deviceToken: token }).catch(() => undefined);
    const error = await submit({ text: "#400001", deviceToken: token }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "rate_limited" });
    expect((error as Error).message).toMatch(/Too many submissions from this phone; try again in \d+ s/);
    expect((error as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBeGreaterThan(0);
    expect(await deviceSubmissions(h.show.context.db, token)).toHaveLength(3);
  });
});
