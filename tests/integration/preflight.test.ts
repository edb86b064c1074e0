import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { loadConfig } from "@/server/config";
import { createDb, sqlitePath, type Db } from "@/server/db/client";
import { listMigrations, migrateDatabase } from "@/server/db/migrate";
import { runGit } from "@/server/workspace/git";
import { ensureWarmClone } from "@/server/workspace/warm-clone";
import { startRehearsalKit, REHEARSAL_GITHUB_TOKEN, type RehearsalKit } from "@/server/rehearsal/rehearsal-kit";
import { startOwncastStandIn, type OwncastStandIn } from "@/server/rehearsal/owncast-stand-in";
import { runPreflight, type PreflightDeps } from "@/server/preflight/run-preflight";
import { checkOwncastWebhook } from "@/server/preflight/check-owncast";
import { checkDatabase } from "@/server/preflight/check-database";
import { checkWarmClone } from "@/server/preflight/check-warm-clone";
import { parseBuilders } from "@/server/preflight/check-builders";
import { checkNix } from "@/server/preflight/check-nix";
import type { PreflightReport, PreflightStatus } from "@/server/preflight/preflight-check";
import { freshDatabase, testProviders, type TestDatabase } from "../helpers/databases";

/**
 * The show-day preflight against real things: real nix and its store, a real warm clone of the
 * rehearsal nixpkgs, the GitHub and Owncast stand-ins, a real migrated database. Each check is
 * then broken on its own, and only its line turns red.
 */
const OWNCAST_TOKEN = "owncast-preflight-token-0123456789";
const WEBHOOK_SECRET = "preflight-webhook-secret-0123456789";
const ADMIN_PASSWORD = "owncast-admin";

let dir: string;
let kit: RehearsalKit;
let owncast: OwncastStandIn;
let database: TestDatabase;
let db: Db;
let warmDir: string;
let newestCommitMs: number;

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** Owncast's admin API, which the stand-in does not serve: the webhooks Owncast would list. */
function adminWebhooks(webhooks: unknown[]): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    if (url !== `${owncast.url}/api/admin/webhooks`) return fetch(input, init);
    const auth = new Headers(init?.headers).get("authorization");
    if (auth !== `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`) return new Response("unauthorized", { status: 401 });
    return Response.json(webhooks);
  };
}

const registered = [{ id: 1, url: `https://show.example.org/api/owncast/webhook?token=${WEBHOOK_SECRET}`, events: ["CHAT"], timestamp: "2026-01-01T00:00:00Z", lastUsed: null }];

function goodDeps(): PreflightDeps {
  return {
    nix: { nixBin: "nix" },
    nixStore: { nixBin: "nix" },
    disk: { places: [{ name: "test dir", path: dir }], failBelowGb: 0.001, warnBelowGb: 0.002 },
    warmClone: { dir: warmDir, gitUrl: kit.mini.gitUrl, maxAgeDays: 3, now: () => newestCommitMs + 3_600_000 },
    builders: { nixBin: "nix", builders: "dummy:// x86_64-linux" },
    github: { apiUrl: kit.github.url, token: REHEARSAL_GITHUB_TOKEN },
    owncast: { url: owncast.url, accessToken: OWNCAST_TOKEN },
    owncastWebhook: {
      url: owncast.url,
      webhookSecret: WEBHOOK_SECRET,
      adminPassword: ADMIN_PASSWORD,
      publicUrl: "https://show.example.org",
      fetch: adminWebhooks(registered),
    },
    database: { db, where: database.url, migrations: listMigrations("sqlite") },
  };
}

function statuses(report: PreflightReport): Record<string, PreflightStatus> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}

function line(report: PreflightReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} line`);
  return found;
}

let baseline: PreflightReport;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-preflight-"));
  kit = await startRehearsalKit({ dir, system: loadConfig({}, {}).nixSystems[0]!, size: 5 });
  warmDir = path.join(dir, "nixpkgs");
  await ensureWarmClone({ dir: warmDir, gitUrl: kit.mini.gitUrl });
  newestCommitMs = Number((await runGit(["log", "-1", "--format=%ct", "refs/remotes/origin/HEAD"], { cwd: warmDir })).trim()) * 1000;
  owncast = await startOwncastStandIn({ accessToken: OWNCAST_TOKEN });
  database = await freshDatabase("sqlite");
  await migrateDatabase(database.url);
  db = createDb(database.url);
  baseline = await runPreflight(goodDeps());
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await owncast?.close();
  await kit?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("preflight", () => {
  it("is all ✅ against the rehearsal kit and a real nix", () => {
    expect(baseline.checks.map((c) => c.id)).toEqual([
      "nix",
      "nix-store",
      "disk",
      "warm-clone",
      "builders",
      "github",
      "owncast",
      "owncast-webhook",
      "database",
    ]);
    expect(baseline.checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(baseline.status).toBe("ok");
    expect(line(baseline, "nix").detail).toMatch(/^nix \(.*\) \d+\.\d+/);
    expect(line(baseline, "nix-store").detail).toMatch(/\/nix\/store\/[a-z0-9]{32}-mafhf-preflight/);
    expect(line(baseline, "github").detail).toMatch(/^rehearsal-bot, scopes: public_repo; \d,\d{3} of 5,000 requests left this hour \(resets \d\d:\d\d\)$/);
    expect(line(baseline, "owncast").detail).toMatch(/may post in chat/);
    expect(line(baseline, "owncast-webhook").detail).toMatch(/sends chat to https:\/\/show\.example\.org\/api\/owncast\/webhook \(not used yet\)/);
    expect(line(baseline, "database").detail).toMatch(/^All \d+ migrations applied/);
    // The bot's token was checked without posting anything in chat.
    expect(owncast.sent).toEqual([]);
    expect(baseline.checks.every((c) => c.fix === null)).toBe(true);
  });

  const breakages: Array<{ id: string; how: string; breakIt: (d: PreflightDeps) => void | Promise<void>; detail: RegExp; fix: RegExp }> = [
    {
      id: "nix",
      how: "NIX_BIN points at nothing",
      breakIt: (d) => void (d.nix.nixBin = path.join(dir, "no-such-nix")),
      detail: /no-such-nix cannot be started/,
      fix: /Install Nix .* or set NIX_BIN/,
    },
    {
      id: "nix",
      how: "nix is too old",
      breakIt: (d) => void (d.nix.nixBin = script("old-nix", 'echo "nix (Nix) 2.3.16"')),
      detail: /nix \(Nix\) 2\.3\.16 is too old: the show needs Nix 2\.4 or newer/,
      fix: /Upgrade Nix/,
    },
    {
      id: "nix-store",
      how: "the store cannot take new paths",
      breakIt: (d) => {
        const notADirectory = path.join(dir, "a-file");
        writeFileSync(notADirectory, "");
        d.nixStore.storeUri = path.join(notADirectory, "store");
      },
      detail: /refused a new path: .*not a directory/,
      fix: /nix-daemon/,
    },
    {
      id: "disk",
      how: "less space than the budget",
      breakIt: (d) => void (d.disk.failBelowGb = 1e9),
      detail: /GB free on the disk of .*\(test dir\)\. Builds are refused below/,
      fix: /nix-collect-garbage/,
    },
    {
      id: "warm-clone",
      how: "the warm clone is missing",
      breakIt: (d) => void (d.warmClone.dir = path.join(dir, "no-clone-here")),
      detail: /No warm clone at .*no-clone-here/,
      fix: /preload-cli\.ts/,
    },
    {
      id: "warm-clone",
      how: "the warm clone fetches from elsewhere",
      breakIt: (d) => void (d.warmClone.gitUrl = "https://example.invalid/nixpkgs.git"),
      detail: /fetches from .*, not NIXPKGS_GIT_URL https:\/\/example\.invalid/,
      fix: /remote set-url origin/,
    },
    {
      id: "builders",
      how: "a remote builder does not answer",
      breakIt: (d) => void (d.builders.builders = "dummy:// x86_64-linux ; unix:///nonexistent/daemon-socket aarch64-linux"),
      detail: /^1 of 2 builders do not answer: unix:\/\/\/nonexistent\/daemon-socket \(aarch64-linux\): .*cannot connect/,
      fix: /ssh <host>/,
    },
    {
      id: "github",
      how: "GitHub rejects the token",
      breakIt: (d) => void (d.github.token = "ghp_not-a-token-the-stand-in-knows"),
      detail: /rejected GITHUB_TOKEN \(Bad credentials/,
      fix: /wrong, expired or revoked/,
    },
    {
      id: "github",
      how: "there is no token",
      breakIt: (d) => void (d.github.token = null),
      detail: /^No GITHUB_TOKEN: \d+ of 60 requests left/,
      fix: /set GITHUB_TOKEN/,
    },
    {
      id: "owncast",
      how: "Owncast refuses the access token",
      breakIt: (d) => void (d.owncast.accessToken = "not-the-owncast-token"),
      detail: /refuses OWNCAST_ACCESS_TOKEN/,
      fix: /admin\/access-tokens/,
    },
    {
      id: "owncast",
      how: "Owncast is down",
      breakIt: (d) => void (d.owncast.url = "http://127.0.0.1:9"),
      detail: /Owncast at http:\/\/127\.0\.0\.1:9 does not answer/,
      fix: /OWNCAST_URL/,
    },
    {
      id: "owncast-webhook",
      how: "no webhook secret, so every webhook is refused",
      breakIt: (d) => void (d.owncastWebhook.webhookSecret = null),
      detail: /OWNCAST_WEBHOOK_SECRET is not set/,
      fix: /\/api\/owncast\/webhook\?token=<OWNCAST_WEBHOOK_SECRET>/,
    },
    {
      id: "owncast-webhook",
      how: "no webhook sends chat to the show",
      breakIt: (d) => void (d.owncastWebhook.fetch = adminWebhooks([{ id: 2, url: "https://elsewhere.example/hook", events: ["CHAT"] }])),
      detail: /none sends chat \(CHAT\) to \/api\/owncast\/webhook/,
      fix: /admin\/webhooks/,
    },
    {
      id: "database",
      how: "the database was used by a newer version",
      breakIt: async (d) => {
        const newer = await freshDatabase("sqlite");
        await migrateDatabase(newer.url);
        const raw = new Database(sqlitePath(newer.url));
        raw.prepare(`INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', 'y', current_timestamp, '29990101000000_from_the_future', 1)`).run();
        raw.close();
        const newerDb = createDb(newer.url);
        d.database.db = newerDb;
        cleanups.push(async () => {
          await newerDb.$disconnect();
          await newer.drop();
        });
      },
      detail: /does not know \(29990101000000_from_the_future\)/,
      fix: /DATABASE_URL/,
    },
  ];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  for (const b of breakages) {
    it(`fails only the ${b.id} line when ${b.how}`, async () => {
      const deps = goodDeps();
      await b.breakIt(deps);
      const report = await runPreflight(deps);
      const broken = line(report, b.id);
      expect(broken.status).toBe("fail");
      expect(broken.detail).toMatch(b.detail);
      expect(broken.fix).toMatch(b.fix);
      expect(report.status).toBe("fail");
      expect(statuses(report)).toEqual({ ...statuses(baseline), [b.id]: "fail" });
    });
  }

  it("warns about a stale warm clone, without failing", async () => {
    const stale = await checkWarmClone({ dir: warmDir, gitUrl: kit.mini.gitUrl, maxAgeDays: 3, now: () => newestCommitMs + 10 * 86_400_000 });
    expect(stale).toMatchObject({ status: "warn", detail: expect.stringMatching(/\(10 days old\).*older than 3 days/), fix: expect.stringMatching(/preload-cli/) });
  });

  it("says it cannot verify the webhook against the Owncast stand-in, which has no admin API", async () => {
    const noPassword = await checkOwncastWebhook({ url: owncast.url, webhookSecret: WEBHOOK_SECRET, adminPassword: null, publicUrl: null });
    expect(noPassword).toMatchObject({ status: "warn", detail: expect.stringMatching(/Cannot verify .* no Owncast admin password/), fix: expect.stringMatching(/OWNCAST_ADMIN_PASSWORD/) });
    const standIn = await checkOwncastWebhook({ url: owncast.url, webhookSecret: WEBHOOK_SECRET, adminPassword: ADMIN_PASSWORD, publicUrl: null });
    expect(standIn).toMatchObject({ status: "warn", detail: expect.stringMatching(/has no \/api\/admin\/webhooks/) });
    // The secret never appears in what the console shows.
    expect(JSON.stringify([noPassword, standIn, baseline])).not.toContain(WEBHOOK_SECRET);
  });

  it("fails GitHub when the token's rate limit is used up, and warns when it runs low", async () => {
    try {
      kit.github.setRateLimitRemaining(0);
      const usedUp = await runPreflight(goodDeps());
      expect(line(usedUp, "github")).toMatchObject({ status: "fail", detail: expect.stringMatching(/used up its rate limit: 0 of 5,000/) });
      kit.github.setRateLimitRemaining(120);
      const low = await runPreflight(goodDeps());
      expect(line(low, "github")).toMatchObject({ status: "warn", detail: expect.stringMatching(/1\d\d of 5,000 requests left.*may not last the show/) });
    } finally {
      kit.github.setRateLimitRemaining(5000);
    }
  });

  it("stops a check that hangs and says so", async () => {
    const hanging = script("hanging-nix", "sleep 30");
    const result = await checkNix({ nixBin: hanging, timeoutMs: 300 });
    expect(result).toMatchObject({ status: "fail", detail: expect.stringMatching(/did not answer within 0\.3 s/) });
  });

  it("reads nix's builders syntax: ; and newlines, @machines files, bare hosts and ssh keys", async () => {
    const files: Record<string, string> = { "/etc/nix/machines": "# comment\nbuilder-a x86_64-linux,i686-linux /root/.ssh/id 4\n" };
    const builders = await parseBuilders("ssh-ng://b aarch64-linux - 2 ; @/etc/nix/machines\n\n", async (f) => files[f]!);
    expect(builders).toEqual([
      { storeUri: "ssh-ng://b", systems: ["aarch64-linux"] },
      { storeUri: "ssh://builder-a?ssh-key=%2Froot%2F.ssh%2Fid", systems: ["x86_64-linux", "i686-linux"] },
    ]);
  });
});

describe.each(testProviders())("the database line on %s", (provider) => {
  it("is ⚠ before the migrations, ✅ after them, ⚠ when one is missing, ❌ when the database is newer", async () => {
    const fresh = await freshDatabase(provider);
    const migrations = listMigrations(provider === "postgresql" ? "postgres" : "sqlite");
    const last = migrations.at(-1)!.name;
    const client = createDb(fresh.url);
    const check = () => checkDatabase({ db: client, where: "the test database", migrations });
    try {
      expect(await check()).toMatchObject({ status: "warn", detail: expect.stringMatching(new RegExp(`^0 of ${migrations.length} migrations applied`)) });
      await migrateDatabase(fresh.url);
      expect(await check()).toMatchObject({ status: "ok", detail: `All ${migrations.length} migrations applied in the test database (latest ${last}).` });
      await client.$executeRawUnsafe(`DELETE FROM "_prisma_migrations" WHERE migration_name = '${last}'`);
      expect(await check()).toMatchObject({ status: "warn", detail: expect.stringContaining(`not yet: ${last}`), fix: expect.stringMatching(/applies them when it starts/) });
      await client.$executeRawUnsafe(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('future', 'x', CURRENT_TIMESTAMP, '29990101000000_from_the_future', 1)`,
      );
      expect(await check()).toMatchObject({ status: "fail", detail: expect.stringContaining("does not know (29990101000000_from_the_future)") });
    } finally {
      await client.$disconnect();
      await fresh.drop();
    }
    expect(await checkDatabase({ db: null, where: "var/show.db", migrations })).toMatchObject({ status: "warn", detail: expect.stringMatching(/^No database at var\/show\.db yet/) });
  });
});
