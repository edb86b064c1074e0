import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { mergeService } from "@/server/merge/merge-context";
import { MergeRequest } from "@/server/merge/requests";

export const dynamic = "force-dynamic";

/** The merge panel: signed-in maintainers, sign-ins in progress, merges under way, the audit. */
export function GET(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    return json(await mergeService().panel(session.id));
  });
}

/** Approve and merge: re-checks everything against GitHub, then enqueues the built head SHA. */
export function POST(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    const body = await readJson(req, MergeRequest);
    return json({ merge: await mergeService().merge(session.id, body) }, { status: 202 });
  });
}
