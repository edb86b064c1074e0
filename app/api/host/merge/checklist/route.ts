import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { mergeService } from "@/server/merge/merge-context";
import { ChecklistRequest } from "@/server/merge/requests";

export const dynamic = "force-dynamic";

/** The checklist for one PR and one maintainer, asked of GitHub now. */
export function POST(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    const body = await readJson(req, ChecklistRequest);
    return json({ checklist: await mergeService().checklist(session.id, body) });
  });
}
