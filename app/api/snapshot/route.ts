import { appContext } from "@/server/context";
import { handle, hostSessionOf, json } from "@/server/http/edge";

export const dynamic = "force-dynamic";

export function GET(req: Request) {
  return handle(async () => json(await appContext().snapshot({ host: hostSessionOf(req) !== null })));
}
