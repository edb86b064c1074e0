import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { resetShow } from "@/server/show/reset-show";
import { FINISHED_BUILD_STATUSES } from "@/server/show/views";

export const dynamic = "force-dynamic";

export function POST(req: Request) {
  return handle(async () => {
    requireHost(req);
    const { confirm } = await readJson(req, z.object({ confirm: z.string().max(20) }));
    const { db, events, settings, builds } = appContext();
    await resetShow(
      {
        db,
        events,
        settings,
        activeBuilds: async () => (await builds.listBuilds(50)).filter((b) => !FINISHED_BUILD_STATUSES.includes(b.status)).length,
      },
      confirm,
    );
    return json({ ok: true });
  });
}
