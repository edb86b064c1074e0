import { randomBytes } from "node:crypto";
import type { StandInUser } from "./types";

/**
 * The people the stand-in knows and the tokens that act as them: personal access tokens given in
 * the options, and OAuth tokens issued by the device flow. A token nobody issued is "Bad
 * credentials" when the stand-in was started with a `token`; without one, any token is accepted
 * as the anonymous-ish `rehearsal-bot` (the stand-in's old behaviour, kept for tests).
 */
export const DEFAULT_BOT_LOGIN = "rehearsal-bot";

export interface TokenOwner {
  user: StandInUser;
  /** Classic scopes as GitHub reports them in `x-oauth-scopes`. */
  scopes: string;
}

const PUSH_PERMISSIONS = new Set(["write", "maintain", "admin"]);

export function canPush(user: StandInUser): boolean {
  return PUSH_PERMISSIONS.has(user.permission ?? "read");
}

export class Accounts {
  private readonly users = new Map<string, StandInUser>();
  private readonly tokens = new Map<string, { login: string; scopes: string }>();

  constructor(private readonly botToken: string | undefined) {
    if (botToken !== undefined) this.setUser({ login: DEFAULT_BOT_LOGIN, permission: "read", token: botToken });
  }

  setUser(user: StandInUser): void {
    const key = user.login.toLowerCase();
    const previous = this.users.get(key);
    if (previous?.token && previous.token !== user.token) this.tokens.delete(previous.token);
    this.users.set(key, user);
    if (user.token) this.tokens.set(user.token, { login: user.login, scopes: "public_repo" });
  }

  user(login: string): StandInUser | undefined {
    return this.users.get(login.toLowerCase());
  }

  /** A device-flow approval for a login nobody set up creates that account with read access. */
  issueToken(login: string, scopes: string): string {
    if (!this.user(login)) this.setUser({ login, permission: "read" });
    const token = `gho_${randomBytes(18).toString("base64url")}`;
    this.tokens.set(token, { login: this.user(login)!.login, scopes });
    return token;
  }

  owner(token: string): TokenOwner | null {
    const known = this.tokens.get(token);
    if (known) return { user: this.user(known.login)!, scopes: known.scopes };
    if (this.botToken === undefined) return { user: { login: DEFAULT_BOT_LOGIN, permission: "read" }, scopes: "public_repo" };
    return null;
  }
}
