import { handle, json, requireHost } from "@/server/http/edge";
import { mergeService } from "@/server/merge/merge-context";

export const dynamic = "force-dynamic";

/** Starts GitHub's device flow: the answer has the code to enter at GitHub's verification page. */
export function POST(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    return json({ login: await mergeService().startDeviceLogin(session.id) }, { status: 201 });
  });
}
