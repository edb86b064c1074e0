import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureNextBuild } from "@/server/ensure-next-build";
import { simulateAudience, type RehearsalReport } from "@/server/rehearsal/simulate-audience";
import type { PreflightReport } from "@/server/preflight/preflight-check";
import { parseShowExport } from "@/server/show/show-export-schema";
import { columnsOf } from "@/server/show/export-csv";
import { HOST_COOKIE, createSessionCookie } from "@/server/show/host-auth";
import { startHarness, type ShowHarness } from "../helpers/show-harness";
import { parseCsv } from "../helpers/csv";

/**
 * A few seconds of simulated audience against the real web app (Next route handlers, Socket.IO),
 * at a much faster pace than a real room; then the host's export and preflight over HTTP.
 */
const WEBHOOK_SECRET = "rehearsal-webhook-secret-0123456789";
let h: ShowHarness;
let report: RehearsalReport;

beforeAll(async () => {
  // The route handlers are served from the production build; make sure it has them.
  ensureNextBuild();
  h = await startHarness({ web: true, env: { OWNCAST_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  report = await simulateAudience({
    url: h.show.url,
    phones: 6,
    durationMs: 4000,
    thinkMs: [50, 250],
    rampUpMs: 300,
    chat: { webhookSecret: WEBHOOK_SECRET, messagesPerMinute: 120 },
    sampleMemory: async () => process.memoryUsage(),
    memorySampleMs: 1000,
    seed: 7,
  });
}, 600_000);

afterAll(async () => {
  await h?.close();
});

function hostCookie(): string {
  const { value } = createSessionCookie(h.show.context.config.sessionSecret);
  return `${HOST_COOKIE}=${encodeURIComponent(value)}`;
}

describe("rehearsal with a simulated audience", () => {
  it("runs phones against the show without errors and stores what they sent", async () => {
    expect(report.errors).toEqual([]);
    expect(report.requests.join).toMatchObject({ sent: 6, ok: 6 });
    expect(report.sockets).toMatchObject({ connected: 6, connectErrors: 0, unexpectedDisconnects: 0 });
    expect(report.sockets.events).toBeGreaterThan(6);
    expect(report.requests.submit.ok).toBeGreaterThan(0);
    expect(report.requests.vote.sent + report.requests.predict.sent).toBeGreaterThan(0);
    expect(report.latencyMs.submit?.count).toBe(report.requests.submit.sent);

    const { db } = h.show.context;
    const stored = await db.submission.count({ where: { source: "web" } });
    expect(stored).toBeGreaterThanOrEqual(report.requests.submit.ok);
    expect(await db.queueEntry.count()).toBeGreaterThan(0);
    expect(await db.device.count()).toBe(6);

    expect(report.memory?.samples).toBeGreaterThanOrEqual(2);
    expect(report.memory!.peak.rss).toBeGreaterThanOrEqual(report.memory!.first.rss);
  });

  it("rehearses chat through the Owncast stand-in, or says why it could not", () => {
    if (report.chat.note) {
      // The show answers the webhook only once chat is wired into its context.
      expect(report.chat.note).toMatch(/^Chat skipped: the show answered 503/);
      expect(report.requests.chat.sent).toBe(0);
    } else {
      expect(report.chat.delivered).toBeGreaterThan(0);
      expect(report.requests.chat.errors).toBe(0);
    }
  });

  it("exports the rehearsed show for the host only: JSON, one CSV table, all tables zipped, the results page", async () => {
    const url = `${h.show.url}/api/host/export`;
    expect((await fetch(`${url}?format=json`)).status).toBe(401);
    const headers = { cookie: hostCookie() };

    const asJson = await fetch(`${url}?format=json`, { headers });
    expect(asJson.status).toBe(200);
    expect(asJson.headers.get("content-disposition")).toMatch(/^attachment; filename="show-\d{8}-\d{4}\.json"$/);
    const exported = parseShowExport(await asJson.text());
    expect(exported.submissions.length).toBe(await h.show.context.db.submission.count());
    expect(exported.players.filter((p) => p.device).length).toBe(6);

    const table = await fetch(`${url}?format=csv&table=submissions`, { headers });
    expect(table.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const [header, ...rows] = parseCsv(await table.text());
    expect(header).toEqual(columnsOf("submissions"));
    expect(rows.length).toBe(exported.submissions.length);

    const zip = new Uint8Array(await (await fetch(`${url}?format=csv`, { headers })).arrayBuffer());
    expect([...zip.slice(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);

    const page = await fetch(`${url}?format=html`, { headers });
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toMatch(/<h1>Maybe A Few Hydra Failures<\/h1>/);

    expect((await fetch(`${url}?format=pdf`, { headers })).status).toBe(400);
  });

  it("runs the preflight for the signed-in host only", async () => {
    const url = `${h.show.url}/api/host/preflight`;
    expect((await fetch(url)).status).toBe(401);
    const headers = { cookie: hostCookie() };
    const res = await fetch(url, { headers });
    expect(res.status).toBe(200);
    const preflight = (await res.json()) as PreflightReport;
    expect(preflight.checks.map((c) => c.id)).toContain("database");
    expect(preflight.checks.find((c) => c.id === "database")?.status).toBe("ok");
    expect(preflight.checks.find((c) => c.id === "github")?.detail).toMatch(/^rehearsal-bot/);
  });
});
