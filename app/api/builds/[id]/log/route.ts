import { z } from "zod";
import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";

export const dynamic = "force-dynamic";

const querySchema = z.object({
  from: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(20_000).default(5_000),
  format: z.enum(["json", "raw"]).default("json"),
});

/** Log lines by range (`?from=1&limit=5000`), or the whole raw log (`?format=raw`) for download. */
export function GET(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return handle(async () => {
    const id = z.coerce.number().int().positive().safeParse((await ctx.params).id);
    if (!id.success) throw new AppError("bad_request", "The build id must be a positive number.");
    const query = querySchema.safeParse(Object.fromEntries(new URL(req.url).searchParams));
    if (!query.success) throw new AppError("bad_request", "Use ?from=<line>&limit=<count> (limit at most 20000).");
    const { logs, builds } = appContext();
    if (!(await builds.getBuild(id.data))) throw new AppError("not_found", `There is no build ${id.data}.`);
    if (query.data.format === "raw") {
      return new Response(logs.text(id.data), {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "content-disposition": `attachment; filename="build-${id.data}.log"`,
        },
      });
    }
    const lines = logs.read(id.data, query.data.from, query.data.limit);
    return json({ buildId: id.data, total: logs.count(id.data), lines });
  });
}
