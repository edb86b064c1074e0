import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";
import { deviceTokenSchema } from "@/server/http/params";
import { standingOf } from "@/server/show/game";

export const dynamic = "force-dynamic";

/** This phone's rank and points. */
export function GET(req: Request) {
  return handle(async () => {
    const token = deviceTokenSchema.safeParse(req.headers.get("x-device-token"));
    if (!token.success) throw new AppError("bad_request", "Send the device token in the x-device-token header.");
    return json(await standingOf(appContext().db, token.data));
  });
}
