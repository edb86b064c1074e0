import { z } from "zod";
import { appContext } from "@/server/context";
import { handle, json, readJson } from "@/server/http/edge";
import { deviceTokenSchema } from "@/server/http/params";
import { joinShow } from "@/server/intake/devices";

export const dynamic = "force-dynamic";

const bodySchema = z.object({
  deviceToken: deviceTokenSchema,
  nickname: z.string().max(200).nullish(),
  roomCode: z.string().max(20).nullish(),
  via: z.enum(["qr", "code", "web"]).optional(),
});

/** A phone joins (or rejoins) the show. */
export function POST(req: Request) {
  return handle(async () => json(await joinShow(appContext().intake, await readJson(req, bodySchema))));
}
