import { z } from "zod";
import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";

export const dynamic = "force-dynamic";

const querySchema = z.object({ format: z.enum(["json", "md"]).default("json") });

/** A finished build's nixpkgs-review report: report.json (default) or report.md (`?format=md`). */
export function GET(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return handle(async () => {
    const id = z.coerce.number().int().positive().safeParse((await ctx.params).id);
    if (!id.success) throw new AppError("bad_request", "The build id must be a positive number.");
    const query = querySchema.safeParse(Object.fromEntries(new URL(req.url).searchParams));
    if (!query.success) throw new AppError("bad_request", "Use ?format=json or ?format=md.");
    const report = await appContext().builds.getReport(id.data);
    if (query.data.format === "md") {
      return new Response(report.markdown, {
        headers: { "content-type": "text/markdown; charset=utf-8", "cache-control": "no-store" },
      });
    }
    return json(report.json);
  });
}
