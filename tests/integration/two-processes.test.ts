import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "@/server/realtime/socket-events";
import type { BuildView, LogChunk } from "@/server/show/views";
import { PROJECT_ROOT, loadConfig } from "@/server/config";
import { startRehearsalKit, type RehearsalKit } from "@/server/rehearsal/rehearsal-kit";
import { freshDatabase, type TestDatabase } from "../helpers/databases";

/**
 * Two app processes on one PostgreSQL database and one Redis: a log line from a build running in
 * process A reaches a projector connected to process B.
 */
const REDIS_URL = "redis://127.0.0.1:6379";

async function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(6379, "127.0.0.1");
    socket.setTimeout(2000);
    socket.once("connect", () => socket.end(() => resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

interface ShowProcess {
  child: ChildProcess;
  url: string;
  send(command: object): Promise<Record<string, unknown>>;
}

async function startProcess(env: Record<string, string>): Promise<ShowProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/helpers/show-process.ts"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", NODE_ENV: "production", ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(value: Record<string, unknown>) => void> = [];
  lines.on("line", (line) => {
    if (!line.startsWith("{\"")) return; // pino logs are JSON too, but start with {"level"
    const value = JSON.parse(line) as Record<string, unknown>;
    if ("level" in value) return;
    waiting.shift()?.(value);
  });
  const next = () => new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  const first = await Promise.race([
    next(),
    new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`show process exited with ${code}`)))),
  ]);
  return {
    child,
    url: first.url as string,
    send: (command) => {
      const answer = next();
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      return answer;
    },
  };
}

const pgAvailable = inject("pgAdminUrl") !== null;
const redisAvailable = await redisAnswers();
if (process.env.CI && !(pgAvailable && redisAvailable)) {
  throw new Error("CI needs PostgreSQL and Redis for the two-process test; .ci/run starts them.");
}

describe.runIf(pgAvailable && redisAvailable)("two web processes", () => {
  let dir: string;
  let kit: RehearsalKit;
  let database: TestDatabase;
  const processes: ShowProcess[] = [];
  let projector: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-two-"));
    const system = loadConfig({}, {}).nixSystems[0]!;
    kit = await startRehearsalKit({ dir, system, size: 2, chattyLines: 800, chattySeconds: 4 });
    database = await freshDatabase("postgresql");
    const env = {
      ...kit.env,
      NODE_ENV: "production",
      PORT: "0",
      BIND_HOST: "127.0.0.1",
      DATABASE_URL: database.url,
      REDIS_URL,
      VAR_DIR: path.join(dir, "var"),
      HOST_PASSWORD: "two-process-password",
    };
    // A runs builds; B, like every extra web process, only serves screens.
    processes.push(await startProcess(env), await startProcess({ ...env, RUNS_BUILDS: "false" }));
  }, 300_000);

  afterAll(async () => {
    projector?.disconnect();
    for (const p of processes) {
      p.child.stdin!.write(`${JSON.stringify({ stop: true })}\n`);
      await new Promise((r) => p.child.once("exit", r));
    }
    await kit?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers a build's log lines from process A to a projector on process B", async () => {
    const [a, b] = processes as [ShowProcess, ShowProcess];
    projector = io(b.url, { path: "/socket.io/", transports: ["websocket"], auth: { role: "screen" }, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      projector!.once("connect", () => resolve());
      projector!.once("connect_error", reject);
    });
    const chunks: LogChunk[] = [];
    const builds: BuildView[] = [];
    projector.on("log", (c) => chunks.push(c));
    projector.on("build", (v) => builds.push(v));

    expect(await a.send({ submit: 400004 })).toHaveProperty("submitted");
    expect(await b.send({ build: 400004 })).toEqual({ error: expect.stringMatching(/does not run builds \(RUNS_BUILDS=false\)/) });
    const started = (await a.send({ build: 400004 })) as { builds: BuildView[] };
    const buildId = started.builds[0]!.id;
    const ack = await projector.emitWithAck("log:subscribe", { buildId, fromSeq: 1 });
    expect(ack).toHaveProperty("lines");

    for (let i = 0; i < 600 && !builds.some((v) => v.id === buildId && v.status === "passed"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // Live chunks, broadcast by A through Redis, reached B's client.
    const live = chunks.filter((c) => c.buildId === buildId).flatMap((c) => c.lines);
    expect(live.length).toBeGreaterThan(0);
    expect(live.some((l) => /CC src\/module-\d+\.o/.test(l.text))).toBe(true);
    expect(builds.filter((v) => v.id === buildId).map((v) => v.status)).toContain("running");
    expect(builds.find((v) => v.id === buildId && v.status === "passed")).toBeTruthy();
  });
});
