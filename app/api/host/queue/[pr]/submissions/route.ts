import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, hostSessionOf, json } from "@/server/http/edge";
import { prParam } from "@/server/http/params";
import { submissionsForHost } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

export function GET(req: Request, ctx: { params: Promise<{ pr: string }> }) {
  return handle(async () => {
    if (!hostSessionOf(req)) throw new AppError("unauthorized", "Sign in on /host with the host password first.");
    return json({ submissions: await submissionsForHost(appContext().intake, await prParam(ctx.params)) });
  });
}
