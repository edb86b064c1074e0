import { z } from "zod";
import { AppError } from "@/server/errors";
import { appContext } from "@/server/context";
import { handle, hostSessionOf, json, readJson } from "@/server/http/edge";
import { HOST_COOKIE, checkPassword, createSessionCookie, csrfTokenFor } from "@/server/show/host-auth";

export const dynamic = "force-dynamic";

function cookie(value: string, maxAge: number): string {
  return `${HOST_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
}

/** Whether this browser is signed in as host, and the CSRF token its actions must send. */
export function GET(req: Request) {
  return handle(async () => {
    const session = hostSessionOf(req);
    if (!session) return json({ signedIn: false });
    return json({ signedIn: true, csrfToken: csrfTokenFor(appContext().config.sessionSecret, session) });
  });
}

export function POST(req: Request) {
  return handle(async () => {
    const { password } = await readJson(req, z.object({ password: z.string().max(200) }));
    const { config } = appContext();
    if (!checkPassword(password, config.hostPassword)) {
      throw new AppError("unauthorized", "Wrong host password. It was printed when the show started (or is HOST_PASSWORD).");
    }
    const { value, session, maxAge } = createSessionCookie(config.sessionSecret);
    return json(
      { signedIn: true, csrfToken: csrfTokenFor(config.sessionSecret, session) },
      { headers: { "set-cookie": cookie(value, maxAge) } },
    );
  });
}

export function DELETE() {
  return handle(async () => json({ signedIn: false }, { headers: { "set-cookie": cookie("", 0) } }));
}
