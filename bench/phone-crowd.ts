/**
 * A crowd of audience phones for bench/realtime.ts, in a process of its own so that receiving
 * their traffic does not delay the projectors being measured. Each phone is its own Socket.IO
 * connection with role "phone", like a browser tab on a phone.
 *
 *   node --import tsx bench/phone-crowd.ts --url http://127.0.0.1:PORT [--count 1000] [--per-second 200]
 *
 * Prints {"bench":"phones-ready"} once all are connected, {"bench":"phones"} every 10 s and
 * {"bench":"phones-final"} when it stops (SIGTERM, or stdin closes).
 */
import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "@/server/realtime/socket-events";
import { sleep } from "./bench-support";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    count: { type: "string", default: "1000" },
    "per-second": { type: "string", default: "200" },
  },
});
if (!args.url) throw new Error("--url is required");
const count = Number(args.count);
const perSecond = Number(args["per-second"]);

type Phone = Socket<ServerToClientEvents, ClientToServerEvents>;
const phones: Phone[] = [];
const events: Record<string, number> = {};
let connectErrors = 0;
let disconnects = 0;
let reconnects = 0;
let bytes = 0;
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const emit = (record: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(record)}\n`);
const status = () => ({
  connected: phones.filter((p) => p.connected).length,
  connectErrors,
  disconnects,
  reconnects,
  events: { ...events },
  megabytes: Math.round(bytes / 1e4) / 100,
  loopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 10),
});

function connect(): Promise<void> {
  const phone: Phone = io(args.url!, {
    path: "/socket.io/",
    transports: ["websocket"],
    forceNew: true,
    auth: { role: "phone", deviceToken: randomUUID() },
  });
  phones.push(phone);
  phone.onAny((event: string) => {
    events[event] = (events[event] ?? 0) + 1;
  });
  phone.on("disconnect", () => (disconnects += 1));
  phone.io.on("open", () =>
    phone.io.engine.on("packet", (packet: { data?: unknown }) => {
      if (typeof packet.data === "string") bytes += packet.data.length;
    }),
  );
  phone.io.on("reconnect", () => (reconnects += 1));
  return new Promise((resolve) => {
    phone.once("connect", () => resolve());
    phone.once("connect_error", () => {
      connectErrors += 1;
      resolve();
    });
  });
}

const pending: Array<Promise<void>> = [];
for (let i = 0; i < count; i++) {
  pending.push(connect());
  if ((i + 1) % Math.max(1, Math.round(perSecond / 10)) === 0) await sleep(100);
}
await Promise.all(pending);
emit({ bench: "phones-ready", ...status() });

const timer = setInterval(() => emit({ bench: "phones", at: Date.now(), ...status() }), 10_000);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  const final = status();
  for (const p of phones) p.disconnect();
  emit({ bench: "phones-final", ...final });
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.stdin.on("end", stop).resume();
