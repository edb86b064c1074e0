import { z } from "zod";
import { appContext } from "@/server/context";
import { clientIp, handle, json, readJson } from "@/server/http/edge";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { deviceTokenSchema } from "@/server/http/params";

export const dynamic = "force-dynamic";

const bodySchema = z.object({
  pr: z.string().max(2000),
  nickname: z.string().max(200).optional(),
  deviceToken: deviceTokenSchema.optional(),
  roomCode: z.string().max(20).optional(),
});

export function POST(req: Request) {
  return handle(async () => {
    const body = await readJson(req, bodySchema);
    const result = await submitPullRequest(appContext().intake, {
      source: "web",
      text: body.pr,
      nickname: body.nickname,
      deviceToken: body.deviceToken,
      roomCode: body.roomCode,
      ip: clientIp(req),
    });
    return json(result, { status: result.status === "queued" ? 201 : 200 });
  });
}
