import { AppError } from "../errors";
import { addVote, banDevice, findDevice, findQueueEntry, setQueueState, submissionsOf } from "./intake.repo";
import { emitQueue, type IntakeDeps } from "./submit-pull-request";
import { publicStatus, type ShowSettings, type ShowSwitch } from "../show/show-settings";

type Deps = Pick<IntakeDeps, "db" | "events" | "settings">;

/** One upvote per device; the submitter's own submission already counts as one. */
export async function upvote(deps: Deps, input: { deviceToken: string; prNumber: number }): Promise<void> {
  const device = await findDevice(deps.db, input.deviceToken);
  if (device?.banned) throw new AppError("forbidden", "The host removed this device from the show.");
  const entry = await findQueueEntry(deps.db, input.prNumber);
  if (!entry || entry.state === "pending" || entry.state === "rejected") {
    throw new AppError("not_found", `PR #${input.prNumber} is not in the queue.`);
  }
  await addVote(deps.db, input.prNumber, input.deviceToken);
  await emitQueue(deps);
}

export async function approveEntry(deps: Deps, prNumber: number): Promise<void> {
  const entry = await findQueueEntry(deps.db, prNumber);
  if (!entry) throw new AppError("not_found", `PR #${prNumber} is not in the queue.`);
  if (entry.state !== "pending" && entry.state !== "rejected") return;
  await setQueueState(deps.db, prNumber, "queued", { rejectReason: null });
  await emitQueue(deps);
}

export async function rejectEntry(deps: Deps, prNumber: number, reason: string): Promise<void> {
  const entry = await findQueueEntry(deps.db, prNumber);
  if (!entry) throw new AppError("not_found", `PR #${prNumber} is not in the queue.`);
  if (entry.state === "building") throw new AppError("conflict", `PR #${prNumber} is building; cancel the build first.`);
  await setQueueState(deps.db, prNumber, "rejected", { rejectReason: reason.trim() || "Turned down by the host." });
  await emitQueue(deps);
}

export async function banFromShow(deps: Deps, deviceToken: string, reason: string): Promise<void> {
  await banDevice(deps.db, deviceToken, reason.trim() || "removed by the host");
}

type SettingsDeps = Deps & { githubAuthenticated: boolean };

export function emitSettings(deps: SettingsDeps, s: ShowSettings): ShowSettings {
  deps.events.emit("settings-changed", publicStatus(s, deps.githubAuthenticated));
  return s;
}

/** Starts a round timer of `minutes` (or stops it with null); screens get the end time once. */
export async function setRoundTimer(deps: SettingsDeps, minutes: number | null, now = Date.now()): Promise<ShowSettings> {
  return emitSettings(deps, await deps.settings.setRoundEndsAt(minutes === null ? null : new Date(now + minutes * 60_000)));
}

export async function setShowSwitch(deps: SettingsDeps, key: ShowSwitch, value: boolean): Promise<ShowSettings> {
  return emitSettings(deps, await deps.settings.setSwitch(key, value));
}

/** A new room code, when the old one leaked; phones that already joined stay joined. */
export async function changeRoomCode(deps: SettingsDeps): Promise<ShowSettings> {
  return emitSettings(deps, await deps.settings.newRoomCode());
}

/** Who sent a PR, for the host's moderation (device tokens never go to the audience). */
export async function submissionsForHost(deps: Pick<Deps, "db">, prNumber: number) {
  return submissionsOf(deps.db, prNumber);
}
