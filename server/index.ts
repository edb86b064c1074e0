import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import path from "node:path";
import type { Duplex } from "node:stream";
import { pathToFileURL } from "node:url";
import next from "next";
import { PROJECT_ROOT, loadConfigOrExit, type Config } from "./config";
import { createDb } from "./db/client";
import { migrateDatabase } from "./db/migrate";
import { BuildService } from "./builds/build-service";
import { LogStore } from "./builds/log-store";
import { createGitHubGateway, type GitHubGateway } from "./github/gateway";
import { cachePullRequestFacts } from "./github/pr-facts-cache";
import { listQueue } from "./intake/intake.repo";
import { ShowEvents } from "./show/show-events";
import { ShowSettingsStore, publicStatus } from "./show/show-settings";
import { attachGame, publicLeaderboard } from "./show/game";
import type { ShowSnapshot } from "./show/views";
import { SubmissionLimiter } from "./intake/rate-limit";
import { setAppContext, type AppContext } from "./context";
import { createRealtime, SOCKET_PATH } from "./realtime/socket-server";
import { connectRedisAdapter } from "./realtime/redis-adapter";
import { createLogger } from "./logger";
import { createChat } from "./chat";
import { createMergeService } from "./merge/merge-service";
import { preflightDepsFromConfig, runPreflight } from "./preflight/run-preflight";
import { HOST_COOKIE, cookieFrom, readSessionCookie } from "./show/host-auth";
import { CLIENT_IP_HEADER } from "./http/client-ip";

function notFound(_req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(404, { "content-type": "text/plain" }).end("The web app is not served by this process.");
  return Promise.resolve();
}

export interface RunningShow {
  url: string;
  port: number;
  context: AppContext;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  dev?: boolean;
  /** Tests and demo mode may swap GitHub for another gateway; production uses the real client. */
  github?: GitHubGateway;
  /** Integration tests of the services and sockets skip Next; every page then answers 404. */
  web?: boolean;
}

/**
 * Boots the show: migrations, services, then one HTTP server on one port where `/socket.io/`
 * goes to Socket.IO (requests and upgrades) and everything else to Next.
 */
export async function startShow({ config, dev = false, github, web = true }: StartOptions): Promise<RunningShow> {
  const log = createLogger();
  const migration = await migrateDatabase(config.databaseUrl);
  if (migration.applied.length) log.info({ applied: migration.applied }, "database migrated");

  const db = createDb(config.databaseUrl);
  const events = new ShowEvents();
  const logs = new LogStore(config.logDir, { maxLines: config.logMaxLines });
  const gateway = github ?? createGitHubGateway({ apiUrl: config.githubApiUrl, token: config.githubToken, repo: config.nixpkgsRepo });
  const builds = new BuildService({
    db,
    events,
    logs,
    github: gateway,
    settings: {
      nixpkgsDir: config.nixpkgsDir,
      worktreesDir: config.worktreesDir,
      nixpkgsGitUrl: config.nixpkgsGitUrl,
      nixBin: config.nixBin,
      nixSystems: config.nixSystems,
      nixBuilders: config.nixBuilders,
      nixMaxJobs: config.nixMaxJobs,
      nixSubstituters: config.nixSubstituters,
      maxParallelBuilds: config.maxParallelBuilds,
      buildTimeoutSeconds: config.buildTimeoutSeconds,
      maxBuildTargets: config.maxBuildTargets,
      checkoutMode: config.checkoutMode,
      diskBudgetGb: config.diskBudgetGb,
      worktreePoolSize: config.worktreePoolSize ?? undefined,
      passthruTests: config.buildPassthruTests,
      runsBuilds: config.runsBuilds,
      reportsDir: path.join(config.varDir, "reports"),
    },
  });
  // Only the process that runs builds may decide that in-flight builds were interrupted.
  if (config.runsBuilds) await builds.recover();

  const settings = new ShowSettingsStore(db, config.nixSystems);
  await settings.get();
  const intake = {
    db,
    events,
    repo: config.nixpkgsRepo,
    // Submissions name the same few PRs again and again: their facts are reused for a while.
    fetchPullRequest: cachePullRequestFacts((n) => gateway.fetchPullRequest(n), { ttlMs: config.prFactsCacheSeconds * 1000 }),
    settings,
    limiter: new SubmissionLimiter(config.rateLimits),
    rules: { allowedBranches: config.allowedBranches, maxRebuilds: config.maxRebuilds },
  };

  const chat = createChat({
    db,
    events,
    intake,
    config: {
      owncastUrl: config.owncastUrl,
      owncastAccessToken: config.owncastAccessToken,
      owncastWebhookSecret: config.owncastWebhookSecret,
      owncastPoll: config.owncastPoll,
      nixSystems: config.nixSystems,
    },
  });

  const merge = createMergeService({
    db,
    events,
    builds,
    logs,
    github: {
      apiUrl: config.githubApiUrl,
      webUrl: config.githubUrl,
      repo: config.nixpkgsRepo,
      clientId: config.githubOauthClientId,
      envToken: config.githubMaintainerToken,
    },
  });
  events.on("merge-updated", (v) => {
    if (v.state === "merged") void publicLeaderboard(db, 10).then((top) => events.emit("scores-changed", top));
  });

  let version = 0;
  const bump = () => {
    version += 1;
  };
  events.on("queue-changed", bump);
  events.on("build-updated", bump);
  events.on("settings-changed", bump);
  events.on("scores-changed", bump);
  events.on("merge-updated", bump);
  const detachGame = attachGame({ db, events }, builds);
  const snapshot = async (opts: { host?: boolean } = {}): Promise<ShowSnapshot> => {
    const s = await settings.get();
    return {
      version,
      serverTime: new Date().toISOString(),
      queue: await listQueue(db, { includeHidden: opts.host ?? false }),
      builds: await builds.listBuilds(),
      show: publicStatus(s, gateway.authenticated),
      leaderboard: await publicLeaderboard(db, 10),
    };
  };

  const context: AppContext = {
    config,
    db,
    events,
    logs,
    github: gateway,
    intake,
    settings,
    chat,
    merge,
    preflight: () =>
      runPreflight(preflightDepsFromConfig(config, { db, owncastAdminPassword: config.owncastAdminPassword, owncastPoll: config.owncastPoll })),
    builds,
    snapshot,
  };
  setAppContext(context);
  chat.start();
  await merge.resume();

  const app = web ? next({ dev, dir: PROJECT_ROOT, hostname: "localhost", port: config.port }) : null;
  await app?.prepare();
  const handleNext = app?.getRequestHandler() ?? notFound;
  const upgradeNext = app?.getUpgradeHandler() ?? ((_req: unknown, socket: Duplex) => socket.destroy());
  const redis = config.redisUrl ? await connectRedisAdapter(config.redisUrl) : null;
  const realtime = createRealtime({ events, logs, snapshot, adapter: redis?.adapter, isHost: (cookie) => readSessionCookie(config.sessionSecret, cookieFrom(cookie, HOST_COOKIE)) !== null });

  const server: HttpServer = createServer((req, res) => {
    if (req.url?.startsWith(SOCKET_PATH)) return realtime.handleRequest(req, res);
    // The only client address route handlers trust; whatever a client sent under this name is replaced.
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "";
    void handleNext(req, res);
  });
  server.on("upgrade", (req, socket, head) => {
    if (req.url?.startsWith(SOCKET_PATH)) return realtime.handleUpgrade(req, socket, head);
    void upgradeNext(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.bindHost, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await merge.close();
      await chat.stop();
      await builds.shutdown();
      detachGame();
      await realtime.close();
      await redis?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app?.close?.();
      logs.closeAll();
      await db.$disconnect();
      setAppContext(undefined);
    })());
  return { url, port, context, close };
}

export function announce(show: RunningShow): void {
  const { config } = show.context;
  const base = config.publicUrl ?? `http://localhost:${show.port}`;
  const lines = [
    "",
    "  Maybe A Few Hydra Failures is live",
    `  audience   ${base}/`,
    `  projector  ${base}/stage`,
    `  overlay    ${base}/stage?overlay=1&token=${config.overlayToken}  (OBS browser source${config.overlayTokenGenerated ? "; set OVERLAY_TOKEN to keep it" : ""})`,
    `  host       ${base}/host   password: ${config.hostPasswordGenerated ? config.hostPassword + "  (generated; set HOST_PASSWORD to choose one)" : "(HOST_PASSWORD)"}`,
    `  database   ${config.databaseProvider}${config.databaseProvider === "sqlite" ? ` (${config.databaseUrl.slice(5)})` : ""}`,
    `  Owncast    ${config.owncastWebhookSecret ? "webhook /api/owncast/webhook" : "webhook off (set OWNCAST_WEBHOOK_SECRET)"}${config.owncastPoll ? ", polling chat" : ""}${config.owncastUrl ? "" : ", no bot (set OWNCAST_URL)"}`,
    `  GitHub     ${config.githubApiUrl}${config.githubToken ? "" : "  (no GITHUB_TOKEN: 60 requests/hour)"}`,
    "",
  ];
  console.log(lines.join("\n"));
}

/** `npm run dev` and `npm start` (through server/start.ts) land here. */
export async function main(overrides: Record<string, string> = {}): Promise<RunningShow> {
  const config = loadConfigOrExit(overrides);
  const show = await startShow({ config, dev: config.nodeEnv !== "production" });
  announce(show);
  const stop = () => {
    void show.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return show;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  void main();
}
