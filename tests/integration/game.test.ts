import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { joinShow } from "@/server/intake/devices";
import { POINTS, predict, publicLeaderboard, standingOf } from "@/server/show/game";
import { resetShow } from "@/server/show/reset-show";
import { listQueue } from "@/server/intake/intake.repo";
import { startHarness, type ShowHarness } from "../helpers/show-harness";

/** The game on real builds: predict, lock at build start, score the verdict once. */
let h: ShowHarness;
const players = { ann: randomUUID(), bob: randomUUID(), cid: randomUUID() };

beforeAll(async () => {
  h = await startHarness();
  for (const [nickname, token] of Object.entries(players)) await joinShow(h.show.context.intake, { deviceToken: token, nickname });
});

afterAll(async () => {
  await h?.close();
});

const game = () => ({ db: h.show.context.db, events: h.show.context.events });

async function settled(prNumber: number, points: number) {
  // Scoring follows the build events; wait until the expected points are in.
  for (let i = 0; i < 100; i++) {
    const board = await publicLeaderboard(h.show.context.db, 10);
    if (board.reduce((sum, l) => sum + l.points, 0) >= points) return board;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`points for #${prNumber} never arrived`);
}

describe("predictions and points", () => {
  it("scores correct predictions and the submitter of a PR that builds, once", async () => {
    const { intake, builds } = h.show.context;
    await submitPullRequest(intake, { source: "web", text: "#400001", deviceToken: players.ann });
    await predict(game(), { deviceToken: players.ann, prNumber: 400001, guess: "builds" });
    await predict(game(), { deviceToken: players.bob, prNumber: 400001, guess: "builds" });
    await predict(game(), { deviceToken: players.cid, prNumber: 400001, guess: "builds" });
    // Changing one's mind is allowed until the build starts.
    await predict(game(), { deviceToken: players.cid, prNumber: 400001, guess: "fails" });
    expect((await listQueue(h.show.context.db)).find((q) => q.prNumber === 400001)?.predictions).toEqual({ builds: 2, fails: 1 });

    await builds.startBuild(400001);
    await expect(predict(game(), { deviceToken: players.bob, prNumber: 400001, guess: "fails" })).rejects.toThrow(/closed: its build has started/);
    await builds.idle();

    const board = await settled(400001, 2 * POINTS.correctPrediction + POINTS.submittedPrBuilt);
    expect(board[0]).toEqual({ rank: 1, nickname: "ann", points: POINTS.correctPrediction + POINTS.submittedPrBuilt });
    expect(board[1]).toEqual({ rank: 2, nickname: "bob", points: POINTS.correctPrediction });
    expect(board.find((l) => l.nickname === "cid")).toBeUndefined();
    expect(await standingOf(h.show.context.db, players.bob)).toEqual({ rank: 2, points: 100, players: 2 });
    expect(await standingOf(h.show.context.db, players.cid)).toMatchObject({ rank: null, points: 0 });
    expect(board.some((l) => "deviceToken" in l)).toBe(false);
  });

  it("scores a Hydra failure for those who called it, and a rebuild scores nothing twice", async () => {
    const { intake, builds } = h.show.context;
    await submitPullRequest(intake, { source: "web", text: "#400002", deviceToken: players.bob });
    await predict(game(), { deviceToken: players.cid, prNumber: 400002, guess: "fails" });
    await predict(game(), { deviceToken: players.ann, prNumber: 400002, guess: "builds" });
    await builds.startBuild(400002);
    await builds.idle();
    const board = await settled(400002, 350);
    expect(board.find((l) => l.nickname === "cid")).toMatchObject({ points: 100 });
    expect(board.find((l) => l.nickname === "bob")).toMatchObject({ points: 100 });

    await builds.startBuild(400002);
    await builds.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect((await publicLeaderboard(h.show.context.db, 10)).reduce((s, l) => s + l.points, 0)).toBe(350);
  });

  it("ties share a rank", async () => {
    const board = await publicLeaderboard(h.show.context.db, 10);
    expect(board.map((l) => l.rank)).toEqual([1, 2, 2]);
  });

  it("resets the show only with the confirmation, keeping devices", async () => {
    const deps = { db: h.show.context.db, events: h.show.context.events, settings: h.show.context.settings, activeBuilds: async () => 0 };
    await expect(resetShow(deps, "yes")).rejects.toThrow(/Type RESET/);
    await expect(resetShow({ ...deps, activeBuilds: async () => 1 }, "RESET")).rejects.toThrow(/still running/);
    await resetShow(deps, "RESET");
    expect(await listQueue(h.show.context.db, { includeHidden: true })).toEqual([]);
    expect(await publicLeaderboard(h.show.context.db, 10)).toEqual([]);
    expect(await h.show.context.db.device.count()).toBe(3);
  });
});
