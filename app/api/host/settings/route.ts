import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { setShowSwitch } from "@/server/intake/moderation";
import { SHOW_SWITCHES } from "@/server/show/show-settings";

export const dynamic = "force-dynamic";

/** The host's switches: lock submissions or joins, approve before shown, require the room code remotely. */
export function POST(req: Request) {
  return handle(async () => {
    requireHost(req);
    const body = await readJson(req, z.object({ key: z.enum(SHOW_SWITCHES), value: z.boolean() }));
    const ctx = appContext();
    const s = await setShowSwitch({ ...ctx.intake, githubAuthenticated: ctx.github.authenticated }, body.key, body.value);
    return json(s);
  });
}
