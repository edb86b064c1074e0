import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChat, MAX_WEBHOOK_BYTES, type Chat, type ChatConfig } from "@/server/chat";
import { MERGE_SEPARATOR, type BotClock } from "@/server/chat/chat-bot";
import { recordChatEvent } from "@/server/chat/chat.repo";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { signOwncastWebhook, startOwncastStandIn, type OwncastSentMessage, type OwncastStandIn } from "@/server/rehearsal/owncast-stand-in";
import type { BuildView } from "@/server/show/views";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/**
 * Owncast chat as the audience sees it: a viewer types in the stream's chat, Owncast delivers a
 * webhook (or the app polls history), the PR lands in the queue, and the bot answers in chat —
 * later with the verdict. Real show services and database, the GitHub and Owncast stand-ins.
 * Each describe block gets its own show; the webhook tests share one and run in order, each with
 * its own viewers.
 */
const ACCESS_TOKEN = "owncast-bot-token";
const SECRET = "owncast-webhook-secret-0123456789";

let h: ShowHarness;
let receiver: http.Server;
let receiverUrl: string;
/** The app's webhook route, one per chat under test: POST /hooks/<name>. */
const hooks = new Map<string, Chat>();
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const chat = hooks.get(url.pathname.replace(/^\/hooks\//, ""));
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
      void (chat ? chat.handleWebhook(Buffer.concat(chunks).toString("utf8"), headers, url) : Promise.resolve({ status: 404, body: {} }))
        .catch(() => ({ status: 500, body: {} }))
        .then(({ status, body }) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        });
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

/** A fresh show (database, queue, builds) for the describe block it is called in. */
function withFreshShow(): void {
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    hooks.clear();
    await h?.close();
  });
}

interface Setup {
  owncast: OwncastStandIn;
  chat: Chat;
}

/** An Owncast server and the app's chat wired to it; its webhooks reach `/hooks/<name>`. */
async function setup(
  name: string,
  opts: {
    /** The secret Owncast signs with; none means an older, unsigned Owncast. */
    ownSecret?: string;
    config?: Partial<ChatConfig>;
    botClock?: BotClock;
    replyGapMs?: number;
  } = {},
): Promise<Setup> {
  const owncast = await startOwncastStandIn({
    webhookUrl: `${receiverUrl}/hooks/${name}`,
    accessToken: ACCESS_TOKEN,
    webhookSecret: opts.ownSecret,
  });
  const { db, events, intake } = h.show.context;
  const chat = createChat({
    db,
    events,
    intake,
    config: { owncastUrl: owncast.url, owncastAccessToken: ACCESS_TOKEN, owncastWebhookSecret: SECRET, owncastPoll: false, ...opts.config },
    options: { replyGapMs: opts.replyGapMs ?? 0, pollIntervalMs: 20, botClock: opts.botClock },
  });
  hooks.set(name, chat);
  cleanups.push(async () => {
    await chat.stop();
    await owncast.close();
  });
  return { owncast, chat };
}

/** Every line the bot posted, merged messages split back into their lines. */
function lines(sent: OwncastSentMessage[]): string[] {
  return sent.flatMap((m) => m.body.split(MERGE_SEPARATOR));
}

async function chatEvent(id: string) {
  return h.show.context.db.chatEvent.findUnique({ where: { id } });
}

async function submissionsFrom(userId: string) {
  return h.show.context.db.submission.findMany({ where: { deviceToken: `owncast:${userId}` }, orderBy: { id: "asc" } });
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function chatEnvelope(id: string, rawBody: string, type = "CHAT"): string {
  return JSON.stringify({
    type,
    eventData: {
      user: { id: `user-${id}`, displayName: "mallory", displayColor: 1, createdAt: new Date().toISOString(), previousNames: [], isBot: false, authenticated: false },
      clientId: 1,
      body: `<p>${rawBody}</p>`,
      rawBody,
      id,
      visible: true,
      timestamp: new Date().toISOString(),
    },
  });
}

describe("Owncast webhooks, signed like Owncast 0.3", () => {
  withFreshShow();
  let main: Setup;

  beforeAll(async () => {
    main = await setup("main", { ownSecret: SECRET });
  });

  it("queues a valid chat message, stores it first, and answers the viewer in chat", async () => {
    const { owncast, chat } = main;
    const { status, id } = await owncast.sendChat({ displayName: "alice", userId: "u-alice", body: "#400001" });
    expect(status).toBe(202);
    // Stored before the webhook was answered, whatever happens next.
    expect(await chatEvent(id)).toMatchObject({ id, type: "CHAT", displayName: "alice", userId: "u-alice", isBot: false, text: "#400001" });

    await chat.idle();
    expect(await chatEvent(id)).toMatchObject({ outcome: "processed", reason: null });
    expect(await submissionsFrom("u-alice")).toMatchObject([
      { source: "owncast", remote: true, rawText: "#400001", nickname: "alice", prNumber: 400001, outcome: "queued" },
    ]);
    expect(owncast.sent).toEqual([
      { path: "/api/integrations/chat/send", body: "@alice #400001 queued", at: expect.any(Number), authorization: `Bearer ${ACCESS_TOKEN}` },
    ]);
    expect((await h.show.context.snapshot()).queue.find((q) => q.prNumber === 400001)?.submitters).toEqual(["alice"]);
  });

  it("reads the HTML body when rawBody is HTML too, as older servers send it", async () => {
    const { owncast, chat } = main;
    const html = "<p>#400003 &amp; <strong>!pr 400007</strong></p>";
    const { status, id } = await owncast.sendChat({ displayName: "carol", userId: "u-carol", body: html, htmlBody: html });
    expect(status).toBe(202);
    await chat.idle();
    expect(await chatEvent(id)).toMatchObject({ text: "#400003 & !pr 400007", outcome: "processed" });
    expect((await submissionsFrom("u-carol")).map((s) => [s.prNumber, s.outcome, s.rawText])).toEqual([
      [400003, "queued", "#400003 & !pr 400007"],
      [400007, "queued", "#400003 & !pr 400007"],
    ]);
    expect(lines(owncast.sent).at(-1)).toBe("@carol #400003 queued, #400007 queued");
  });

  it("reads the HTML body with its tags stripped when rawBody is missing", async () => {
    const { owncast, chat } = main;
    const { status, id } = await owncast.sendChat({ displayName: "erin", userId: "u-erin", body: "build **#400005** please", omitRawBody: true });
    expect(status).toBe(202);
    await chat.idle();
    expect(await chatEvent(id)).toMatchObject({ text: "build #400005 please", outcome: "processed" });
    expect((await submissionsFrom("u-erin")).map((s) => [s.prNumber, s.outcome])).toEqual([[400005, "queued"]]);
    expect(lines(owncast.sent).at(-1)).toBe("@erin #400005 queued");
  });

  it("ignores other bots: stored, not submitted, no reply", async () => {
    const { owncast, chat } = main;
    const before = owncast.sent.length;
    const { status, id } = await owncast.sendChat({ displayName: "OtherBot", userId: "u-bot", body: "#400002", isBot: true });
    expect(status).toBe(202);
    await chat.idle();
    expect(await chatEvent(id)).toMatchObject({ isBot: true, outcome: "ignored", reason: "sent by a bot" });
    expect(await submissionsFrom("u-bot")).toEqual([]);
    expect(owncast.sent.length).toBe(before);
  });

  it("handles a message delivered twice with the same id once", async () => {
    const { owncast, chat } = main;
    const first = await owncast.sendChat({ displayName: "frank", userId: "u-frank", body: "#400002", id: "dup-frank-1" });
    const second = await owncast.sendChat({ displayName: "frank", userId: "u-frank", body: "#400002", id: "dup-frank-1" });
    expect([first.status, second.status]).toEqual([202, 200]);
    await chat.idle();
    expect(await h.show.context.db.chatEvent.count({ where: { id: "dup-frank-1" } })).toBe(1);
    expect((await submissionsFrom("u-frank")).map((s) => [s.prNumber, s.outcome])).toEqual([[400002, "queued"]]);
    expect(lines(owncast.sent).filter((l) => l.startsWith("@frank"))).toEqual(["@frank #400002 queued"]);
  });

  it("takes several PRs from one message and answers each, refusals with their reason", async () => {
    const { owncast, chat } = main;
    const { id } = await owncast.sendChat({ displayName: "dave", userId: "u-dave", body: "!pr 400001 400006 #999999" });
    await chat.idle();
    expect(lines(owncast.sent).at(-1)).toBe("@dave #400001 already queued, #400006 queued, #999999 does not exist in NixOS/nixpkgs");
    expect(await chatEvent(id)).toMatchObject({ outcome: "processed", reason: "#999999 does not exist in NixOS/nixpkgs" });
    expect((await submissionsFrom("u-dave")).map((s) => [s.prNumber, s.outcome, s.rawText])).toEqual([
      [400001, "duplicate", "!pr 400001 400006 #999999"],
      [400006, "queued", "!pr 400001 400006 #999999"],
      [999999, "refused", "!pr 400001 400006 #999999"],
    ]);
  });

  it("refuses with the reason when nothing can be queued, and stays quiet on ordinary chat", async () => {
    const { owncast, chat } = main;
    const missing = await owncast.sendChat({ displayName: "bob", userId: "u-bob", body: "#999999" });
    const zero = await owncast.sendChat({ displayName: "bob", userId: "u-bob", body: "try #007" });
    const prose = await owncast.sendChat({ displayName: "bob", userId: "u-bob", body: "I have 3 cats and nixpkgs#hello" });
    await chat.idle();
    expect(await chatEvent(missing.id)).toMatchObject({ outcome: "refused", reason: "#999999 does not exist in NixOS/nixpkgs" });
    expect(await chatEvent(zero.id)).toMatchObject({ outcome: "refused", reason: expect.stringContaining("did you mean #7?") });
    expect(await chatEvent(prose.id)).toMatchObject({ outcome: "ignored", reason: "no PR reference" });
    expect(lines(owncast.sent).filter((l) => l.startsWith("@bob"))).toEqual([
      "@bob #999999 does not exist in NixOS/nixpkgs",
      "@bob “007” starts with 0, and PR numbers never do: did you mean #7?",
    ]);
    // The PR the intake looked up is stored as refused; the unparseable messages live in ChatEvent.
    expect((await submissionsFrom("u-bob")).map((s) => [s.prNumber, s.outcome])).toEqual([[999999, "refused"]]);
  });

  it("refuses a bad signature, and stores nothing", async () => {
    const body = chatEnvelope("forged-1", "#400004");
    const { status } = await main.owncast.postRawWebhook(body, { "owncast-signature": signOwncastWebhook("not the secret", body) });
    expect(status).toBe(401);
    const direct = await main.chat.handleWebhook(body, new Headers(), new URL(`${receiverUrl}/hooks/main`));
    expect(direct).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    expect(await chatEvent("forged-1")).toBeNull();
  });

  it("refuses a correctly signed delivery whose timestamp is stale (a replay)", async () => {
    const body = chatEnvelope("replayed-1", "#400004");
    const signature = signOwncastWebhook(SECRET, body, Math.floor(Date.now() / 1000) - 3600);
    expect((await main.owncast.postRawWebhook(body, { "owncast-signature": signature })).status).toBe(401);
    const direct = await main.chat.handleWebhook(body, new Headers({ "owncast-signature": signature }), new URL(`${receiverUrl}/hooks/main`));
    expect(direct).toMatchObject({ status: 401, body: { error: { message: expect.stringMatching(/signed 3\d{3} s away/) } } });
    expect(await chatEvent("replayed-1")).toBeNull();
  });

  it("answers 202 and ignores events other than CHAT", async () => {
    const body = chatEnvelope("joined-1", "#400004", "USER_JOINED");
    expect((await main.owncast.postRawWebhook(body)).status).toBe(202);
    const direct = await main.chat.handleWebhook(body, new Headers({ "owncast-signature": signOwncastWebhook(SECRET, body) }), new URL(`${receiverUrl}/hooks/main`));
    expect(direct).toEqual({ status: 202, body: { ignored: true, type: "USER_JOINED" } });
    expect(await chatEvent("joined-1")).toBeNull();
  });

  it("answers 400 to malformed JSON and to a CHAT event without an id, 413 to a huge body", async () => {
    const before = await h.show.context.db.chatEvent.count();
    expect((await main.owncast.postRawWebhook("{not json")).status).toBe(400);
    expect((await main.owncast.postRawWebhook(JSON.stringify({ type: "CHAT", eventData: { user: { displayName: "x" }, body: "#1" } }))).status).toBe(400);
    const huge = chatEnvelope("huge-1", "#400004 " + "x".repeat(MAX_WEBHOOK_BYTES));
    expect((await main.owncast.postRawWebhook(huge)).status).toBe(413);
    expect(await h.show.context.db.chatEvent.count()).toBe(before);
  });

  it("accepts the secret as ?token= from an older Owncast that cannot sign, and refuses a wrong token", async () => {
    const unsigned = await startOwncastStandIn({ webhookUrl: `${receiverUrl}/hooks/main?token=${encodeURIComponent(SECRET)}`, accessToken: ACCESS_TOKEN });
    const guessing = await startOwncastStandIn({ webhookUrl: `${receiverUrl}/hooks/main?token=guess`, accessToken: ACCESS_TOKEN });
    cleanups.push(() => unsigned.close(), () => guessing.close());

    const accepted = await unsigned.sendChat({ displayName: "gwen", userId: "u-gwen", body: "#400004" });
    const refused = await guessing.sendChat({ displayName: "gwen", userId: "u-gwen", body: "#400004" });
    expect([accepted.status, refused.status]).toEqual([202, 401]);
    await main.chat.idle();
    expect(await chatEvent(accepted.id)).toMatchObject({ outcome: "processed" });
    expect(await chatEvent(refused.id)).toBeNull();
    expect(lines(main.owncast.sent).at(-1)).toBe("@gwen #400004 queued");
  });
});

describe("Owncast chat without the secret or the bot", () => {
  withFreshShow();

  it("refuses every webhook while OWNCAST_WEBHOOK_SECRET is unset, naming the variable", async () => {
    const { owncast, chat } = await setup("no-secret", { ownSecret: SECRET, config: { owncastWebhookSecret: null } });
    const { status, id } = await owncast.sendChat({ displayName: "henry", userId: "u-henry", body: "#400004" });
    expect(status).toBe(503);
    const body = chatEnvelope("no-secret-1", "#400004");
    const direct = await chat.handleWebhook(body, new Headers({ "owncast-signature": signOwncastWebhook(SECRET, body) }), new URL(`${receiverUrl}/hooks/no-secret`));
    expect(direct).toMatchObject({ status: 503, body: { error: { message: expect.stringContaining("set OWNCAST_WEBHOOK_SECRET") } } });
    expect(await chatEvent(id)).toBeNull();
  });

  it("still takes submissions when the bot is not configured, and posts nothing", async () => {
    const { owncast, chat } = await setup("no-bot", { ownSecret: SECRET, config: { owncastUrl: null, owncastAccessToken: null } });
    expect(chat.botEnabled).toBe(false);
    const { status, id } = await owncast.sendChat({ displayName: "iris", userId: "u-iris", body: "#400005" });
    expect(status).toBe(202);
    await chat.idle();
    expect(await chatEvent(id)).toMatchObject({ outcome: "processed" });
    expect((await submissionsFrom("u-iris")).map((s) => [s.prNumber, s.outcome])).toEqual([[400005, "queued"]]);
    expect(owncast.sent).toEqual([]);
  });
});

describe("the host's switches, as chat sees them", () => {
  withFreshShow();

  it("says when a PR waits for the host's approval, and why nothing is taken while submissions are closed", async () => {
    const { owncast, chat } = await setup("switches", { ownSecret: SECRET });
    const { settings } = h.show.context;
    await settings.setSwitch("approveBeforeShown", true);
    await owncast.sendChat({ displayName: "rosa", userId: "u-rosa", body: "#400001" });
    await chat.idle();
    await settings.setSwitch("approveBeforeShown", false);
    await settings.setSwitch("submissionsLocked", true);
    const locked = await owncast.sendChat({ displayName: "sam", userId: "u-sam", body: "#400002" });
    await chat.idle();
    await settings.setSwitch("submissionsLocked", false);

    expect(lines(owncast.sent)).toEqual([
      "@rosa #400001 waits for the host's approval",
      "@sam #400002: Submissions are closed for now; the host will open them again",
    ]);
    expect(await chatEvent(locked.id)).toMatchObject({ outcome: "refused" });
    expect((await submissionsFrom("u-sam")).map((s) => [s.rawText, s.outcome])).toEqual([["#400002", "refused"]]);
  });
});

describe("a restart between storing a message and handling it", () => {
  withFreshShow();

  it("handles the messages a previous run stored but never handled, when the chat starts", async () => {
    await recordChatEvent(h.show.context.db, { id: "stored-before-crash", displayName: "quinn", userId: "u-quinn", isBot: false, text: "#400003" });
    const { owncast, chat } = await setup("restart", { ownSecret: SECRET });
    chat.start();
    await chat.idle();
    expect(await chatEvent("stored-before-crash")).toMatchObject({ outcome: "processed" });
    expect((await submissionsFrom("u-quinn")).map((s) => [s.prNumber, s.outcome])).toEqual([[400003, "queued"]]);
    expect(owncast.sent.map((m) => m.body)).toEqual(["@quinn #400003 queued"]);
  });
});

describe("the bot when chat is busy", () => {
  withFreshShow();

  it("posts the first reply at once and merges the replies that wait for the next slot", async () => {
    // A clock the test moves: the bot's one-second wait ends when the test says so.
    let time = 0;
    const waiting: Array<() => void> = [];
    const clock: BotClock = {
      now: () => time,
      sleep: (ms) =>
        new Promise<void>((resolve) =>
          waiting.push(() => {
            time += ms;
            resolve();
          }),
        ),
    };
    const { owncast, chat } = await setup("busy", { ownSecret: SECRET, botClock: clock, replyGapMs: 1000 });
    try {
      await owncast.sendChat({ displayName: "jack", userId: "u-jack", body: "#400004" });
      await chat.idle();
      expect(owncast.sent.map((m) => m.body)).toEqual(["@jack #400004 queued"]);

      await owncast.sendChat({ displayName: "kate", userId: "u-kate", body: "#400002" });
      await owncast.sendChat({ displayName: "liam", userId: "u-liam", body: "#999998" });
      await chat.handled();
      // Both replies wait for the one-second slot after jack's reply.
      expect(waiting).toHaveLength(1);
      expect(owncast.sent).toHaveLength(1);
      waiting.shift()!();
      await waitFor("the second message", async () => owncast.sent.length === 2);
      expect(waiting).toEqual([]);
      expect(owncast.sent.map((m) => m.body)).toEqual([
        "@jack #400004 queued",
        "@kate #400002 queued · @liam #999998 does not exist in NixOS/nixpkgs",
      ]);
    } finally {
      for (const release of waiting.splice(0)) release();
    }
  });
});

describe("polling Owncast's chat history when webhooks cannot reach the app", () => {
  withFreshShow();

  it("handles new messages from history once, skips old history, bots and messages the webhook handled", async () => {
    const { owncast, chat } = await setup("poll", { ownSecret: SECRET, config: { owncastPoll: true } });
    expect(chat.polling).toBe(true);
    const viaWebhook = await owncast.sendChat({ displayName: "nina", userId: "u-nina", body: "#400003" });
    expect(viaWebhook.status).toBe(202);
    await chat.idle();

    // From now on Owncast cannot reach the app: messages only reach its history.
    hooks.delete("poll");
    const old = await owncast.sendChat({ displayName: "yesterday", userId: "u-yesterday", body: "#400007", timestamp: new Date(Date.now() - 3_600_000) });
    chat.start();
    const fresh = await owncast.sendChat({ displayName: "mia", userId: "u-mia", body: "!pr 400007" });
    expect([old.status, fresh.status]).toEqual([404, 404]);

    await waitFor("mia's reply", async () => owncast.sent.length >= 2);
    await chat.idle();
    expect(owncast.sent.map((m) => m.body)).toEqual(["@nina #400003 queued", "@mia #400007 queued"]);
    expect(await chatEvent(fresh.id)).toMatchObject({ text: "!pr 400007", outcome: "processed" });
    expect((await submissionsFrom("u-mia")).map((s) => [s.prNumber, s.outcome])).toEqual([[400007, "queued"]]);
    expect((await submissionsFrom("u-nina")).map((s) => [s.prNumber, s.outcome])).toEqual([[400003, "queued"]]);
    expect(await chatEvent(old.id)).toMatchObject({ outcome: "ignored", reason: "sent before the show started reading chat" });
    expect(await submissionsFrom("u-yesterday")).toEqual([]);

    // The bot's own replies show up in history as bot messages: stored once, never answered.
    const botReplies = (owncast.history as Array<{ id: string; user?: { isBot: boolean } }>).filter((m) => m.user?.isBot);
    expect(botReplies).toHaveLength(2);
    await waitFor("the bot's replies to be read back", async () => (await chatEvent(botReplies[1]!.id))?.outcome === "ignored");
    await chat.stop();
    expect(await chatEvent(botReplies[0]!.id)).toMatchObject({ isBot: true, outcome: "ignored", reason: "sent by a bot" });
    expect(owncast.sent).toHaveLength(2);
  });
});

describe("verdicts in chat", () => {
  withFreshShow();

  it("announces each chat PR's verdict once, to the viewers who sent it, and nothing for other PRs", async () => {
    const { owncast, chat } = await setup("verdicts", { ownSecret: SECRET });
    chat.start();
    const { builds, events, intake } = h.show.context;
    await owncast.sendChat({ displayName: "olga", userId: "u-olga", body: "#400001" });
    await owncast.sendChat({ displayName: "pete", userId: "u-pete", body: "!pr 400001 400002" });
    await submitPullRequest(intake, { source: "web", text: "#400001", nickname: "web-viewer" });
    await chat.idle();
    owncast.sent.length = 0;

    const started = [...(await builds.startBuild(400001)), ...(await builds.startBuild(400002))];
    await builds.idle();
    await chat.idle();
    const [passed, failed] = (await Promise.all(started.map((b) => builds.getBuild(b.id)))) as [BuildView, BuildView];
    expect([passed.status, failed.status]).toEqual(["passed", "failed"]);
    expect(failed.failedDrv).toMatch(/^broken-tool-/);
    const expected = ["@olga @pete #400001 builds ✔", `@pete #400002 Hydra failure ✘ ${failed.failedDrv} in ${failed.failedPhase}`];
    expect(lines(owncast.sent).sort()).toEqual(expected.sort());

    // The same verdict seen again is not announced again; a PR nobody sent from chat is not announced.
    events.emit("build-updated", passed);
    events.emit("build-updated", failed);
    events.emit("build-updated", { ...passed, id: passed.id + 1000, prNumber: 400004 });
    await chat.idle();
    expect(lines(owncast.sent).sort()).toEqual(expected.sort());
  });
});
