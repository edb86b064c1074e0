import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { prParam } from "@/server/http/params";
import { rejectEntry } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

export function POST(req: Request, ctx: { params: Promise<{ pr: string }> }) {
  return handle(async () => {
    requireHost(req);
    const { reason } = await readJson(req, z.object({ reason: z.string().max(300) }));
    await rejectEntry(appContext().intake, await prParam(ctx.params), reason);
    return json({ ok: true });
  });
}
