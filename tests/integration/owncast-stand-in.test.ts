import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOwncastClient } from "../../server/chat/owncast-client";
import { AppError } from "../../server/errors";
import { startOwncastStandIn, type OwncastStandIn } from "../../server/rehearsal/owncast-stand-in";

const ACCESS_TOKEN = "owncast-access-token";
const WEBHOOK_SECRET = "owncast-webhook-secret";

interface Delivery {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
}

/** A stand-in for the app's webhook route: records what Owncast delivered. */
let receiver: http.Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];
const standIns: OwncastStandIn[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, rawBody: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/owncast/webhook`;
});

afterEach(() => {
  deliveries.length = 0;
});

afterAll(async () => {
  await Promise.all(standIns.map((s) => s.close()));
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function start(opts: { webhookSecret?: string } = {}): Promise<OwncastStandIn> {
  const standIn = await startOwncastStandIn({ webhookUrl: receiverUrl, accessToken: ACCESS_TOKEN, ...opts });
  standIns.push(standIn);
  return standIn;
}

/** How the app is told to check a delivery (Owncast 0.3 docs, "Verifying webhook requests"). */
function verifySignature(header: string | undefined, rawBody: string, secret: string): boolean {
  const match = /^t=(\d+)\.s=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match?.[1] || !match[2]) return false;
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${match[1]}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2], "hex"));
}

describe("chat webhooks", () => {
  it("delivers a viewer's message in Owncast's CHAT envelope, signed with the webhook secret", async () => {
    const owncast = await start({ webhookSecret: WEBHOOK_SECRET });
    const { status, id } = await owncast.sendChat({ displayName: "nixfan", body: "#12345" });
    expect(status).toBe(204);
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries as [Delivery];
    expect(delivery.headers["content-type"]).toBe("application/json");
    expect(verifySignature(delivery.headers["owncast-signature"] as string, delivery.rawBody, WEBHOOK_SECRET)).toBe(true);
    expect(verifySignature(delivery.headers["owncast-signature"] as string, delivery.rawBody, "another secret")).toBe(false);

    const event = JSON.parse(delivery.rawBody);
    expect(event).toEqual({
      type: "CHAT",
      eventData: {
        user: {
          id: expect.any(String),
          displayName: "nixfan",
          displayColor: expect.any(Number),
          createdAt: expect.any(String),
          previousNames: ["nixfan"],
          isBot: false,
          authenticated: false,
        },
        clientId: expect.any(Number),
        body: "<p>#12345</p>",
        rawBody: "#12345",
        id,
        visible: true,
        timestamp: expect.any(String),
      },
    });
    expect(Number.isNaN(Date.parse(event.eventData.timestamp))).toBe(false);
  });

  it("keeps the same user across messages and escapes what viewers type", async () => {
    const owncast = await start();
    await owncast.sendChat({ displayName: "mallory", body: "<script>alert(1)</script> see https://github.com/NixOS/nixpkgs/pull/1" });
    await owncast.sendChat({ displayName: "mallory", body: "second", omitRawBody: true });
    const [first, second] = deliveries.map((d) => JSON.parse(d.rawBody).eventData);
    expect(deliveries.every((d) => d.headers["owncast-signature"] === undefined)).toBe(true);
    expect(first.body).toBe(
      '<p>&lt;script&gt;alert(1)&lt;/script&gt; see <a href="https://github.com/NixOS/nixpkgs/pull/1" rel="nofollow noreferrer noopener" target="_blank">https://github.com/NixOS/nixpkgs/pull/1</a></p>',
    );
    expect(second.user.id).toBe(first.user.id);
    expect(second).not.toHaveProperty("rawBody");
    expect(owncast.history).toHaveLength(2);
  });

  it("keeps the message in history when the receiver is unreachable, as Owncast does", async () => {
    const owncast = await startOwncastStandIn({ webhookUrl: "http://127.0.0.1:9/unreachable", accessToken: ACCESS_TOKEN });
    standIns.push(owncast);
    expect((await owncast.sendChat({ displayName: "late", body: "#1" })).status).toBe(0);
    expect(owncast.history).toHaveLength(1);
  });

  it("posts raw bodies for malformed-delivery tests", async () => {
    const owncast = await start({ webhookSecret: WEBHOOK_SECRET });
    expect(await owncast.postRawWebhook("{not json")).toEqual({ status: 204 });
    expect(verifySignature(deliveries[0]?.headers["owncast-signature"] as string, "{not json", WEBHOOK_SECRET)).toBe(true);
    await owncast.postRawWebhook("{}", { "owncast-signature": "t=1.s=00" });
    expect(deliveries[1]?.headers["owncast-signature"]).toBe("t=1.s=00");
  });
});

describe("integration API through the app's Owncast client", () => {
  it("posts chat and system messages with the Bearer token", async () => {
    const owncast = await start();
    const client = createOwncastClient({ url: owncast.url, accessToken: ACCESS_TOKEN, minIntervalMs: 0 });
    await client.sendChatMessage("PR #12345 is building");
    await client.sendSystemMessage("Round 2 starts now");
    expect(owncast.sent).toEqual([
      { path: "/api/integrations/chat/send", body: "PR #12345 is building", at: expect.any(Number), authorization: `Bearer ${ACCESS_TOKEN}` },
      { path: "/api/integrations/chat/system", body: "Round 2 starts now", at: expect.any(Number), authorization: `Bearer ${ACCESS_TOKEN}` },
    ]);
    // Posts through the integration API do not come back as webhooks, but they are in the history.
    expect(deliveries).toHaveLength(0);
    const history = (await (await fetch(`${owncast.url}/api/integrations/chat`, { headers: { authorization: `Bearer ${ACCESS_TOKEN}` } })).json()) as Array<{
      type: string;
      body: string;
      user?: { isBot: boolean };
    }>;
    expect(history.map((m) => [m.type, m.body, m.user?.isBot])).toEqual([
      ["CHAT", "<p>PR #12345 is building</p>", true],
      ["SYSTEM", "<p>Round 2 starts now</p>", undefined],
    ]);
  });

  it("explains a rejected token in terms of the scope it needs", async () => {
    const owncast = await start();
    const client = createOwncastClient({ url: owncast.url, accessToken: "wrong-token", minIntervalMs: 0 });
    const error = await client.sendChatMessage("hello").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "unauthorized" });
    expect((error as AppError).message).toBe(
      "Owncast refused the access token: it is unknown or lacks the CAN_SEND_MESSAGES scope (create one under /admin/access-tokens)",
    );
    await expect(client.sendSystemMessage("hello")).rejects.toThrow(/CAN_SEND_SYSTEM_MESSAGES/);
    expect(owncast.sent).toEqual([]);
  });

  it("answers like Owncast: 401 plain text, 400 for an empty message, 500 for broken JSON", async () => {
    const owncast = await start();
    const post = (body: string, token = ACCESS_TOKEN) =>
      fetch(`${owncast.url}/api/integrations/chat/send`, {
        method: "POST",
        headers: { authorization: `bearer ${token}`, "content-type": "application/json" },
        body,
      });
    const unauthorized = await post(JSON.stringify({ body: "hi" }), "nope");
    expect([unauthorized.status, await unauthorized.text()]).toEqual([401, "unauthorized"]);
    const empty = await post(JSON.stringify({ body: "   " }));
    expect([empty.status, await empty.json()]).toEqual([400, { error: "invalid message" }]);
    expect((await post("{broken")).status).toBe(500);
    const ok = await post(JSON.stringify({ body: "hi" }));
    expect([ok.status, await ok.json()]).toEqual([200, { success: true, message: "sent" }]);
    expect((await fetch(`${owncast.url}/api/integrations/chat`)).status).toBe(401);
  });
});
