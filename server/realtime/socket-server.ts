import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Server as Engine } from "engine.io";
import { Server } from "socket.io";
import { z } from "zod";
import type { LogStore } from "../builds/log-store";
import type { ShowEvents } from "../show/show-events";
import type { LogLine, QueueItemView, ShowSnapshot, ShowStatus } from "../show/views";
import {
  LOG_BATCH_MS,
  LOG_ROOM,
  MAX_BACKFILL_LINES,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from "./socket-events";

export const SOCKET_PATH = "/socket.io/";

const subscribeSchema = z.object({ buildId: z.number().int().positive(), fromSeq: z.number().int().min(1) });
const unsubscribeSchema = z.object({ buildId: z.number().int().positive() });

export interface Realtime {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

/**
 * Realtime is an output: it subscribes to the show's domain events and broadcasts them. Log lines
 * are batched per build every LOG_BATCH_MS into one sequence-numbered chunk per build room; a
 * client that sees a gap asks for the missing lines (the ack of log:subscribe, or HTTP).
 */
export const HOST_ROOM = "host";

/** Entries the audience does not see: waiting for the host's approval, or turned down. */
function publicQueue(queue: QueueItemView[]): QueueItemView[] {
  return queue.filter((q) => q.state !== "pending" && q.state !== "rejected");
}

export function createRealtime(deps: {
  events: ShowEvents;
  logs: LogStore;
  snapshot: (opts: { host: boolean }) => Promise<ShowSnapshot>;
  /** Whether a handshake's Cookie header carries a valid host session. */
  isHost: (cookieHeader: string | undefined) => boolean;
}): Realtime {
  // Clients only send small requests; a large buffer would only help an attacker.
  const engine = new Engine({ maxHttpBufferSize: 16 * 1024, pingInterval: 10_000, pingTimeout: 8_000 });
  const io = new Server<ClientToServerEvents, ServerToClientEvents>({ serveClient: false });
  io.bind(engine);

  io.on("connection", (socket) => {
    const host = deps.isHost(socket.handshake.headers.cookie);
    if (host) void socket.join(HOST_ROOM);
    void deps.snapshot({ host }).then((s) => socket.emit("snapshot", s));
    socket.on("log:subscribe", (req, ack) => {
      const parsed = subscribeSchema.safeParse(req);
      if (typeof ack !== "function") return;
      if (!parsed.success) return ack({ error: "log:subscribe needs { buildId, fromSeq } as positive integers" });
      void socket.join(LOG_ROOM(parsed.data.buildId));
      ack({ lines: deps.logs.read(parsed.data.buildId, parsed.data.fromSeq, MAX_BACKFILL_LINES) });
    });
    socket.on("log:unsubscribe", (req) => {
      const parsed = unsubscribeSchema.safeParse(req);
      if (parsed.success) void socket.leave(LOG_ROOM(parsed.data.buildId));
    });
  });

  const pending = new Map<number, LogLine[]>();
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    for (const [buildId, lines] of pending) {
      io.to(LOG_ROOM(buildId)).emit("log", { buildId, fromSeq: lines[0]!.seq, lines });
    }
    pending.clear();
  };
  const onLog = ({ buildId, line }: { buildId: number; line: LogLine }) => {
    const list = pending.get(buildId);
    if (list) list.push(line);
    else pending.set(buildId, [line]);
    timer ??= setTimeout(flush, LOG_BATCH_MS);
  };
  const onQueue = (queue: QueueItemView[]) => {
    io.to(HOST_ROOM).emit("queue", queue);
    io.except(HOST_ROOM).emit("queue", publicQueue(queue));
  };
  const onSettings = (status: ShowStatus) => io.emit("show", status);
  const onBuild = (build: Parameters<ServerToClientEvents["build"]>[0]) => io.emit("build", build);
  deps.events.on("build-log", onLog);
  deps.events.on("queue-changed", onQueue);
  deps.events.on("build-updated", onBuild);
  deps.events.on("settings-changed", onSettings);

  return {
    io,
    handleRequest: (req, res) => engine.handleRequest(req, res),
    handleUpgrade: (req, socket, head) => engine.handleUpgrade(req, socket, head),
    close: async () => {
      deps.events.off("build-log", onLog);
      deps.events.off("queue-changed", onQueue);
      deps.events.off("build-updated", onBuild);
      deps.events.off("settings-changed", onSettings);
      if (timer) clearTimeout(timer);
      flush();
      await io.close();
      engine.close();
    },
  };
}
