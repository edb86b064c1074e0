import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";
import { countQueue } from "@/server/intake/intake.repo";

export const dynamic = "force-dynamic";

export function GET() {
  return handle(async () => {
    const { db, config, github } = appContext();
    await countQueue(db);
    const { rss, heapUsed } = process.memoryUsage();
    return json({ ok: true, database: config.databaseProvider, githubAuthenticated: github.authenticated, memory: { rss, heapUsed } });
  });
}
