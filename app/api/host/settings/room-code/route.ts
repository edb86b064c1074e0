import { appContext } from "@/server/context";
import { handle, json, requireHost } from "@/server/http/edge";
import { changeRoomCode } from "@/server/intake/moderation";

export const dynamic = "force-dynamic";

export function POST(req: Request) {
  return handle(async () => {
    requireHost(req);
    const ctx = appContext();
    const s = await changeRoomCode({ ...ctx.intake, githubAuthenticated: ctx.github.authenticated });
    return json({ roomCode: s.roomCode });
  });
}
