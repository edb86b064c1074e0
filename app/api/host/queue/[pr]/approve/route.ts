import { appContext } from "@/server/context";
import { handle, json, requireHost } from "@/server/http/edge";
import { prParam } from "@/server/http/params";
import { approveEntry } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

export function POST(req: Request, ctx: { params: Promise<{ pr: string }> }) {
  return handle(async () => {
    requireHost(req);
    await approveEntry(appContext().intake, await prParam(ctx.params));
    return json({ ok: true });
  });
}
