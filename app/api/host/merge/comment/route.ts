import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { mergeService } from "@/server/merge/merge-context";
import { ResultCommentRequest } from "@/server/merge/requests";

export const dynamic = "force-dynamic";

/** Posts the stage's nixpkgs-review result on the PR, or edits the one posted before. */
export function POST(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    const body = await readJson(req, ResultCommentRequest);
    return json({ comment: await mergeService().postResultComment(session.id, body) });
  });
}
