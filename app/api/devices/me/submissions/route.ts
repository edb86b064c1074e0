import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";
import { deviceTokenSchema } from "@/server/http/params";
import { deviceSubmissions } from "@/server/intake/intake.repo";

export const dynamic = "force-dynamic";

/** What this phone sent and what became of it, including the host's reasons for refusals. */
export function GET(req: Request) {
  return handle(async () => {
    const token = deviceTokenSchema.safeParse(req.headers.get("x-device-token"));
    if (!token.success) throw new AppError("bad_request", "Send the device token in the x-device-token header.");
    return json({ submissions: await deviceSubmissions(appContext().db, token.data) });
  });
}
