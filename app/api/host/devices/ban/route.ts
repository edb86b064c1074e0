import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { deviceTokenSchema } from "@/server/http/params";
import { banFromShow } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

export function POST(req: Request) {
  return handle(async () => {
    requireHost(req);
    const body = await readJson(req, z.object({ deviceToken: deviceTokenSchema.or(z.string().regex(/^owncast:[\w-]{1,64}$/)), reason: z.string().max(300) }));
    await banFromShow(appContext().intake, body.deviceToken, body.reason);
    return json({ ok: true });
  });
}
