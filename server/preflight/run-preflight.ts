import path from "node:path";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { listMigrations } from "../db/migrate";
import { DEFAULT_DISK_BUDGET_GB } from "../workspace/disk-budget";
import { BUILDERS_CHECK, checkBuilders, type BuildersCheckDeps } from "./check-builders";
import { DATABASE_CHECK, checkDatabase, type DatabaseCheckDeps } from "./check-database";
import { DISK_CHECK, checkDisk, type DiskCheckDeps } from "./check-disk";
import { GITHUB_CHECK, checkGitHub, type GitHubCheckDeps } from "./check-github";
import { NIX_CHECK, NIX_STORE_CHECK, checkNix, checkNixStore, type NixCheckDeps, type NixStoreCheckDeps } from "./check-nix";
import {
  OWNCAST_CHECK,
  OWNCAST_WEBHOOK_CHECK,
  checkOwncast,
  checkOwncastWebhook,
  type OwncastCheckDeps,
  type OwncastWebhookCheckDeps,
} from "./check-owncast";
import { DEFAULT_WARM_CLONE_MAX_AGE_DAYS, WARM_CLONE_CHECK, checkWarmClone, type WarmCloneCheckDeps } from "./check-warm-clone";
import { resultOf, worstStatus, type CheckName, type PreflightCheck, type PreflightReport } from "./preflight-check";

/** Everything the checks look at, as parameters: tests point any one of them at something broken. */
export interface PreflightDeps {
  nix: NixCheckDeps;
  nixStore: NixStoreCheckDeps;
  disk: DiskCheckDeps;
  warmClone: WarmCloneCheckDeps;
  builders: BuildersCheckDeps;
  github: GitHubCheckDeps;
  owncast: OwncastCheckDeps;
  owncastWebhook: OwncastWebhookCheckDeps;
  database: DatabaseCheckDeps;
}

/** Longest a single check may take before its line says so; each check's own tools stop sooner. */
export const CHECK_TIMEOUT_MS = 45_000;

const CHECKS: Array<{ name: CheckName; run: (deps: PreflightDeps) => Promise<PreflightCheck> }> = [
  { name: NIX_CHECK, run: (d) => checkNix(d.nix) },
  { name: NIX_STORE_CHECK, run: (d) => checkNixStore(d.nixStore) },
  { name: DISK_CHECK, run: (d) => checkDisk(d.disk) },
  { name: WARM_CLONE_CHECK, run: (d) => checkWarmClone(d.warmClone) },
  { name: BUILDERS_CHECK, run: (d) => checkBuilders(d.builders) },
  { name: GITHUB_CHECK, run: (d) => checkGitHub(d.github) },
  { name: OWNCAST_CHECK, run: (d) => checkOwncast(d.owncast) },
  { name: OWNCAST_WEBHOOK_CHECK, run: (d) => checkOwncastWebhook(d.owncastWebhook) },
  { name: DATABASE_CHECK, run: (d) => checkDatabase(d.database) },
];

async function bounded(name: CheckName, run: () => Promise<PreflightCheck>, timeoutMs: number): Promise<PreflightCheck> {
  const v = resultOf(name);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<PreflightCheck>((resolve) => {
    timer = setTimeout(() => resolve(v.fail(`No result within ${Math.round(timeoutMs / 1000)} s.`, "Run the preflight again; if this line stays, check it by hand.")), timeoutMs);
  });
  try {
    return await Promise.race([
      run().catch((error: unknown) => v.fail(`The check itself failed: ${(error as Error).message}`, "Run the preflight again; if this line stays, check it by hand.")),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every check at once, each bounded in time; the lines come back in a fixed order. */
export async function runPreflight(deps: PreflightDeps, opts: { timeoutMs?: number } = {}): Promise<PreflightReport> {
  const checks = await Promise.all(CHECKS.map((c) => bounded(c.name, () => c.run(deps), opts.timeoutMs ?? CHECK_TIMEOUT_MS)));
  return { ranAt: new Date().toISOString(), status: worstStatus(checks.map((c) => c.status)), checks };
}

/** Settings the preflight needs that server/config.ts does not (yet) read; defaults in brackets. */
export interface PreflightSettings {
  /** The open database, or null when it does not exist yet. */
  db: Db | null;
  /** OWNCAST_ADMIN_PASSWORD [none]: lets the preflight list Owncast's webhooks. */
  owncastAdminPassword?: string | null;
  /** Chat read by polling needs no webhook [false]. */
  owncastPoll?: boolean;
  /** WARM_CLONE_MAX_AGE_DAYS [3]. */
  warmCloneMaxAgeDays?: number;
  /** Where the Nix store lives, for the free-space line [/nix/store]. */
  nixStoreDir?: string;
}

function databaseWhere(config: Config): string {
  if (config.databaseProvider === "sqlite") return config.databaseUrl.replace(/^file:/, "");
  const url = new URL(config.databaseUrl);
  return `${url.host}${url.pathname}`;
}

export function preflightDepsFromConfig(config: Config, settings: PreflightSettings): PreflightDeps {
  const places = [
    { name: "warm clone", path: config.nixpkgsDir },
    { name: "worktrees", path: config.worktreesDir },
    { name: "logs", path: config.logDir },
    { name: "Nix store", path: settings.nixStoreDir ?? "/nix/store" },
  ];
  if (config.databaseProvider === "sqlite") places.push({ name: "database", path: path.dirname(databaseWhere(config)) });
  return {
    nix: { nixBin: config.nixBin },
    nixStore: { nixBin: config.nixBin },
    disk: { places, failBelowGb: config.diskBudgetGb || DEFAULT_DISK_BUDGET_GB, warnBelowGb: 2 * (config.diskBudgetGb || DEFAULT_DISK_BUDGET_GB) },
    warmClone: {
      dir: config.nixpkgsDir,
      gitUrl: config.nixpkgsGitUrl,
      maxAgeDays: settings.warmCloneMaxAgeDays ?? config.warmCloneMaxAgeDays ?? DEFAULT_WARM_CLONE_MAX_AGE_DAYS,
    },
    builders: { nixBin: config.nixBin, builders: config.nixBuilders },
    github: { apiUrl: config.githubApiUrl, token: config.githubToken },
    owncast: { url: config.owncastUrl, accessToken: config.owncastAccessToken },
    owncastWebhook: {
      url: config.owncastUrl,
      webhookSecret: config.owncastWebhookSecret,
      adminPassword: settings.owncastAdminPassword ?? null,
      publicUrl: config.publicUrl,
      polling: settings.owncastPoll ?? false,
    },
    database: {
      db: settings.db,
      where: databaseWhere(config),
      migrations: listMigrations(config.databaseProvider === "postgresql" ? "postgres" : "sqlite").map(({ name, checksum }) => ({ name, checksum })),
    },
  };
}
