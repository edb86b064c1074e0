import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson, requireHost } from "@/server/http/edge";

export const dynamic = "force-dynamic";

const bodySchema = z.object({
  pr: z.number().int().positive(),
  mode: z.enum(["merge", "head"]).optional(),
  attrs: z.array(z.string().max(200)).max(100).optional(),
  tests: z.boolean().optional(),
  systems: z.array(z.string().max(64)).max(16).optional(),
});

export function POST(req: Request) {
  return handle(async () => {
    requireHost(req);
    const body = await readJson(req, bodySchema);
    const builds = await appContext().builds.startBuild(body.pr, { mode: body.mode, attrs: body.attrs ?? null, passthruTests: body.tests, systems: body.systems ?? null });
    return json({ builds }, { status: 202 });
  });
}
