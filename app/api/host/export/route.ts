import { strToU8, zipSync } from "fflate";
import { z } from "zod";
import { appContext } from "@/server/context";
import { AppError } from "@/server/errors";
import { handle, hostSessionOf } from "@/server/http/edge";
import { tableToCsv, toCsv } from "@/server/show/export-csv";
import { exportShow } from "@/server/show/export-show";
import { renderResultsPage } from "@/server/show/render-results-page";
import { EXPORT_TABLES } from "@/server/show/show-export-schema";

export const dynamic = "force-dynamic";

const querySchema = z.object({
  format: z.enum(["json", "csv", "html"]).default("json"),
  table: z.enum(EXPORT_TABLES).optional(),
});

function download(body: string | Uint8Array, type: string, filename: string): Response {
  return new Response(body as BodyInit, {
    headers: { "content-type": type, "content-disposition": `attachment; filename="${filename}"`, "cache-control": "no-store" },
  });
}

/**
 * After the show: `?format=json` (everything, for the organisers), `?format=csv&table=<name>` (one
 * table) or `?format=csv` (every table, zipped), `?format=html` (the results page to publish).
 */
export function GET(req: Request) {
  return handle(async () => {
    if (!hostSessionOf(req)) throw new AppError("unauthorized", "Sign in on /host with the host password first.");
    const query = querySchema.safeParse(Object.fromEntries(new URL(req.url).searchParams));
    if (!query.success) throw new AppError("bad_request", `Use ?format=json, ?format=html or ?format=csv with an optional &table= of ${EXPORT_TABLES.join(", ")}.`);
    const { db, config } = appContext();
    const data = await exportShow(db, { repo: config.nixpkgsRepo });
    const stamp = data.exportedAt.slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    const { format, table } = query.data;
    if (format === "html") return download(renderResultsPage(data), "text/html; charset=utf-8", `results-${stamp}.html`);
    if (format === "csv" && table) return download(tableToCsv(data, table), "text/csv; charset=utf-8", `show-${stamp}-${table}.csv`);
    if (format === "csv") {
      const files = Object.fromEntries(Object.entries(toCsv(data)).map(([name, csv]) => [`${name}.csv`, strToU8(csv)]));
      return download(zipSync(files), "application/zip", `show-${stamp}-csv.zip`);
    }
    return download(JSON.stringify(data, null, 2), "application/json; charset=utf-8", `show-${stamp}.json`);
  });
}
