import path from "node:path";
import { generateMiniNixpkgs, type MiniNixpkgs } from "./mini-nixpkgs";
import { startGitHubStandIn, type GitHubStandIn, type StandInPullRequest } from "./github-stand-in";
import { startOwncastStandIn, type OwncastStandIn } from "./owncast-stand-in";

/**
 * Everything a rehearsal needs besides the app: a generated mini-nixpkgs with its upstream, and a
 * GitHub stand-in that serves its pull requests. `env` is what the app's config needs to use them
 * through the same client code and base URLs as production. Used by demo mode, tests and benchmarks.
 */
export interface RehearsalKit {
  dir: string;
  mini: MiniNixpkgs;
  github: GitHubStandIn;
  githubToken: string;
  /** Present when the rehearsal has a chat: it posts CHAT webhooks to the app, signed. */
  owncast: OwncastStandIn | null;
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface RehearsalOptions {
  dir: string;
  system: string;
  size?: number;
  chattyLines?: number;
  chattySeconds?: number;
  githubPort?: number;
  /** Where the Owncast stand-in sends chat webhooks (the app's /api/owncast/webhook); no chat when absent. */
  owncastWebhookUrl?: string;
}

export const REHEARSAL_GITHUB_TOKEN = "ghp_rehearsal0000000000000000000000000000";
export const REHEARSAL_OWNCAST_TOKEN = "owncast-rehearsal-access-token";
export const REHEARSAL_OWNCAST_SECRET = "owncast-rehearsal-webhook-secret";

/** The PRs that "have CI results" serve a comparison artifact; the others fall back to by-name paths. */
const WITH_CI_RESULTS = new Set(["dependency-chain"]);

export function standInPullRequests(mini: MiniNixpkgs, system: string): StandInPullRequest[] {
  return mini.pullRequests.map((pr) => ({
    number: pr.number,
    title: pr.title,
    author: pr.author,
    baseRef: pr.baseRef,
    labels: ["10.rebuild-linux: 1-10"],
    hasCiResults: WITH_CI_RESULTS.has(pr.kind),
    rebuildsByPlatform: { [system]: pr.changedAttrs },
  }));
}

export async function startRehearsalKit(opts: RehearsalOptions): Promise<RehearsalKit> {
  const mini = await generateMiniNixpkgs({
    dir: path.join(opts.dir, "mini-nixpkgs"),
    size: opts.size,
    chattyLines: opts.chattyLines,
    chattySeconds: opts.chattySeconds,
  });
  const github = await startGitHubStandIn({
    upstreamDir: mini.upstreamDir,
    pullRequests: standInPullRequests(mini, opts.system),
    port: opts.githubPort,
    token: REHEARSAL_GITHUB_TOKEN,
  });
  const owncast = opts.owncastWebhookUrl
    ? await startOwncastStandIn({ webhookUrl: opts.owncastWebhookUrl, accessToken: REHEARSAL_OWNCAST_TOKEN, webhookSecret: REHEARSAL_OWNCAST_SECRET })
    : null;
  return {
    dir: opts.dir,
    mini,
    github,
    githubToken: REHEARSAL_GITHUB_TOKEN,
    owncast,
    env: {
      ...(owncast
        ? { OWNCAST_URL: owncast.url, OWNCAST_ACCESS_TOKEN: REHEARSAL_OWNCAST_TOKEN, OWNCAST_WEBHOOK_SECRET: REHEARSAL_OWNCAST_SECRET }
        : {}),
      NIXPKGS_GIT_URL: mini.gitUrl,
      NIXPKGS_DIR: path.join(opts.dir, "nixpkgs"),
      GITHUB_API_URL: github.url,
      GITHUB_URL: github.webUrl,
      GITHUB_OAUTH_CLIENT_ID: "rehearsal-oauth-app",
      GITHUB_TOKEN: REHEARSAL_GITHUB_TOKEN,
      NIX_SYSTEMS: opts.system,
      // Offline: build everything locally instead of asking cache.nixos.org.
      NIX_SUBSTITUTERS: "",
    },
    close: async () => {
      await github.close();
      await owncast?.close();
    },
  };
}
