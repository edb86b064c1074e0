import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { HOST_PASSWORD, startHarness, type ShowHarness } from "../helpers/show-harness";

/** Host actions over real HTTP against the production build: no session, forged CSRF, secrets. */
let h: ShowHarness;

beforeAll(async () => {
  h = await startHarness({ web: true });
  await submitPullRequest(h.show.context.intake, { source: "web", text: "#400001" });
}, 300_000);

afterAll(async () => {
  await h?.close();
});

async function signIn(): Promise<{ cookie: string; csrfToken: string; setCookie: string }> {
  const res = await fetch(`${h.show.url}/api/host/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password: HOST_PASSWORD }),
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get("set-cookie")!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie: setCookie.split(";")[0]!, csrfToken, setCookie };
}

const ACTIONS: Array<[string, unknown]> = [
  ["/api/host/builds", { pr: 400001 }],
  ["/api/host/builds/1/cancel", {}],
  ["/api/host/queue/400001/reject", { reason: "spam" }],
  ["/api/host/queue/400001/approve", {}],
  ["/api/host/queue/400001/lock-predictions", {}],
  ["/api/host/devices/ban", { deviceToken: "0123456789abcdef0123", reason: "x" }],
  ["/api/host/settings", { key: "submissionsLocked", value: true }],
  ["/api/host/settings/room-code", {}],
  ["/api/host/timer", { minutes: 5 }],
  ["/api/host/reset", { confirm: "RESET" }],
];

describe("host actions", () => {
  it("refuses a wrong password and sets an httpOnly, SameSite=Strict cookie for the right one", async () => {
    const wrong = await fetch(`${h.show.url}/api/host/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "guess" }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const { setCookie } = await signIn();
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
  });

  it.each(ACTIONS)("%s is refused without a session, and with a missing or forged CSRF token", async (path, body) => {
    const post = (headers: Record<string, string>) =>
      fetch(`${h.show.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const anonymous = await post({});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { message: string } }).error.message).toMatch(/Sign in on \/host/);
    const { cookie, csrfToken } = await signIn();
    expect((await post({ cookie })).status).toBe(403);
    expect((await post({ cookie, "x-csrf-token": csrfToken.slice(0, -2) + "xx" })).status).toBe(403);
    const other = await signIn();
    expect((await post({ cookie, "x-csrf-token": other.csrfToken })).status).toBe(403);
    const forgedCookie = cookie.replace(/.$/, (c) => (c === "a" ? "b" : "a"));
    expect((await post({ cookie: forgedCookie, "x-csrf-token": csrfToken })).status).toBe(401);
  });

  it("nothing changed after all those refused requests", async () => {
    const snapshot = (await (await fetch(`${h.show.url}/api/snapshot`)).json()) as { queue: Array<{ prNumber: number; state: string }>; show: { submissionsLocked: boolean }; builds: unknown[] };
    expect(snapshot.queue).toEqual([expect.objectContaining({ prNumber: 400001, state: "queued" })]);
    expect(snapshot.show.submissionsLocked).toBe(false);
    expect(snapshot.builds).toEqual([]);
  });

  it("accepts the action with the session and its CSRF token", async () => {
    const { cookie, csrfToken } = await signIn();
    const res = await fetch(`${h.show.url}/api/host/timer`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie, "x-csrf-token": csrfToken },
      body: JSON.stringify({ minutes: 5 }),
    });
    expect(res.status).toBe(200);
  });

  it("never sends a secret to the browser", async () => {
    const { config } = h.show.context;
    const secrets = [config.hostPassword, config.sessionSecret, config.githubToken!, config.overlayToken];
    const bodies = await Promise.all(
      ["/", "/stage", "/host", "/pr/400001", "/api/snapshot", "/api/join", "/api/health"].map(async (p) => (await fetch(`${h.show.url}${p}`)).text()),
    );
    for (const body of bodies) for (const secret of secrets) expect(body).not.toContain(secret);
  });

  it("serves the OBS overlay only with its token", async () => {
    const bad = await (await fetch(`${h.show.url}/stage?overlay=1&token=nope`)).text();
    expect(bad).toContain("wrong or missing token");
    const good = await (await fetch(`${h.show.url}/stage?overlay=1&token=${h.show.context.config.overlayToken}`)).text();
    expect(good).not.toContain("wrong or missing token");
    expect(good).toContain("background: transparent");
  });
});
