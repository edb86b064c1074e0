import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";

export const dynamic = "force-dynamic";

const MAX_BYTES = 32 * 1024;

/**
 * Owncast's webhook. Owncast ignores the answer and never retries, so the handler only stores the
 * event and answers 202; the PR lookups and the bot's reply happen afterwards.
 */
export function POST(req: Request) {
  return handle(async () => {
    const { chat } = appContext();
    if (Number(req.headers.get("content-length") ?? 0) > MAX_BYTES) {
      return json({ error: { code: "bad_request", message: `The webhook body is larger than ${MAX_BYTES / 1024} KB.` } }, { status: 413 });
    }
    const result = await chat.handleWebhook(await req.text(), req.headers, new URL(req.url));
    return json(result.body, { status: result.status });
  });
}
