import { AppError } from "../errors";
import { cleanNickname } from "./nickname";
import { findDevice, upsertDevice } from "./intake.repo";
import { normaliseRoomCode } from "../show/show-settings";
import type { IntakeDeps } from "./submit-pull-request";

export const DEVICE_TOKEN_RE = /^[A-Za-z0-9_-]{16,64}$/;

export interface DeviceView {
  deviceToken: string;
  nickname: string;
  remote: boolean;
}

/**
 * A phone joins: no account, just the random token it keeps. Arriving through the stage's QR code
 * (`via: "qr"` with the right room code) marks it as in the room; anything else is a remote viewer.
 */
export async function joinShow(
  deps: Pick<IntakeDeps, "db" | "settings">,
  input: { deviceToken: string; nickname?: string | null; roomCode?: string | null; via?: "qr" | "code" | "web" },
): Promise<DeviceView> {
  if (!DEVICE_TOKEN_RE.test(input.deviceToken)) throw new AppError("bad_request", "This device token is not valid; reload the page.");
  const settings = await deps.settings.get();
  const existing = await findDevice(deps.db, input.deviceToken);
  if (existing?.banned) throw new AppError("forbidden", `The host removed this device from the show${existing.bannedReason ? `: ${existing.bannedReason}` : "."}`);
  if (!existing && settings.joinsLocked) throw new AppError("conflict", "The show is not taking new players right now.");
  const code = input.roomCode ? normaliseRoomCode(input.roomCode) : null;
  if (code !== null && code !== settings.roomCode) {
    throw new AppError("bad_request", `“${code}” is not this show's room code; it is on the projector.`);
  }
  const inRoom = input.via === "qr" && code === settings.roomCode;
  const device = await upsertDevice(deps.db, {
    token: input.deviceToken,
    nickname: cleanNickname(input.nickname ?? existing?.nickname),
    remote: existing ? existing.remote && !inRoom : !inRoom,
  });
  return { deviceToken: device.token, nickname: device.nickname, remote: device.remote };
}
