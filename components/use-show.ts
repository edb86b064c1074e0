"use client";

import { useEffect, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { MAX_BACKFILL_LINES, type ClientToServerEvents, type ServerToClientEvents, type SocketRole } from "@/server/realtime/socket-events";
import type { BuildView, LogChunk, LogLine, ShowSnapshot } from "@/server/show/views";

export type ShowSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let shared: ShowSocket | null = null;

/** The random token a phone keeps instead of an account; sent with every request and socket. */
export function deviceToken(): string {
  let token = localStorage.getItem("mafhf.device");
  if (!token) {
    token = crypto.randomUUID();
    localStorage.setItem("mafhf.device", token);
  }
  return token;
}

/** The page decides the socket's role: phones get less, the host console more. */
function roleOfPage(): SocketRole {
  const path = window.location.pathname;
  if (path === "/" || path.startsWith("/j/")) return "phone";
  if (path.startsWith("/host")) return "host";
  return "screen";
}

/** One socket per page; it reconnects by itself and receives a fresh snapshot every time. */
export function showSocket(): ShowSocket {
  shared ??= io({
    path: "/socket.io/",
    transports: ["websocket", "polling"],
    auth: (cb) => cb({ role: roleOfPage(), deviceToken: deviceToken() }),
  });
  return shared;
}

function upsertBuild(builds: BuildView[], build: BuildView): BuildView[] {
  const index = builds.findIndex((b) => b.id === build.id);
  if (index === -1) return [build, ...builds];
  const next = builds.slice();
  next[index] = build;
  return next;
}

export interface ShowState {
  snapshot: ShowSnapshot | null;
  connected: boolean;
}

/** The live show: a snapshot on every (re)connect, then queue and build events applied to it. */
export function useShow(): ShowState {
  const [snapshot, setSnapshot] = useState<ShowSnapshot | null>(null);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const socket = showSocket();
    const onConnect = () => setConnected(true);
    const onDisconnect = () => setConnected(false);
    const onSnapshot = (s: ShowSnapshot) => setSnapshot(s);
    const onQueue = (queue: ShowSnapshot["queue"]) => setSnapshot((s) => (s ? { ...s, queue } : s));
    const onShow = (show: ShowSnapshot["show"]) => setSnapshot((s) => (s ? { ...s, show } : s));
    const onLeaderboard = (leaderboard: ShowSnapshot["leaderboard"]) => setSnapshot((s) => (s ? { ...s, leaderboard } : s));
    const onBuild = (build: BuildView) => setSnapshot((s) => (s ? { ...s, builds: upsertBuild(s.builds, build) } : s));
    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("snapshot", onSnapshot);
    socket.on("queue", onQueue);
    socket.on("build", onBuild);
    socket.on("show", onShow);
    socket.on("leaderboard", onLeaderboard);
    if (socket.connected) setConnected(true);
    return () => {
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("snapshot", onSnapshot);
      socket.off("queue", onQueue);
      socket.off("build", onBuild);
      socket.off("show", onShow);
      socket.off("leaderboard", onLeaderboard);
    };
  }, []);
  return { snapshot, connected };
}

/** The log route's largest page; a page this full means there may be more. */
const LOG_PAGE = 20_000;

/**
 * Every line of one build's log, in order. Joins the build's log room; the ack backfills from the
 * last line we have, and HTTP pages follow until we are caught up (the ack and each page carry at
 * most 20,000 lines); a chunk that skips lines triggers another backfill.
 *
 * Lines arriving in one animation frame are appended together, so the O(n) copy that gives React
 * a new array happens at most once a frame however many chunks or pages arrive.
 */
export function useBuildLog(buildId: number | null): LogLine[] {
  const [lines, setLines] = useState<LogLine[]>([]);
  useEffect(() => {
    setLines([]);
    if (buildId === null) return;
    const socket = showSocket();
    let closed = false;
    let lastSeq = 0;
    let pending: LogLine[] = [];
    let frame: number | null = null;
    const flush = () => {
      frame = null;
      const add = pending;
      pending = [];
      if (!closed && add.length > 0) setLines((prev) => prev.concat(add));
    };
    /** Takes the lines after lastSeq; false when a pushed chunk skips lines we never saw. */
    const append = (incoming: LogLine[], contiguous: boolean): boolean => {
      for (const line of incoming) {
        if (line.seq <= lastSeq) continue;
        // The store's answers are authoritative (a line it lacks is gone); a pushed chunk with a gap is not.
        if (contiguous && line.seq !== lastSeq + 1) return false;
        pending.push(line);
        lastSeq = line.seq;
      }
      if (pending.length > 0 && frame === null) frame = requestAnimationFrame(flush);
      return true;
    };

    let wanted = false;
    let running = false;
    const backfill = async () => {
      wanted = true;
      if (running) return;
      running = true;
      try {
        while (wanted && !closed) {
          wanted = false;
          for (;;) {
            const res = await fetch(`/api/builds/${buildId}/log?from=${lastSeq + 1}&limit=${LOG_PAGE}`);
            if (!res.ok || closed) return;
            const page = ((await res.json()) as { lines: LogLine[] }).lines;
            if (closed) return;
            append(page, false);
            if (page.length < LOG_PAGE) break;
          }
        }
      } catch {
        // Offline for a moment: the next connect subscribes again from the last line we have.
      } finally {
        running = false;
      }
    };
    const subscribe = () =>
      socket.emit("log:subscribe", { buildId, fromSeq: lastSeq + 1 }, (res) => {
        if (closed || !("lines" in res)) return;
        append(res.lines, false);
        if (res.lines.length >= MAX_BACKFILL_LINES) void backfill();
      });
    const onLog = (chunk: LogChunk) => {
      if (chunk.buildId !== buildId) return;
      // Skipped lines were stored before this chunk was sent, so a backfill started now has them.
      if (!append(chunk.lines, true)) void backfill();
    };
    socket.on("log", onLog);
    socket.on("connect", subscribe);
    if (socket.connected) subscribe();
    return () => {
      closed = true;
      if (frame !== null) cancelAnimationFrame(frame);
      socket.off("log", onLog);
      socket.off("connect", subscribe);
      socket.emit("log:unsubscribe", { buildId });
    };
  }, [buildId]);
  return lines;
}
