import { z } from "zod";
import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";
import { findQueueEntry } from "@/server/intake/intake.repo";

export const dynamic = "force-dynamic";

export function GET(_req: Request, ctx: { params: Promise<{ number: string }> }) {
  return handle(async () => {
    const n = z.coerce.number().int().positive().max(10_000_000).safeParse((await ctx.params).number);
    if (!n.success) throw new AppError("bad_request", "A PR number is a positive whole number, like 427048.");
    const { db, builds } = appContext();
    const entry = await findQueueEntry(db, n.data);
    if (!entry) throw new AppError("not_found", `PR #${n.data} has not been submitted to this show.`);
    return json({
      prNumber: entry.prNumber,
      title: entry.title,
      author: entry.author,
      state: entry.state,
      builds: await builds.buildsOfPr(n.data),
    });
  });
}
