import { randomInt } from "node:crypto";
import type { Db } from "../db/client";
import type { ShowStatus } from "./views";
import { readSettings, writeSetting } from "./settings.repo";

/**
 * Show-wide switches the host controls. Kept in the database (a restart keeps them) and cached in
 * memory, since every submission reads them.
 */
export interface ShowSettings {
  roomCode: string;
  submissionsLocked: boolean;
  joinsLocked: boolean;
  approveBeforeShown: boolean;
  requireRoomCodeForRemote: boolean;
  muted: boolean;
  podium: boolean;
  roundEndsAt: string | null;
  /** NIX_SYSTEMS, from the config (not stored). */
  systems: string[];
}

// No 0/O, 1/I/L, B/8, S/5, Z/2: a code read aloud or from the back row is not misread.
export const ROOM_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY";
export const ROOM_CODE_LENGTH = 4;

export function generateRoomCode(): string {
  return Array.from({ length: ROOM_CODE_LENGTH }, () => ROOM_CODE_ALPHABET[randomInt(ROOM_CODE_ALPHABET.length)]).join("");
}

export function normaliseRoomCode(input: string): string {
  return input.trim().toUpperCase().replace(/[^A-Z]/g, "");
}

const BOOLEAN_KEYS = ["submissionsLocked", "joinsLocked", "approveBeforeShown", "requireRoomCodeForRemote", "muted", "podium"] as const;
export type ShowSwitch = (typeof BOOLEAN_KEYS)[number];

export class ShowSettingsStore {
  private cache: ShowSettings | null = null;

  constructor(
    private readonly db: Db,
    private readonly systems: string[] = [],
  ) {}

  async get(): Promise<ShowSettings> {
    if (this.cache) return this.cache;
    const raw = await readSettings(this.db);
    let roomCode = raw.roomCode;
    if (!roomCode) {
      roomCode = generateRoomCode();
      await writeSetting(this.db, "roomCode", roomCode);
    }
    this.cache = {
      roomCode,
      submissionsLocked: raw.submissionsLocked === "true",
      joinsLocked: raw.joinsLocked === "true",
      approveBeforeShown: raw.approveBeforeShown === "true",
      requireRoomCodeForRemote: raw.requireRoomCodeForRemote === "true",
      muted: raw.muted === "true",
      podium: raw.podium === "true",
      roundEndsAt: raw.roundEndsAt || null,
      systems: this.systems,
    };
    return this.cache;
  }

  async setSwitch(key: ShowSwitch, value: boolean): Promise<ShowSettings> {
    await writeSetting(this.db, key, String(value));
    this.cache = { ...(await this.get()), [key]: value };
    return this.cache;
  }

  /** Starts (or with null, stops) the round timer; screens get the end time, never ticks. */
  async setRoundEndsAt(endsAt: Date | null): Promise<ShowSettings> {
    const value = endsAt ? endsAt.toISOString() : "";
    await writeSetting(this.db, "roundEndsAt", value);
    this.cache = { ...(await this.get()), roundEndsAt: value || null };
    return this.cache;
  }

  async newRoomCode(): Promise<ShowSettings> {
    const roomCode = generateRoomCode();
    await writeSetting(this.db, "roomCode", roomCode);
    this.cache = { ...(await this.get()), roomCode };
    return this.cache;
  }
}

export const SHOW_SWITCHES = BOOLEAN_KEYS;

/** What every screen may know about the show's switches (not the room code: that is the stage's). */
export function publicStatus(s: ShowSettings, githubAuthenticated: boolean): ShowStatus {
  return {
    systems: s.systems,
    roundEndsAt: s.roundEndsAt,
    muted: s.muted,
    podium: s.podium,
    submissionsLocked: s.submissionsLocked,
    joinsLocked: s.joinsLocked,
    approveBeforeShown: s.approveBeforeShown,
    requireRoomCodeForRemote: s.requireRoomCodeForRemote,
    githubAuthenticated,
  };
}
