import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "@/server/realtime/socket-events";
import type { BuildView, LogChunk, LogLine, ShowSnapshot } from "@/server/show/views";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/** A Socket.IO client connected to the running server receives a real build's log lines in order. */
let h: ShowHarness;
let socket: Socket<ServerToClientEvents, ClientToServerEvents>;

beforeAll(async () => {
  h = await startHarness({ chattyLines: 2000, chattySeconds: 4 });
  socket = io(h.show.url, { path: "/socket.io/", transports: ["websocket"], forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
});

afterAll(async () => {
  socket?.disconnect();
  await h?.close();
});

describe("realtime", () => {
  it("sends a snapshot on connect and every queue change", async () => {
    const snapshot = new Promise<ShowSnapshot>((resolve) => socket.once("snapshot", resolve));
    socket.disconnect().connect();
    expect((await snapshot).queue).toEqual([]);
    const queued = new Promise<ShowSnapshot["queue"]>((resolve) => socket.once("queue", resolve));
    await submitPullRequest(h.show.context.intake, { source: "web", text: "#400004", nickname: "dora" });
    expect((await queued).map((q) => q.prNumber)).toEqual([400004]);
  });

  it("streams every log line of a real nix build, in order, with no gaps", async () => {
    const received: LogLine[] = [];
    const chunks: LogChunk[] = [];
    const builds: BuildView[] = [];
    socket.on("log", (chunk) => {
      chunks.push(chunk);
      received.push(...chunk.lines);
    });
    socket.on("build", (b) => builds.push(b));

    const [build] = await h.show.context.builds.startBuild(400004);
    // Subscribe while nix is still starting; the ack backfills anything already stored.
    const ack = await socket.emitWithAck("log:subscribe", { buildId: build!.id, fromSeq: 1 });
    if ("error" in ack) throw new Error(ack.error);
    received.unshift(...ack.lines);

    await h.show.context.builds.idle();
    await new Promise((r) => setTimeout(r, 500)); // the last batch leaves within LOG_BATCH_MS

    const stored = h.show.context.logs.read(build!.id, 1, 100_000);
    const seen = new Map<number, LogLine>();
    for (const line of received) seen.set(line.seq, line);
    const inOrder = [...seen.values()].sort((a, b) => a.seq - b.seq);
    expect(inOrder).toEqual(stored);
    expect(stored.filter((l) => /^CC src\/module-\d+\.o/.test(l.text)).length).toBe(2000);
    // Live chunks arrive in sequence order, each one a contiguous run.
    for (const c of chunks) expect(c.lines.map((l) => l.seq)).toEqual(c.lines.map((_, i) => c.fromSeq + i));
    expect(chunks.length).toBeGreaterThan(1);
    expect(builds.at(-1)?.status).toBe("passed");
    expect(builds.some((b) => b.status === "running" && b.totals.expected > 0)).toBe(true);
  });
});
