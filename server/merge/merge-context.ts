import { appContext, type AppContext } from "../context";
import { AppError } from "../errors";
import type { MergeService } from "./merge-service";

/**
 * The merge service as route handlers reach it: on the AppContext the custom server builds. A
 * server that was started without it answers with a message instead of crashing.
 */
export function mergeService(): MergeService {
  const context = appContext() as AppContext & { merge?: MergeService };
  if (!context.merge) throw new AppError("unavailable", "Approve-and-merge is not switched on in this server (no merge service on its context).");
  return context.merge;
}
