import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { setRoundTimer } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

export function POST(req: Request) {
  return handle(async () => {
    requireHost(req);
    const { minutes } = await readJson(req, z.object({ minutes: z.number().min(0.25).max(180).nullable() }));
    const ctx = appContext();
    const s = await setRoundTimer({ ...ctx.intake, githubAuthenticated: ctx.github.authenticated }, minutes);
    return json({ roundEndsAt: s.roundEndsAt });
  });
}
