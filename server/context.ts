import type { Config } from "./config";
import type { Db } from "./db/client";
import type { BuildService } from "./builds/build-service";
import type { LogStore } from "./builds/log-store";
import type { GitHubGateway } from "./github/gateway";
import type { IntakeDeps } from "./intake/submit-pull-request";
import type { ShowEvents } from "./show/show-events";
import type { ShowSnapshot } from "./show/views";
import type { ShowSettingsStore } from "./show/show-settings";
import type { Chat } from "./chat";
import type { MergeService } from "./merge/merge-service";
import type { RunHostPreflight } from "./preflight/host-preflight";

/**
 * What route handlers reach. The custom server (server/index.ts) builds it once; Next bundles the
 * route handlers separately, so they find it on globalThis instead of importing the services.
 * This file must keep type-only imports: it is part of those bundles.
 */
export interface AppContext {
  config: Config;
  db: Db;
  events: ShowEvents;
  logs: LogStore;
  github: GitHubGateway;
  intake: IntakeDeps;
  builds: BuildService;
  settings: ShowSettingsStore;
  chat: Chat;
  merge: MergeService;
  preflight: RunHostPreflight;
  snapshot(opts?: { host?: boolean }): Promise<ShowSnapshot>;
}

const KEY = Symbol.for("maybe-a-few-hydra-failures.context");
type Holder = { [KEY]?: AppContext };

export function setAppContext(context: AppContext | undefined): void {
  (globalThis as Holder)[KEY] = context;
}

export function appContext(): AppContext {
  const context = (globalThis as Holder)[KEY];
  if (!context) {
    throw new Error("The show is not running in this process: start it with `npm start` or `npm run dev`, not `next start`.");
  }
  return context;
}
