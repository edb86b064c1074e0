import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { AppError } from "../errors";

/**
 * With several web processes, Socket.IO events go through Redis Streams so that a build running
 * in one process reaches projectors connected to another. The Streams adapter keeps sessions, so
 * connection-state recovery works across processes too.
 */
export async function connectRedisAdapter(url: string) {
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: (retries) => Math.min(retries * 200, 3000) } });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new AppError("unavailable", `Could not reach Redis at ${url} (REDIS_URL): ${(error as Error).message}. Start Redis or unset REDIS_URL for a single process.`);
  }
  return {
    adapter: createAdapter(client, { streamName: "mafhf", onlyPlaintext: true }),
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
