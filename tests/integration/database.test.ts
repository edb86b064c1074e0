import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/server/db/client";
import { listMigrations, migrateDatabase } from "@/server/db/migrate";
import { listQueue, queueSubmission, recordSubmission } from "@/server/intake/intake.repo";
import { createBuild, getBuildView, markInterruptedBuilds, saveDerivation } from "@/server/builds/builds.repo";
import { freshDatabase, testProviders, type TestDatabase } from "../helpers/databases";

describe.each(testProviders())("database on %s", (provider) => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await freshDatabase(provider);
    const report = await migrateDatabase(database.url);
    expect(report.applied).toEqual(listMigrations(provider === "sqlite" ? "sqlite" : "postgres").map((m) => m.name));
    db = createDb(database.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("applies migrations once and records them like Prisma Migrate", async () => {
    const again = await migrateDatabase(database.url);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toBeGreaterThan(0);
  });

  it("stores a submission before anything else and credits every submitter of a PR", async () => {
    const first = await recordSubmission(db, { source: "web", remote: false, rawText: "#400001", nickname: "alice", deviceToken: "d1", ip: null });
    const second = await recordSubmission(db, { source: "owncast", remote: true, rawText: "!pr 400001", nickname: "bob", deviceToken: null, ip: null });
    const facts = { title: "hello: 1.0 -> 1.1", author: "octo", headSha: "a".repeat(40), baseRef: "master" };
    expect(await queueSubmission(db, first, 400001, facts)).toMatchObject({ duplicate: false, state: "queued" });
    expect(await queueSubmission(db, second, 400001, facts)).toMatchObject({ duplicate: true });
    const queue = await listQueue(db);
    expect(queue).toHaveLength(1);
    expect(queue[0]).toMatchObject({ prNumber: 400001, state: "queued", submitters: ["alice", "bob"], submissionCount: 2 });
  });

  it("keeps builds and derivations, and marks in-flight builds interrupted after a restart", async () => {
    const entry = (await db.queueEntry.findUnique({ where: { prNumber: 400001 } }))!;
    const id = await createBuild(db, { queueEntryId: entry.id, prNumber: 400001, system: "x86_64-linux", checkoutMode: "merge" });
    await saveDerivation(db, id, {
      drvPath: "/nix/store/00000000000000000000000000000000-hello-1.1.drv",
      name: "hello-1.1",
      state: "running",
      phase: "buildPhase",
      machine: "",
      exitCode: null,
      error: null,
      startedAt: Date.now(),
      finishedAt: null,
    });
    expect(await markInterruptedBuilds(db)).toEqual([400001]);
    const view = await getBuildView(db, id);
    expect(view?.status).toBe("interrupted");
    expect(view?.error).toMatch(/restarted/);
    expect(view?.derivations[0]).toMatchObject({ name: "hello-1.1", state: "failed", phase: "buildPhase" });
  });

  it("refuses a second queue entry for the same PR (unique constraint)", async () => {
    await expect(db.queueEntry.create({ data: { prNumber: 400001, state: "queued" } })).rejects.toMatchObject({ code: "P2002" });
  });
});
