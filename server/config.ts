import { randomBytes } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_ALLOWED_BRANCHES } from "./intake/eligibility";
import { parseBucketRule, type BucketRule } from "./intake/rate-limit";

/**
 * The only reader of process.env. Every variable is optional: the defaults start the show offline
 * on an embedded SQLite file under var/. A bad value stops the boot with a message that names the
 * variable and says what it should look like.
 */

export const PROJECT_ROOT = path.resolve(import.meta.dirname, "..");

// 0 asks the OS for a free port (tests).
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const httpUrl = z.url({ protocol: /^https?$/ });
const optionalSecret = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const bucketRule = z
  .string()
  .transform((v, ctx) => {
    const rule = parseBucketRule(v);
    if (!rule) {
      ctx.addIssue({ code: "custom", message: "a rate like 5/60s (5 per 60 seconds)" });
      return z.NEVER;
    }
    return rule;
  });

const SYSTEM_RE = /^[a-z0-9_]+-[a-z0-9_]+$/;
const REPO_RE = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

function currentSystem(): string {
  const arch = process.arch === "arm64" ? "aarch64" : process.arch === "x64" ? "x86_64" : process.arch;
  return `${arch}-${process.platform}`;
}

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: port.default(3000),
  BIND_HOST: z.string().min(1).default("0.0.0.0"),
  PUBLIC_URL: httpUrl.optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(file:.+|postgres(ql)?:\/\/.+)$/, "a SQLite path like file:var/show.db or a postgres://user@host/db URL")
    .default("file:var/show.db"),
  VAR_DIR: z.string().min(1).default("var"),
  NIXPKGS_REPO: z.string().regex(REPO_RE, "owner/name, like NixOS/nixpkgs").default("NixOS/nixpkgs"),
  NIXPKGS_GIT_URL: z.string().min(1).default("https://github.com/NixOS/nixpkgs.git"),
  NIXPKGS_DIR: z.string().min(1).optional(),
  GITHUB_API_URL: httpUrl.default("https://api.github.com"),
  GITHUB_TOKEN: optionalSecret,
  GITHUB_URL: httpUrl.default("https://github.com"),
  GITHUB_OAUTH_CLIENT_ID: optionalSecret,
  GITHUB_MAINTAINER_TOKEN: optionalSecret,
  REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, "a redis://host:6379 URL").optional(),
  OWNCAST_URL: httpUrl.optional(),
  OWNCAST_ACCESS_TOKEN: optionalSecret,
  OWNCAST_WEBHOOK_SECRET: optionalSecret,
  OWNCAST_POLL: z
    .enum(["true", "false", "1", "0", ""])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
  HOST_PASSWORD: z.string().min(8, "at least 8 characters").optional(),
  SESSION_SECRET: z.string().min(32, "at least 32 characters").optional(),
  OVERLAY_TOKEN: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, "16 to 128 letters, digits, - or _").optional(),
  NIX_BIN: z.string().min(1).default("nix"),
  NIX_SYSTEMS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const systems = (v ?? currentSystem()).split(/[\s,]+/).filter(Boolean);
      const bad = systems.find((s) => !SYSTEM_RE.test(s));
      if (bad !== undefined || systems.length === 0) {
        ctx.addIssue({ code: "custom", message: `"${bad ?? ""}" is not a Nix system like x86_64-linux` });
        return z.NEVER;
      }
      return systems;
    }),
  NIX_BUILDERS: z.string().optional(),
  NIX_MAX_JOBS: z.coerce.number().int().min(0).optional(),
  NIX_SUBSTITUTERS: z.string().optional(),
  MAX_PARALLEL_BUILDS: positiveInt.max(64).default(3),
  BUILD_TIMEOUT_SECONDS: positiveInt.default(3600),
  MAX_BUILD_TARGETS: positiveInt.max(500).default(20),
  DISK_BUDGET_GB: z.coerce.number().min(0).default(10),
  LOG_MAX_LINES: positiveInt.default(200_000),
  WORKTREE_POOL_SIZE: positiveInt.max(64).optional(),
  BUILD_PASSTHRU_TESTS: z.enum(["true", "false", "1", "0"]).default("false").transform((v) => v === "true" || v === "1"),
  RUNS_BUILDS: z.enum(["true", "false", "1", "0"]).default("true").transform((v) => v === "true" || v === "1"),
  WARM_CLONE_MAX_AGE_DAYS: positiveInt.default(3),
  OWNCAST_ADMIN_PASSWORD: optionalSecret,
  CHECKOUT_MODE: z.enum(["merge", "head"]).default("merge"),
  ALLOWED_BRANCHES: z.string().default(DEFAULT_ALLOWED_BRANCHES.join(",")),
  MAX_REBUILDS: z.coerce.number().int().min(0).default(500),
  PR_FACTS_CACHE_SECONDS: z.coerce.number().min(0).default(30),
  RATE_LIMIT_DEVICE: bucketRule.prefault("5/60s"),
  // A venue puts hundreds of phones behind one NAT address: this limit only stops one machine
  // posing as many devices.
  RATE_LIMIT_IP: bucketRule.prefault("1200/60s"),
  RATE_LIMIT_GLOBAL: bucketRule.prefault("60/1s"),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  bindHost: string;
  publicUrl: string | null;
  databaseUrl: string;
  databaseProvider: "sqlite" | "postgresql";
  varDir: string;
  logDir: string;
  nixpkgsRepo: string;
  nixpkgsGitUrl: string;
  nixpkgsDir: string;
  worktreesDir: string;
  githubApiUrl: string;
  githubToken: string | null;
  /** The web host of the OAuth device flow (the stand-in serves both in rehearsal). */
  githubUrl: string;
  githubOauthClientId: string | null;
  /** One maintainer's token from the environment, usable from every host console. */
  githubMaintainerToken: string | null;
  /** Several web processes share Socket.IO events through Redis (PostgreSQL required then). */
  redisUrl: string | null;
  owncastUrl: string | null;
  owncastAccessToken: string | null;
  owncastWebhookSecret: string | null;
  /** Read chat by polling /api/integrations/chat (when Owncast cannot reach the app). */
  owncastPoll: boolean;
  hostPassword: string;
  hostPasswordGenerated: boolean;
  sessionSecret: string;
  /** The secret in the OBS overlay's URL (/stage?overlay=1&token=…). */
  overlayToken: string;
  overlayTokenGenerated: boolean;
  nixBin: string;
  nixSystems: string[];
  nixBuilders: string | null;
  /** --max-jobs for nix; 0 builds nothing on the stage box, everything on NIX_BUILDERS. */
  nixMaxJobs: number | null;
  nixSubstituters: string | null;
  maxParallelBuilds: number;
  buildTimeoutSeconds: number;
  maxBuildTargets: number;
  /** Free space a fetch needs on the warm clone's disk; 0 turns the check off. */
  diskBudgetGb: number;
  /** Log lines kept per build before the truncation marker. */
  logMaxLines: number;
  worktreePoolSize: number | null;
  /** Build each attr's passthru.tests unless the host says otherwise. */
  buildPassthruTests: boolean;
  /** Whether this process runs builds (and marks interrupted ones at start); one process should. */
  runsBuilds: boolean;
  warmCloneMaxAgeDays: number;
  /** Lets the preflight list Owncast's webhooks (the admin API). */
  owncastAdminPassword: string | null;
  checkoutMode: "merge" | "head";
  allowedBranches: string[];
  maxRebuilds: number;
  /** How long the intake reuses a PR's GitHub facts (builds and merges always ask afresh). */
  prFactsCacheSeconds: number;
  rateLimits: { device: BucketRule; ip: BucketRule; global: BucketRule };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Generates a readable password for the host when HOST_PASSWORD is not set. */
function generatePassword(): string {
  const words = ["nix", "flake", "hydra", "store", "drv", "lix", "guix", "cache", "eval", "pin"];
  const bytes = randomBytes(6);
  const picks = [0, 1, 2].map((i) => words[bytes[i]! % words.length]);
  return `${picks.join("-")}-${bytes.readUInt16BE(3) % 10000}`;
}

function resolveIn(root: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(root, p);
}

/**
 * Parses the environment. `overrides` lets demo mode and tests layer values on top of it; they
 * never read process.env themselves.
 */
export function loadConfig(overrides: Env = {}, base: Env = process.env): Config {
  const env = { ...base, ...overrides };
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? "environment");
        return `${name}=${JSON.stringify(env[name] ?? "")}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  if (e.REDIS_URL && !/^postgres(ql)?:\/\//.test(e.DATABASE_URL)) {
    throw new ConfigError([
      `REDIS_URL=${JSON.stringify(e.REDIS_URL)}: several processes need a shared database; set DATABASE_URL=postgres://… (SQLite is one process only)`,
    ]);
  }
  if (e.OWNCAST_POLL && !(e.OWNCAST_URL && e.OWNCAST_ACCESS_TOKEN)) {
    throw new ConfigError([
      `OWNCAST_POLL=${JSON.stringify(env.OWNCAST_POLL)}: polling needs OWNCAST_URL and an OWNCAST_ACCESS_TOKEN with HAS_ADMIN_ACCESS`,
    ]);
  }
  const varDir = resolveIn(PROJECT_ROOT, e.VAR_DIR);
  const isPostgres = /^postgres(ql)?:\/\//.test(e.DATABASE_URL);
  const databaseUrl = isPostgres
    ? e.DATABASE_URL
    : `file:${resolveIn(PROJECT_ROOT, e.DATABASE_URL.slice("file:".length))}`;
  const nixpkgsDir = resolveIn(PROJECT_ROOT, e.NIXPKGS_DIR ?? path.join(e.VAR_DIR, "nixpkgs"));
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    bindHost: e.BIND_HOST,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, "") ?? null,
    databaseUrl,
    databaseProvider: isPostgres ? "postgresql" : "sqlite",
    varDir,
    logDir: path.join(varDir, "logs"),
    nixpkgsRepo: e.NIXPKGS_REPO,
    nixpkgsGitUrl: e.NIXPKGS_GIT_URL,
    nixpkgsDir,
    worktreesDir: path.join(path.dirname(nixpkgsDir), "worktrees"),
    githubApiUrl: e.GITHUB_API_URL.replace(/\/$/, ""),
    githubToken: e.GITHUB_TOKEN ?? null,
    githubUrl: e.GITHUB_URL.replace(/\/$/, ""),
    githubOauthClientId: e.GITHUB_OAUTH_CLIENT_ID ?? null,
    githubMaintainerToken: e.GITHUB_MAINTAINER_TOKEN ?? null,
    redisUrl: e.REDIS_URL ?? null,
    owncastUrl: e.OWNCAST_URL?.replace(/\/$/, "") ?? null,
    owncastAccessToken: e.OWNCAST_ACCESS_TOKEN ?? null,
    owncastWebhookSecret: e.OWNCAST_WEBHOOK_SECRET ?? null,
    owncastPoll: e.OWNCAST_POLL,
    hostPassword: e.HOST_PASSWORD ?? generatePassword(),
    hostPasswordGenerated: e.HOST_PASSWORD === undefined,
    sessionSecret: e.SESSION_SECRET ?? randomBytes(32).toString("hex"),
    overlayToken: e.OVERLAY_TOKEN ?? randomBytes(18).toString("base64url"),
    overlayTokenGenerated: e.OVERLAY_TOKEN === undefined,
    nixBin: e.NIX_BIN,
    nixSystems: e.NIX_SYSTEMS,
    nixBuilders: e.NIX_BUILDERS?.trim() ? e.NIX_BUILDERS : null,
    nixMaxJobs: e.NIX_MAX_JOBS ?? null,
    nixSubstituters: e.NIX_SUBSTITUTERS ?? null,
    maxParallelBuilds: e.MAX_PARALLEL_BUILDS,
    buildTimeoutSeconds: e.BUILD_TIMEOUT_SECONDS,
    maxBuildTargets: e.MAX_BUILD_TARGETS,
    diskBudgetGb: e.DISK_BUDGET_GB,
    logMaxLines: e.LOG_MAX_LINES,
    worktreePoolSize: e.WORKTREE_POOL_SIZE ?? null,
    buildPassthruTests: e.BUILD_PASSTHRU_TESTS,
    runsBuilds: e.RUNS_BUILDS,
    warmCloneMaxAgeDays: e.WARM_CLONE_MAX_AGE_DAYS,
    owncastAdminPassword: e.OWNCAST_ADMIN_PASSWORD ?? null,
    checkoutMode: e.CHECKOUT_MODE,
    allowedBranches: e.ALLOWED_BRANCHES.split(",").map((b) => b.trim()).filter(Boolean),
    maxRebuilds: e.MAX_REBUILDS,
    prFactsCacheSeconds: e.PR_FACTS_CACHE_SECONDS,
    rateLimits: { device: e.RATE_LIMIT_DEVICE, ip: e.RATE_LIMIT_IP, global: e.RATE_LIMIT_GLOBAL },
  };
}

/** For command-line entry points: the config, or the message naming the bad variable and exit 2. */
export function loadConfigOrExit(overrides: Env = {}): Config {
  try {
    return loadConfig(overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}
