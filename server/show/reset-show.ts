import { AppError } from "../errors";
import type { Db } from "../db/client";
import type { ShowEvents } from "./show-events";
import type { ShowSettingsStore } from "./show-settings";
import { deleteShowData } from "./game.repo";

/**
 * Clears the queue, builds, predictions and scores for a new show. Devices, bans, the room code
 * and build logs on disk stay. Refused while anything is building: cancel first.
 */
export async function resetShow(
  deps: { db: Db; events: ShowEvents; settings: ShowSettingsStore; activeBuilds: () => Promise<number> },
  confirmation: string,
): Promise<void> {
  if (confirmation !== "RESET") throw new AppError("bad_request", "Type RESET to confirm: this clears the queue, builds and scores.");
  if ((await deps.activeBuilds()) > 0) throw new AppError("conflict", "Builds are still running; cancel them before resetting the show.");
  await deleteShowData(deps.db);
  await deps.settings.setSwitch("podium", false);
  await deps.settings.setRoundEndsAt(null);
  deps.events.emit("show-reset");
}
