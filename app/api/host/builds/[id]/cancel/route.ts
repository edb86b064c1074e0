import { z } from "zod";
import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, json, requireHost } from "@/server/http/edge";

export const dynamic = "force-dynamic";

export function POST(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return handle(async () => {
    requireHost(req);
    const id = z.coerce.number().int().positive().safeParse((await ctx.params).id);
    if (!id.success) throw new AppError("bad_request", "The build id must be a positive number.");
    appContext().builds.cancel(id.data);
    return json({ cancelling: id.data }, { status: 202 });
  });
}
