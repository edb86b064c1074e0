import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson } from "@/server/http/edge";
import { deviceTokenSchema } from "@/server/http/params";
import { upvote } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

const bodySchema = z.object({ deviceToken: deviceTokenSchema, prNumber: z.number().int().positive() });

export function POST(req: Request) {
  return handle(async () => {
    await upvote(appContext().intake, await readJson(req, bodySchema));
    return json({ ok: true });
  });
}
