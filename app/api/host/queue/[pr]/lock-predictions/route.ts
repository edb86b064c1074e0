import { appContext } from "@/server/context";
import { handle, json, requireHost } from "@/server/http/edge";
import { prParam } from "@/server/http/params";
import { lockPredictions } from "@/server/show/game";

export const dynamic = "force-dynamic";

export function POST(req: Request, ctx: { params: Promise<{ pr: string }> }) {
  return handle(async () => {
    requireHost(req);
    const { db, events } = appContext();
    await lockPredictions({ db, events }, await prParam(ctx.params));
    return json({ ok: true });
  });
}
