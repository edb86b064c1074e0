import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "@/server/realtime/socket-events";
import type { BuildView, LogLine, ShowSnapshot } from "@/server/show/views";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { setShowSwitch } from "@/server/intake/moderation";
import { createSessionCookie, HOST_COOKIE } from "@/server/show/host-auth";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

let h: ShowHarness;
const clients: Client[] = [];

beforeAll(async () => {
  h = await startHarness({ chattyLines: 1500, chattySeconds: 5 });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await h?.close();
});

async function until(condition: () => boolean, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not reached");
}

function connect(auth: Record<string, unknown>, cookie?: string): Promise<Client> {
  const socket: Client = io(h.show.url, {
    path: "/socket.io/",
    transports: ["websocket"],
    forceNew: true,
    auth,
    extraHeaders: cookie ? { cookie } : undefined,
  });
  clients.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

describe("realtime by role", () => {
  it("refuses a host socket without a host session, and shows pending entries only to the host", async () => {
    await expect(connect({ role: "host" })).rejects.toThrow(/Sign in on \/host/);
    const { value } = createSessionCookie(h.show.context.config.sessionSecret);
    const host = await connect({ role: "host" }, `${HOST_COOKIE}=${encodeURIComponent(value)}`);
    const phone = await connect({ role: "phone" });
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, "approveBeforeShown", true);
    const hostQueue = new Promise<ShowSnapshot["queue"]>((r) => host.once("queue", r));
    const phoneQueue = new Promise<ShowSnapshot["queue"]>((r) => phone.once("queue", r));
    await submitPullRequest(h.show.context.intake, { source: "web", text: "#400007" });
    expect((await hostQueue).map((q) => [q.prNumber, q.state])).toEqual([[400007, "pending"]]);
    expect(await phoneQueue).toEqual([]);
    await setShowSwitch({ ...h.show.context.intake, githubAuthenticated: true }, "approveBeforeShown", false);
  });

  it("gives a projector that drops mid-build every log line, in order, after it reconnects", async () => {
    const projector = await connect({ role: "screen" });
    const lines = new Map<number, LogLine>();
    let last = 0;
    const take = (incoming: LogLine[]) => {
      for (const l of incoming) lines.set(l.seq, l);
      last = Math.max(last, ...incoming.map((l) => l.seq));
    };
    projector.on("log", (chunk) => take(chunk.lines));

    // chatty: a long log gives the drop something to miss.
    await submitPullRequest(h.show.context.intake, { source: "web", text: "#400004" });
    const [build] = await h.show.context.builds.startBuild(400004);
    const first = await projector.emitWithAck("log:subscribe", { buildId: build!.id, fromSeq: 1 });
    if ("error" in first) throw new Error(first.error);
    take(first.lines);

    // Wait until some lines have arrived, then drop the connection for a while.
    await until(() => lines.size >= 200);
    projector.disconnect();
    const droppedAt = h.show.context.logs.count(build!.id);
    await until(() => h.show.context.logs.count(build!.id) >= droppedAt + 300);
    projector.connect();
    await new Promise<void>((r) => projector.once("connect", () => r()));
    const again = await projector.emitWithAck("log:subscribe", { buildId: build!.id, fromSeq: last + 1 });
    if ("error" in again) throw new Error(again.error);
    take(again.lines);

    await h.show.context.builds.idle();
    await new Promise((r) => setTimeout(r, 500));
    const stored = h.show.context.logs.read(build!.id, 1, 100_000);
    expect([...lines.values()].sort((a, b) => a.seq - b.seq)).toEqual(stored);
  });
  it("keeps phones out of log rooms and away from build events; their queue follows the verdict", async () => {
    const phone = await connect({ role: "phone" });
    const screen = await connect({ role: "screen" });
    const refused = await phone.emitWithAck("log:subscribe", { buildId: 1, fromSeq: 1 });
    expect(refused).toEqual({ error: "Logs are on the projector and /pr pages, not on phones." });

    const phoneBuilds: BuildView[] = [];
    const phoneQueues: ShowSnapshot["queue"][] = [];
    const screenUpdates: BuildView[] = [];
    phone.on("build", (b) => phoneBuilds.push(b));
    phone.on("queue", (q) => phoneQueues.push(q));
    screen.on("build", (b) => screenUpdates.push(b));
    await submitPullRequest(h.show.context.intake, { source: "web", text: "#400003" });
    await h.show.context.builds.startBuild(400003);
    await h.show.context.builds.idle();
    await until(() => phoneQueues.at(-1)?.find((q) => q.prNumber === 400003)?.state === "passed");
    expect(screenUpdates.at(-1)?.status).toBe("passed");
    expect(phoneBuilds).toEqual([]);
  });

});
