import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { joinShow } from "@/server/intake/devices";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { setQueueState } from "@/server/intake/intake.repo";
import { recordMergeAttempt } from "@/server/merge/merge.repo";
import { predict, publicLeaderboard } from "@/server/show/game";
import { exportShow, playerId } from "@/server/show/export-show";
import { columnsOf, toCsv } from "@/server/show/export-csv";
import { renderResultsPage } from "@/server/show/render-results-page";
import { EXPORT_TABLES, ShowExportSchema, parseShowExport, type ShowExport } from "@/server/show/show-export-schema";
import { startHarness, type ShowHarness } from "../helpers/show-harness";
import { testProviders } from "../helpers/databases";
import { parseCsv } from "../helpers/csv";

/**
 * After the show: a real show (two real builds, predictions, scores, a merge) exported, read back
 * and written as CSV and as the results page, with an audience that tries its luck: markup in a
 * nickname and a PR title, a formula in a nickname, commas, quotes and line breaks.
 */
let h: ShowHarness;
let data: ShowExport;
const players = {
  ann: { token: randomUUID(), nickname: "<script>x</script>" },
  bob: { token: randomUUID(), nickname: '=HYPERLINK("x")' },
  cid: { token: randomUUID(), nickname: 'Cid, "the" builder' },
};
const HOSTILE_TITLE = `=cmd|'/C calc'!A0 <img src=x onerror=alert(1)>`;
const MULTILINE = 'please build #400003,\n"now"';

describe.each(testProviders())("show export on %s", (provider) => {
  beforeAll(async () => {
    h = await startHarness({ provider });
    const { intake, builds, db, events } = h.show.context;
    h.kit.github.updatePullRequest(400007, { title: HOSTILE_TITLE });
    for (const p of Object.values(players)) await joinShow(intake, { deviceToken: p.token, nickname: p.nickname });
    await submitPullRequest(intake, { source: "web", text: "#400001", deviceToken: players.ann.token });
    await submitPullRequest(intake, { source: "web", text: "#400002", deviceToken: players.bob.token });
    await submitPullRequest(intake, { source: "web", text: "400007", deviceToken: players.bob.token });
    await submitPullRequest(intake, { source: "web", text: MULTILINE, deviceToken: players.cid.token }).catch(() => undefined);
    await predict({ db, events }, { deviceToken: players.ann.token, prNumber: 400001, guess: "builds" });
    await predict({ db, events }, { deviceToken: players.bob.token, prNumber: 400002, guess: "builds" });
    await predict({ db, events }, { deviceToken: players.cid.token, prNumber: 400002, guess: "fails" });
    await builds.startBuild(400001);
    await builds.startBuild(400002);
    await builds.startBuild(400007);
    await builds.idle();
    // ann: correct prediction + her PR built; cid: called the Hydra failure; bob: his other PR built.
    for (let i = 0; i < 200 && (await publicLeaderboard(db, 10)).reduce((s, l) => s + l.points, 0) < 300; i++) await new Promise((r) => setTimeout(r, 50));
    const built = (await builds.buildsOfPr(400001))[0]!;
    await recordMergeAttempt(db, {
      prNumber: 400001,
      headSha: built.headSha!,
      maintainer: "alice",
      method: "enqueue",
      outcome: "ok",
      githubStatus: 200,
      message: "Added to the merge queue.",
      response: null,
    });
    await setQueueState(db, 400001, "merged");
    data = await exportShow(db, { repo: "NixOS/nixpkgs" });
  });

  afterAll(async () => {
    await h?.close();
  });

  it("holds the show: submissions, builds with derivations and verdicts, predictions, scores, merges", () => {
    expect(data).toMatchObject({ format: "maybe-a-few-hydra-failures/show-export", version: 1, repo: "NixOS/nixpkgs" });
    expect(data.submissions.map((s) => [s.prNumber, s.nickname, s.outcome]).slice(0, 3)).toEqual([
      [400001, players.ann.nickname, "queued"],
      [400002, players.bob.nickname, "queued"],
      [400007, players.bob.nickname, "queued"],
    ]);
    expect(data.submissions[3]).toMatchObject({ rawText: MULTILINE, player: playerId(players.cid.token) });
    expect(data.queue.find((q) => q.prNumber === 400007)?.title).toBe(HOSTILE_TITLE);
    expect(data.queue.find((q) => q.prNumber === 400002)).toMatchObject({ predictedBuilds: 1, predictedFails: 1, state: "failed" });

    const passed = data.verdicts.find((v) => v.prNumber === 400001)!;
    const failed = data.verdicts.find((v) => v.prNumber === 400002)!;
    expect(passed).toMatchObject({ verdict: "passed", failedDrv: null });
    expect(failed).toMatchObject({ verdict: "failed", failedPhase: "buildPhase" });
    expect(failed.failedDrv).toEqual(expect.any(String));
    const failedBuild = data.builds.find((b) => b.id === failed.buildIds[0])!;
    expect(failedBuild).toMatchObject({ status: "failed", failedDrv: failed.failedDrv });
    expect(data.derivations.some((d) => d.buildId === failedBuild.id && d.state === "failed" && d.name === failed.failedDrv && d.phase === "buildPhase")).toBe(true);
    expect(data.builds.find((b) => b.prNumber === 400001)?.targets.length).toBeGreaterThan(0);

    expect(data.leaderboard.map((l) => [l.rank, l.nickname, l.points])).toEqual([
      [1, players.ann.nickname, 150],
      [2, players.cid.nickname, 100],
      [3, players.bob.nickname, 50],
    ]);
    expect(data.leaderboard[0]!.player).toBe(playerId(players.ann.token));
    expect(data.scores.filter((s) => s.player === playerId(players.ann.token)).map((s) => s.reason).sort()).toEqual(["correct-prediction", "submitted-pr-built"]);
    expect(data.merges).toEqual([expect.objectContaining({ prNumber: 400001, maintainer: "alice", method: "enqueue", outcome: "ok" })]);
    expect(data.players.map((p) => p.nickname).sort()).toEqual(Object.values(players).map((p) => p.nickname).sort());
  });

  it("never carries a device token: players are pseudonyms", () => {
    const text = JSON.stringify(data);
    for (const p of Object.values(players)) expect(text).not.toContain(p.token);
    const pseudonyms = new Set(data.players.map((p) => p.player));
    for (const row of [...data.predictions, ...data.votes, ...data.scores, ...data.leaderboard]) expect(pseudonyms.has(row.player)).toBe(true);
  });

  it("round-trips: JSON text parsed with the schema is the same export", () => {
    const text = JSON.stringify(data, null, 2);
    expect(parseShowExport(text)).toEqual(data);
    expect(ShowExportSchema.parse(JSON.parse(text))).toEqual(data);
    expect(() => parseShowExport(JSON.stringify({ ...data, version: 2 }))).toThrow(/version 1: version/);
    expect(() => parseShowExport(JSON.stringify({ ...data, builds: [{ ...data.builds[0], createdAt: "yesterday" }] }))).toThrow(/builds\.0\.createdAt/);
  });

  it("writes one CSV per table that a spreadsheet reads back to the same rows, formulas disarmed", () => {
    const csv = toCsv(data);
    expect(Object.keys(csv)).toEqual([...EXPORT_TABLES]);
    // What each cell must read as: text as it is unless it starts like a formula, lists as JSON.
    const expectedCell = (value: unknown) =>
      value === null ? "" : typeof value === "string" ? (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value) : typeof value === "object" ? JSON.stringify(value) : String(value);
    for (const table of EXPORT_TABLES) {
      expect(csv[table].endsWith("\r\n")).toBe(true);
      const [header, ...rows] = parseCsv(csv[table]);
      expect(header).toEqual(columnsOf(table));
      const source = data[table] as Array<Record<string, unknown>>;
      expect(rows).toEqual(source.map((row) => header!.map((c) => expectedCell(row[c]))));
    }

    const playersCsv = parseCsv(csv.players);
    const nickname = playersCsv[0]!.indexOf("nickname");
    const names = playersCsv.slice(1).map((r) => r[nickname]);
    expect(names).toContain(`'=HYPERLINK("x")`);
    expect(names).toContain('Cid, "the" builder');
    expect(csv.players).toContain(`"'=HYPERLINK(""x"")"`);
    expect(csv.queue).toContain(`'=cmd|'/C calc'!A0`);
    expect(csv.queue).not.toMatch(/(^|,)=cmd/m);
    const rawText = parseCsv(csv.submissions).map((r) => r[columnsOf("submissions").indexOf("rawText")]);
    expect(rawText).toContain(MULTILINE);
  });

  it("renders a results page with everything escaped, no scripts, and nothing private", () => {
    const html = renderResultsPage(data);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain("&lt;script&gt;x&lt;/script&gt;");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("Cid, &quot;the&quot; builder");
    expect(html).toContain("=HYPERLINK(&quot;x&quot;)");
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    // Podium, verdicts with the failed derivation and phase, merges.
    expect(html).toMatch(/class="step p1"><div class="name">&lt;script&gt;x&lt;\/script&gt;<\/div><div class="dim">150 pts/);
    const failed = data.verdicts.find((v) => v.prNumber === 400002)!;
    expect(html).toContain(`✘ Hydra failure</span><br><code>${failed.failedDrv}</code> in <code>buildPhase</code>`);
    expect(html).toContain(`<td class="pr"><a href="https://github.com/NixOS/nixpkgs/pull/400001">#400001</a></td><td>hello: 1.0 -&gt; 1.1</td><td>alice</td><td><span class="pass">merged</span>`);
    for (const p of Object.values(players)) expect(html).not.toContain(p.token);
    expect(html).not.toMatch(/p-[0-9a-f]{12}/);
    expect(html).not.toContain("please build");
  });
});
