import { AppError } from "@/server/errors";
import { handle, json, requireHost } from "@/server/http/edge";
import { mergeService } from "@/server/merge/merge-context";
import { DeviceLoginId } from "@/server/merge/requests";

export const dynamic = "force-dynamic";

/** Asks GitHub once (at most every interval it set) whether the code was entered. */
export function POST(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return handle(async () => {
    const session = requireHost(req);
    const id = DeviceLoginId.safeParse((await ctx.params).id);
    if (!id.success) throw new AppError("bad_request", "That is not a sign-in id; start the sign-in again.");
    return json({ login: await mergeService().pollDeviceLogin(session.id, id.data) });
  });
}
