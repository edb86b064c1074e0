import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson } from "@/server/http/edge";
import { deviceTokenSchema } from "@/server/http/params";
import { predict } from "@/server/show/game";

export const dynamic = "force-dynamic";

const bodySchema = z.object({ deviceToken: deviceTokenSchema, prNumber: z.number().int().positive(), guess: z.enum(["builds", "fails"]) });

/** "It builds" or "Hydra failure", until the PR's build starts. */
export function POST(req: Request) {
  return handle(async () => {
    const { db, events } = appContext();
    await predict({ db, events }, await readJson(req, bodySchema));
    return json({ ok: true });
  });
}
