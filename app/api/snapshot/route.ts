import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";

export const dynamic = "force-dynamic";

export function GET() {
  return handle(async () => json(await appContext().snapshot()));
}
