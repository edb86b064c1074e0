import { randomBytes } from "node:crypto";
import { AppError } from "../errors";
import { createGitHubClient, type GitHubClientLog } from "../github/client";
import { pollAccessToken, requestDeviceCode, type DeviceFlowClientOptions } from "./device-flow";
import { createMergeGitHub, type MergeGitHub } from "./github-merge-api";
import { answerOfError } from "./github-answers";
import type { DeviceLoginView, MaintainerView } from "./views";

/**
 * Who may approve and merge right now, in memory only: tokens never touch the disk or a browser
 * payload, and a restart signs everyone out. A maintainer signs in with GitHub's device flow on a
 * host console and is usable from that host session only; GITHUB_MAINTAINER_TOKEN gives one
 * maintainer every host session can use.
 */
export interface Maintainer {
  login: string;
  name: string | null;
  scopes: string[] | null;
  canPush: boolean | null;
  note: string | null;
  source: MaintainerView["source"];
  /** Null for the environment's maintainer, usable from every host session. */
  hostSessionId: string | null;
  signedInAt: Date;
  api: MergeGitHub;
}

interface DeviceLogin {
  id: string;
  hostSessionId: string;
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresAt: number;
  intervalSeconds: number;
  nextPollAt: number;
  status: DeviceLoginView["status"];
  message: string;
  login: string | null;
  endedAt: number | null;
  polling: Promise<void> | null;
}

export interface MaintainerRegistryOptions {
  apiUrl: string;
  webUrl: string;
  repo: string;
  clientId: string | null;
  envToken: string | null;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  log: GitHubClientLog;
}

/** Finished sign-ins stay visible this long, so the console can show how they ended. */
const KEEP_FINISHED_MS = 10 * 60_000;
const EXPIRED = "The code expired before anyone entered it; start the sign-in again.";

export class MaintainerRegistry {
  private readonly maintainers = new Map<string, Maintainer>();
  private readonly logins = new Map<string, DeviceLogin>();
  private envMaintainer: Promise<void> | null = null;
  private envProblem: string | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: MaintainerRegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  get deviceFlowEnabled(): boolean {
    return this.opts.clientId !== null;
  }

  /** What the panel says about signing in: why it is off, or what went wrong with the environment's token. */
  note(): string | null {
    if (!this.deviceFlowEnabled) {
      return "Maintainer sign-in is off: set GITHUB_OAUTH_CLIENT_ID to the Client ID of a GitHub OAuth app with Device Flow enabled.";
    }
    return this.envProblem;
  }

  private key(hostSessionId: string | null, login: string): string {
    return `${hostSessionId ?? "*"}\n${login.toLowerCase()}`;
  }

  private flowOptions(): DeviceFlowClientOptions {
    if (!this.opts.clientId) throw new AppError("unavailable", this.note()!);
    return { webUrl: this.opts.webUrl, clientId: this.opts.clientId, fetch: this.opts.fetch };
  }

  /** Resolves the environment's token to a login once (and again after a failure). */
  private ensureEnvMaintainer(): Promise<void> {
    const token = this.opts.envToken;
    if (!token) return Promise.resolve();
    this.envMaintainer ??= this.register(token, null, "environment", null)
      .then(() => {
        this.envProblem = null;
      })
      .catch((error: unknown) => {
        this.envMaintainer = null;
        const reason = error instanceof Error ? error.message : String(error);
        this.envProblem = `GITHUB_MAINTAINER_TOKEN could not be used: ${reason}`;
      });
    return this.envMaintainer;
  }

  /** Asks GitHub who the token belongs to and whether they can push, then keeps it. */
  private async register(token: string, scopes: string[] | null, source: Maintainer["source"], hostSessionId: string | null): Promise<Maintainer> {
    const client = createGitHubClient({ apiUrl: this.opts.apiUrl, token, fetch: this.opts.fetch, log: this.opts.log });
    const api = createMergeGitHub(client, this.opts.repo);
    let viewer;
    try {
      viewer = await api.viewer();
    } catch (error) {
      const { status } = answerOfError(error);
      if (status === 401) {
        const what = source === "environment" ? "it is revoked, expired or mistyped" : "start the sign-in again";
        throw new AppError("unauthorized", `GitHub rejected the token (401): ${what}.`);
      }
      throw new AppError("github_failed", `Could not ask GitHub who signed in${status ? ` (HTTP ${status})` : ""}: ${error instanceof Error ? error.message : String(error)}`);
    }
    let canPush: boolean | null = null;
    let note: string | null = null;
    try {
      canPush = await api.canPush();
    } catch (error) {
      note = `GitHub did not say whether @${viewer.login} can push: ${error instanceof Error ? error.message : String(error)}`;
    }
    const maintainer: Maintainer = {
      login: viewer.login,
      name: viewer.name,
      scopes: viewer.scopes ?? scopes,
      canPush,
      note,
      source,
      hostSessionId,
      signedInAt: new Date(this.now()),
      api,
    };
    this.maintainers.set(this.key(hostSessionId, viewer.login), maintainer);
    return maintainer;
  }

  async list(hostSessionId: string): Promise<Maintainer[]> {
    await this.ensureEnvMaintainer();
    return [...this.maintainers.values()]
      .filter((m) => m.hostSessionId === null || m.hostSessionId === hostSessionId)
      .sort((a, b) => a.login.localeCompare(b.login));
  }

  /** The maintainer `login` as this host session may use them; unauthorized when not signed in here. */
  async find(hostSessionId: string, login: string): Promise<Maintainer> {
    await this.ensureEnvMaintainer();
    const found = this.maintainers.get(this.key(hostSessionId, login)) ?? this.maintainers.get(this.key(null, login));
    if (!found) {
      throw new AppError("unauthorized", `@${login} is not signed in on this host console: sign them in with GitHub first.`);
    }
    return found;
  }

  /** Someone who can read GitHub for a PR's progress: `login` if still signed in anywhere, else anyone. */
  async reader(login: string): Promise<Maintainer | null> {
    await this.ensureEnvMaintainer();
    const all = [...this.maintainers.values()];
    return all.find((m) => m.login.toLowerCase() === login.toLowerCase()) ?? all[0] ?? null;
  }

  signOut(hostSessionId: string, login: string): void {
    if (!this.maintainers.delete(this.key(hostSessionId, login))) {
      const env = this.maintainers.get(this.key(null, login));
      if (env) throw new AppError("conflict", `@${login} comes from GITHUB_MAINTAINER_TOKEN; remove it from the environment to sign them out.`);
      throw new AppError("not_found", `@${login} is not signed in on this host console.`);
    }
  }

  /** GitHub stopped accepting the token: nobody may use it any more. */
  forget(maintainer: Maintainer): void {
    this.maintainers.delete(this.key(maintainer.hostSessionId, maintainer.login));
    if (maintainer.source === "environment") {
      this.envProblem = `GitHub rejected GITHUB_MAINTAINER_TOKEN (@${maintainer.login}); replace it and restart.`;
      this.envMaintainer = Promise.resolve();
    }
  }

  async startDeviceLogin(hostSessionId: string): Promise<DeviceLoginView> {
    const options = this.flowOptions();
    this.dropFinished();
    const code = await requestDeviceCode(options);
    const now = this.now();
    const login: DeviceLogin = {
      id: randomBytes(12).toString("base64url"),
      hostSessionId,
      deviceCode: code.deviceCode,
      userCode: code.userCode,
      verificationUri: code.verificationUri,
      expiresAt: now + code.expiresInSeconds * 1000,
      intervalSeconds: code.intervalSeconds,
      nextPollAt: now + code.intervalSeconds * 1000,
      status: "pending",
      message: `Enter ${code.userCode} at ${code.verificationUri}`,
      login: null,
      endedAt: null,
      polling: null,
    };
    this.logins.set(login.id, login);
    return view(login);
  }

  deviceLogins(hostSessionId: string): DeviceLoginView[] {
    this.dropFinished();
    return [...this.logins.values()].filter((l) => l.hostSessionId === hostSessionId).map(view);
  }

  /**
   * Asks GitHub once whether the person has entered the code, unless GitHub asked us to wait
   * longer (then nothing is sent). The console calls this every `intervalSeconds`.
   */
  async pollDeviceLogin(hostSessionId: string, id: string): Promise<DeviceLoginView> {
    const login = this.logins.get(id);
    if (!login || login.hostSessionId !== hostSessionId) {
      throw new AppError("not_found", "This sign-in is unknown here (it may have ended or belong to another console); start a new one.");
    }
    if (login.status !== "pending") return view(login);
    if (this.now() >= login.expiresAt) {
      this.end(login, "expired", EXPIRED);
      return view(login);
    }
    if (this.now() < login.nextPollAt) return view(login);
    login.polling ??= this.pollOnce(login).finally(() => {
      login.polling = null;
    });
    await login.polling;
    return view(login);
  }

  private async pollOnce(login: DeviceLogin): Promise<void> {
    login.nextPollAt = this.now() + login.intervalSeconds * 1000;
    let result;
    try {
      result = await pollAccessToken(this.flowOptions(), login.deviceCode);
    } catch (error) {
      // A network hiccup: keep the sign-in and try again at the next interval.
      login.message = error instanceof Error ? error.message : String(error);
      return;
    }
    switch (result.kind) {
      case "pending":
        login.message = `Waiting for ${login.userCode} to be entered at ${login.verificationUri}`;
        return;
      case "slow-down":
        login.intervalSeconds = Math.max(login.intervalSeconds + 5, result.intervalSeconds);
        login.nextPollAt = this.now() + login.intervalSeconds * 1000;
        login.message = `GitHub asked to be asked less often: every ${login.intervalSeconds} s now. Still waiting for ${login.userCode}.`;
        return;
      case "expired":
        this.end(login, "expired", EXPIRED);
        return;
      case "denied":
        this.end(login, "denied", "The sign-in was cancelled on GitHub.");
        return;
      case "failed":
        this.end(login, "failed", result.message);
        return;
      case "token":
        try {
          const maintainer = await this.register(result.token, result.scopes, "device-flow", login.hostSessionId);
          const push = maintainer.canPush ? "can push" : maintainer.canPush === false ? "cannot push" : "push access unknown";
          login.login = maintainer.login;
          this.end(login, "signed-in", `Signed in as @${maintainer.login} (${push}).`);
        } catch (error) {
          this.end(login, "failed", error instanceof Error ? error.message : String(error));
        }
        return;
    }
  }

  private end(login: DeviceLogin, status: DeviceLoginView["status"], message: string): void {
    Object.assign(login, { status, message, endedAt: this.now() });
  }

  private dropFinished(): void {
    const now = this.now();
    for (const [id, login] of this.logins) {
      const endedAt = login.endedAt ?? (now >= login.expiresAt ? login.expiresAt : null);
      if (endedAt !== null && now - endedAt > KEEP_FINISHED_MS) this.logins.delete(id);
    }
  }
}

export function maintainerView(m: Maintainer): MaintainerView {
  return {
    login: m.login,
    name: m.name,
    source: m.source,
    canPush: m.canPush,
    scopes: m.scopes,
    note: m.note,
    signedInAt: m.signedInAt.toISOString(),
  };
}

function view(login: DeviceLogin): DeviceLoginView {
  return {
    id: login.id,
    userCode: login.userCode,
    verificationUri: login.verificationUri,
    expiresAt: new Date(login.expiresAt).toISOString(),
    intervalSeconds: login.intervalSeconds,
    status: login.status,
    message: login.message,
    login: login.login,
  };
}
