import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Server as Engine } from "engine.io";
import { Server, type ServerOptions, type Socket } from "socket.io";
import { z } from "zod";
import type { LogStore } from "../builds/log-store";
import type { MergeView } from "../merge/views";
import type { ShowEvents } from "../show/show-events";
import type { BuildView, LeaderView, LogLine, QueueItemView, ShowSnapshot, ShowStatus } from "../show/views";
import {
  AUDIENCE_STATUS_MS,
  LOG_BATCH_MS,
  LOG_ROOM,
  MAX_BACKFILL_LINES,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketRole,
} from "./socket-events";

export const SOCKET_PATH = "/socket.io/";
export const HOST_ROOM = "host";
export const AUDIENCE_ROOM = "audience";

const subscribeSchema = z.object({ buildId: z.number().int().positive(), fromSeq: z.number().int().min(1) });
const unsubscribeSchema = z.object({ buildId: z.number().int().positive() });
const handshakeSchema = z.object({
  role: z.enum(["phone", "screen", "host"]).default("screen"),
  deviceToken: z.string().max(64).optional(),
});

type ShowSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { role: SocketRole; host: boolean }>;

export interface Realtime {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

/** Entries the audience does not see: waiting for the host's approval, or turned down. */
function publicQueue(queue: QueueItemView[]): QueueItemView[] {
  return queue.filter((q) => q.state !== "pending" && q.state !== "rejected");
}

/**
 * Realtime is an output: it subscribes to the show's domain events and broadcasts them by role.
 * - Screens (projector, PR pages) get build status as it comes and may join log rooms, where lines
 *   are batched every LOG_BATCH_MS into one sequence-numbered chunk per build; a client that sees a
 *   gap asks for the missing lines (the log:subscribe ack, or HTTP).
 * - Phones never join log rooms, get no build events (their page shows the queue) and get the
 *   queue, whose states follow the builds, at most every AUDIENCE_STATUS_MS.
 * - Host sockets must carry a valid host session cookie, checked by middleware at the handshake;
 *   only they see entries waiting for approval.
 * Every (re)connection starts with a versioned snapshot.
 */
export function createRealtime(deps: {
  events: ShowEvents;
  logs: LogStore;
  snapshot: (opts: { host: boolean }) => Promise<ShowSnapshot>;
  /** Whether a handshake's Cookie header carries a valid host session. */
  isHost: (cookieHeader: string | undefined) => boolean;
  /** A cluster adapter (Redis Streams) when several processes serve the show. */
  adapter?: ServerOptions["adapter"];
}): Realtime {
  // Clients only send small requests; a large buffer would only help an attacker.
  const engine = new Engine({ maxHttpBufferSize: 16 * 1024, pingInterval: 10_000, pingTimeout: 8_000 });
  const io = new Server<ClientToServerEvents, ServerToClientEvents>({
    serveClient: false,
    // With Redis Streams, a socket that comes back within two minutes gets the events it missed
    // from the stream itself. The in-memory adapter would keep every broadcast packet in this
    // process's memory for that long, so a single process relies on snapshots and seq backfill.
    ...(deps.adapter
      ? { adapter: deps.adapter, connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false } }
      : {}),
  });
  io.bind(engine);

  io.use((socket, next) => {
    const parsed = handshakeSchema.safeParse(socket.handshake.auth ?? {});
    if (!parsed.success) return next(new Error("Bad handshake: reload the page."));
    const host = deps.isHost(socket.handshake.headers.cookie);
    if (parsed.data.role === "host" && !host) return next(new Error("Sign in on /host first."));
    socket.data = { role: parsed.data.role, host };
    next();
  });

  const sendSnapshot = (socket: ShowSocket) => void deps.snapshot({ host: socket.data.host }).then((s) => socket.emit("snapshot", s));

  io.on("connection", (raw) => {
    const socket = raw as ShowSocket;
    if (socket.data.host) void socket.join(HOST_ROOM);
    if (socket.data.role === "phone") void socket.join(AUDIENCE_ROOM);
    sendSnapshot(socket);
    socket.on("log:subscribe", (req, ack) => {
      if (typeof ack !== "function") return;
      if (socket.data.role === "phone") return ack({ error: "Logs are on the projector and /pr pages, not on phones." });
      const parsed = subscribeSchema.safeParse(req);
      if (!parsed.success) return ack({ error: "log:subscribe needs { buildId, fromSeq } as positive integers" });
      void socket.join(LOG_ROOM(parsed.data.buildId));
      ack({ lines: deps.logs.read(parsed.data.buildId, parsed.data.fromSeq, MAX_BACKFILL_LINES) });
    });
    socket.on("log:unsubscribe", (req) => {
      const parsed = unsubscribeSchema.safeParse(req);
      if (parsed.success) void socket.leave(LOG_ROOM(parsed.data.buildId));
    });
  });

  const pendingLines = new Map<number, LogLine[]>();
  let logTimer: NodeJS.Timeout | null = null;
  const flushLogs = () => {
    logTimer = null;
    for (const [buildId, lines] of pendingLines) {
      io.to(LOG_ROOM(buildId)).emit("log", { buildId, fromSeq: lines[0]!.seq, lines });
    }
    pendingLines.clear();
  };
  const onLog = ({ buildId, line }: { buildId: number; line: LogLine }) => {
    const list = pendingLines.get(buildId);
    if (list) list.push(line);
    else pendingLines.set(buildId, [line]);
    logTimer ??= setTimeout(flushLogs, LOG_BATCH_MS);
  };

  // Phones show the queue, not the builds: they get the queue's state (which follows the builds)
  // coalesced to at most one update per AUDIENCE_STATUS_MS, and no build events at all.
  let pendingQueue: QueueItemView[] | null = null;
  let queueTimer: NodeJS.Timeout | null = null;
  const flushQueue = () => {
    queueTimer = null;
    if (pendingQueue) io.to(AUDIENCE_ROOM).except(HOST_ROOM).emit("queue", publicQueue(pendingQueue));
    pendingQueue = null;
  };
  const onBuild = (build: BuildView) => io.except(AUDIENCE_ROOM).emit("build", build);
  const onQueue = (queue: QueueItemView[]) => {
    io.to(HOST_ROOM).emit("queue", queue);
    io.except([HOST_ROOM, AUDIENCE_ROOM]).emit("queue", publicQueue(queue));
    pendingQueue = queue;
    queueTimer ??= setTimeout(flushQueue, AUDIENCE_STATUS_MS);
  };
  const onSettings = (status: ShowStatus) => io.emit("show", status);
  const onScores = (top: LeaderView[]) => io.emit("leaderboard", top);
  const onMerge = (view: MergeView) => io.emit("merge", view);
  const onReset = () => {
    void io.fetchSockets().then((sockets) => {
      for (const s of sockets) void deps.snapshot({ host: Boolean(s.data?.host) }).then((snap) => s.emit("snapshot", snap));
    });
  };
  const unsubscribe = deps.events.subscribe({
    "build-log": onLog,
    "queue-changed": onQueue,
    "build-updated": onBuild,
    "settings-changed": onSettings,
    "scores-changed": onScores,
    "show-reset": onReset,
    "merge-updated": onMerge,
  });

  return {
    io,
    handleRequest: (req, res) => engine.handleRequest(req, res),
    handleUpgrade: (req, socket, head) => engine.handleUpgrade(req, socket, head),
    close: async () => {
      unsubscribe();
      if (logTimer) clearTimeout(logTimer);
      if (queueTimer) clearTimeout(queueTimer);
      flushLogs();
      await io.close();
      engine.close();
    },
  };
}
