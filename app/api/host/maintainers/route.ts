import { z } from "zod";
import { handle, json, readJson, requireHost } from "@/server/http/edge";
import { mergeService } from "@/server/merge/merge-context";
import { GitHubLogin } from "@/server/merge/requests";

export const dynamic = "force-dynamic";

/** Who is signed in as a maintainer on this host console (logins and permissions, never tokens). */
export function GET(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    const { maintainers, deviceLogins, deviceFlowEnabled, deviceFlowNote } = await mergeService().panel(session.id);
    return json({ maintainers, deviceLogins, deviceFlowEnabled, deviceFlowNote });
  });
}

/** Signs a maintainer out of this host console; their token is forgotten. */
export function DELETE(req: Request) {
  return handle(async () => {
    const session = requireHost(req);
    const { login } = await readJson(req, z.object({ login: GitHubLogin }));
    mergeService().signOut(session.id, login);
    return json({ signedOut: login });
  });
}
