"use client";

import { useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "@/server/realtime/socket-events";
import type { BuildView, LogLine, ShowSnapshot } from "@/server/show/views";

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

/** One socket per page; it reconnects by itself and receives a fresh snapshot every time. */
export function showSocket(): ShowSocket {
  shared ??= io({ path: "/socket.io/", transports: ["websocket", "polling"], auth: (cb) => cb({ deviceToken: deviceToken() }) });
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
    const onBuild = (build: BuildView) => setSnapshot((s) => (s ? { ...s, builds: upsertBuild(s.builds, build) } : s));
    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("snapshot", onSnapshot);
    socket.on("queue", onQueue);
    socket.on("build", onBuild);
    socket.on("show", onShow);
    if (socket.connected) setConnected(true);
    return () => {
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("snapshot", onSnapshot);
      socket.off("queue", onQueue);
      socket.off("build", onBuild);
      socket.off("show", onShow);
    };
  }, []);
  return { snapshot, connected };
}

/**
 * Every line of one build's log, in order. Joins the build's log room; the ack backfills from the
 * last line we have; a chunk that skips lines triggers another backfill over HTTP.
 */
export function useBuildLog(buildId: number | null): LogLine[] {
  const [lines, setLines] = useState<LogLine[]>([]);
  const lastSeq = useRef(0);
  useEffect(() => {
    if (buildId === null) return;
    lastSeq.current = 0;
    setLines([]);
    const socket = showSocket();
    let backfilling = false;
    const append = (incoming: LogLine[]) => {
      const fresh = incoming.filter((l) => l.seq > lastSeq.current);
      if (fresh.length === 0) return;
      lastSeq.current = fresh[fresh.length - 1]!.seq;
      setLines((prev) => prev.concat(fresh));
    };
    const backfill = async () => {
      if (backfilling) return;
      backfilling = true;
      try {
        const res = await fetch(`/api/builds/${buildId}/log?from=${lastSeq.current + 1}&limit=20000`);
        if (res.ok) append(((await res.json()) as { lines: LogLine[] }).lines);
      } finally {
        backfilling = false;
      }
    };
    const subscribe = () =>
      socket.emit("log:subscribe", { buildId, fromSeq: lastSeq.current + 1 }, (res) => {
        if ("lines" in res) append(res.lines);
      });
    const onLog = (chunk: { buildId: number; fromSeq: number; lines: LogLine[] }) => {
      if (chunk.buildId !== buildId) return;
      if (chunk.fromSeq > lastSeq.current + 1) void backfill().then(() => append(chunk.lines));
      else append(chunk.lines);
    };
    socket.on("log", onLog);
    socket.on("connect", subscribe);
    if (socket.connected) subscribe();
    return () => {
      socket.off("log", onLog);
      socket.off("connect", subscribe);
      socket.emit("log:unsubscribe", { buildId });
    };
  }, [buildId]);
  return lines;
}
