import { appContext } from "@/server/context";
import { AppError } from "@/server/errors";
import { handle, hostSessionOf, json } from "@/server/http/edge";

export const dynamic = "force-dynamic";

/** Runs every show-day check now (nix, store, disk, warm clone, builders, GitHub, Owncast, database). */
export function GET(req: Request) {
  return handle(async () => {
    if (!hostSessionOf(req)) throw new AppError("unauthorized", "Sign in on /host with the host password first.");
    return json(await appContext().preflight());
  });
}
