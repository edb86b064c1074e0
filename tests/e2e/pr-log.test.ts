import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { startHarness, type ShowHarness } from "../helpers/show-harness";
import { launchBrowser, screenshotPath } from "../helpers/browser";

/**
 * The PR page's log in Chromium: a real failing build, then a 200,000-line log planted straight
 * into the log store behind a real build of PR 400001.
 */
let h: ShowHarness;
let browser: Browser;
let bigBuildId: number;
/** Lines the build of 400001 wrote itself; the planted line i has seq base + i + 1. */
let base: number;

const PLANTED = 200_000;
const ERROR_AT = 150_001;
const ANSI_AT = 3;
const INJECTION_AT = 4;
const HOSTILE_AT = 5;
const LONG_AT = 6;
const LONG = `gcc ${Array.from({ length: 40 }, (_, k) => `-DFLAG_${k}=1`).join(" ")} -c src/long.c -o src/long.o`;
const INJECTION = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>";
const HOSTILE = "\u001b[1;32m<b>bold?</b> &amp; \u001b]8;;javascript:window.__pwned=4\u0007click\u001b]8;;\u0007\u001b[0m";
const PLANTED_ERROR = "error: planted failure in module 150001";

/** Every 10th planted line is beta's, the rest alpha's. */
const drvOf = (i: number) => (i % 10 === 0 ? "beta-2.0" : "alpha-1.0");
const textOf = (i: number) =>
  i === ERROR_AT
    ? PLANTED_ERROR
    : i === ANSI_AT
      ? "\u001b[31mred\u001b[0m and plain"
      : i === INJECTION_AT
        ? INJECTION
        : i === HOSTILE_AT
          ? HOSTILE
          : i === LONG_AT
            ? LONG
            : `CC src/module-${i}.c`;

beforeAll(async () => {
  h = await startHarness({ web: true });
  browser = await launchBrowser();
  const { intake, builds, logs } = h.show.context;
  await submitPullRequest(intake, { source: "web", text: "#400001", nickname: "alice" });
  await submitPullRequest(intake, { source: "web", text: "#400002", nickname: "bob" });
  const [big] = await builds.startBuild(400001);
  await builds.startBuild(400002);
  await builds.idle();
  bigBuildId = big!.id;
  base = logs.count(bigBuildId);
  for (let i = 0; i < PLANTED - base; i++) logs.append(bigBuildId, drvOf(i), textOf(i));
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Seqs of the rows inside the log's visible box. */
function visibleSeqs(page: Page): Promise<number[]> {
  return page.getByTestId("log").evaluate((el) => {
    const box = el.getBoundingClientRect();
    return [...el.querySelectorAll<HTMLElement>("[data-seq]")]
      .filter((row) => {
        const r = row.getBoundingClientRect();
        return r.bottom > box.top + 2 && r.top < box.bottom - 2;
      })
      .map((row) => Number(row.dataset.seq));
  });
}

async function waitForCount(page: Page, text: string): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('[data-testid="log-count"]')?.textContent === t, text, { timeout: 120_000 });
}

const rowCount = (page: Page) => page.getByTestId("log").locator("[data-seq]").count();

async function scrollLogTo(page: Page, fraction: number): Promise<void> {
  await page.getByTestId("log").evaluate((el, f) => {
    el.scrollTop = (el.scrollHeight - el.clientHeight) * f;
  }, fraction);
}

/** The seq of the row in the middle of the log's box, once React has rendered it. */
async function centreSeq(page: Page, near: number, within: number): Promise<number> {
  const handle = await page.waitForFunction(
    ([n, w]) => {
      const el = document.querySelector('[data-testid="log"]')!;
      const box = el.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + 40, box.top + box.height / 2)?.closest<HTMLElement>("[data-seq]");
      const seq = Number(hit?.dataset.seq);
      return Math.abs(seq - n) <= w ? seq : null;
    },
    [near, within] as const,
    { timeout: 10_000 },
  );
  return (await handle.jsonValue()) as number;
}

describe("the PR page's log", () => {
  it("shows a failing build's log with its first error, and offers the raw log", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${h.show.url}/pr/400002`);
    const fixture = h.kit.mini.pullRequests.find((p) => p.number === 400002)!;
    await page.getByTestId("log").getByText(fixture.failure!.line).waitFor();
    await page.getByTestId("pr-build-error").waitFor();

    const jump = page.getByRole("button", { name: /Jump to first error/ });
    await jump.click();
    const firstError = page.locator("[data-first-error]");
    expect(await firstError.textContent()).toContain(fixture.failure!.line);

    const raw = await page.request.get(`${h.show.url}${await page.getByRole("link", { name: "Download raw log" }).getAttribute("href")}`);
    expect(raw.headers()["content-disposition"]).toMatch(/attachment/);
    expect(await raw.text()).toContain(fixture.failure!.line);
    await page.screenshot({ path: screenshotPath("pr-400002-log"), fullPage: true });
    await page.close();

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(`${h.show.url}/pr/400002`);
    await phone.getByTestId("log").getByText(fixture.failure!.line).waitFor();
    await phone.screenshot({ path: screenshotPath("pr-400002-phone"), fullPage: true });
    await phone.close();
  });

  it("follows a live log to its end, fills a gap in what was pushed, and stops following when scrolled up", async () => {
    const { builds, logs, events } = h.show.context;
    const build = (await builds.buildsOfPr(400002))[0]!;
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${h.show.url}/pr/400002`);
    const before = logs.count(build.id);
    await page.waitForFunction((n) => document.querySelector(`[data-testid="log"] [data-seq="${n}"]`), before);

    const push = (text: string, broadcast: boolean) => {
      const line = logs.append(build.id, "broken-tool-1.0", text)!;
      if (broadcast) events.emit("build-log", { buildId: build.id, line });
      return line.seq;
    };
    for (let i = 0; i < 300; i++) push(`live line ${i}`, true);
    // Stored but never pushed (a dropped broadcast): the next pushed chunk starts after a gap.
    for (let i = 300; i < 350; i++) push(`live line ${i}`, false);
    let last = 0;
    for (let i = 350; i < 400; i++) last = push(`live line ${i}`, true);

    await page.waitForFunction((n) => document.querySelector(`[data-testid="log"] [data-seq="${n}"]`), last);
    expect(Math.max(...(await visibleSeqs(page)))).toBe(last);
    expect(await page.locator(`[data-seq="${before + 325}"]`).count()).toBe(0); // virtualised away, but…
    await waitForCount(page, `${last} lines`); // …every line is there, the gap included

    await scrollLogTo(page, 0.3);
    await page.waitForFunction(() => document.querySelector('[aria-pressed="false"]')?.textContent === "Follow");
    const shown = await visibleSeqs(page);
    for (let i = 400; i < 450; i++) last = push(`live line ${i}`, true);
    await waitForCount(page, `${last} lines`);
    expect(await visibleSeqs(page)).toEqual(shown);

    await page.getByRole("button", { name: "Follow", exact: true }).click();
    await page.waitForFunction((n) => document.querySelector(`[data-testid="log"] [data-seq="${n}"]`), last);
    expect(Math.max(...(await visibleSeqs(page)))).toBe(last);
    await page.close();
  });

  it("keeps 200,000 lines smooth: a bounded DOM, the right lines anywhere, error jump, filter", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${h.show.url}/pr/400001`);
    await waitForCount(page, "200,000 lines");

    // Follow mode shows the end, and only a window of rows is in the DOM.
    await page.waitForFunction(() => document.querySelector('[data-testid="log"] [data-seq="200000"]'));
    expect(Math.max(...(await visibleSeqs(page)))).toBe(200_000);
    expect(await rowCount(page)).toBeLessThan(500);
    expect(await page.getByRole("button", { name: "Follow", exact: true }).getAttribute("aria-pressed")).toBe("true");
    await page.screenshot({ path: screenshotPath("pr-log-200k-end") });

    // The middle: the rows there are the lines with those seqs, in order.
    await scrollLogTo(page, 0.5);
    const middle = await centreSeq(page, 100_000, 100);
    const seqs = await visibleSeqs(page);
    expect(seqs).toContain(middle);
    expect(seqs).toEqual(seqs.map((_, k) => seqs[0]! + k));
    for (const seq of [seqs[0]!, middle, seqs[seqs.length - 1]!]) {
      const i = seq - base - 1;
      expect(await page.locator(`[data-seq="${seq}"]`).textContent()).toBe(`${seq}${drvOf(i)}> ${textOf(i)}`);
    }
    expect(await rowCount(page)).toBeLessThan(500);
    // Scrolling up stopped following.
    expect(await page.getByRole("button", { name: "Follow", exact: true }).getAttribute("aria-pressed")).toBe("false");

    // Jump to the planted error, highlighted.
    const errorSeq = base + ERROR_AT + 1;
    const jump = page.getByRole("button", { name: `Jump to first error (line ${errorSeq.toLocaleString("en-US")})` });
    await jump.click();
    const firstError = page.locator("[data-first-error]");
    await firstError.waitFor();
    expect(await firstError.getAttribute("data-seq")).toBe(String(errorSeq));
    expect(await firstError.textContent()).toContain(PLANTED_ERROR);
    expect(await visibleSeqs(page)).toContain(errorSeq);
    await page.screenshot({ path: screenshotPath("pr-log-200k-error") });

    // Filter by derivation: only beta's lines, still virtualised, the error line (alpha's) gone.
    await page.getByLabel("Derivation").selectOption({ label: "beta-2.0 (20,000)" });
    await waitForCount(page, "20,000 of 200,000 lines");
    const prefixes = await page.getByTestId("log").locator("[data-seq]").evaluateAll((rows) => rows.map((r) => r.textContent ?? ""));
    expect(prefixes.length).toBeGreaterThan(10);
    expect(prefixes.length).toBeLessThan(500);
    expect(prefixes.filter((t) => !/^\d+beta-2\.0> CC src\/module-\d*0\.c$/.test(t))).toEqual([]);
    expect(await page.getByRole("button", { name: /Jump to first error/ }).count()).toBe(0);
    await page.getByLabel("Derivation").selectOption({ label: "all lines" });
    await waitForCount(page, "200,000 lines");

    // Back to the top: colours render as coloured spans, and HTML in a line stays text.
    await scrollLogTo(page, 0);
    const ansiRow = page.locator(`[data-seq="${base + ANSI_AT + 1}"]`);
    await ansiRow.waitFor();
    await page.screenshot({ path: screenshotPath("pr-log-200k-top") });
    const red = await ansiRow.evaluate((row) => {
      const span = [...row.querySelectorAll("span")].find((s) => s.textContent === "red");
      return span ? { colour: getComputedStyle(span).color, text: row.textContent ?? "" } : null;
    });
    expect(red).not.toBeNull();
    const [r, g, b] = red!.colour.match(/\d+/g)!.map(Number);
    expect(r).toBeGreaterThan(180);
    expect(r! - Math.max(g!, b!)).toBeGreaterThan(80);
    expect(red!.text).toBe(`${base + ANSI_AT + 1}alpha-1.0> red and plain`);
    expect(red!.text).not.toMatch(/\u001b|\[31m|\[0m/);

    const injected = page.locator(`[data-seq="${base + INJECTION_AT + 1}"]`);
    expect(await injected.textContent()).toBe(`${base + INJECTION_AT + 1}alpha-1.0> ${INJECTION}`);
    await page.getByTestId("log").getByText(INJECTION).waitFor();
    const hostile = page.locator(`[data-seq="${base + HOSTILE_AT + 1}"]`);
    expect(await hostile.textContent()).toBe(`${base + HOSTILE_AT + 1}alpha-1.0> <b>bold?</b> &amp; click`);
    expect(await page.getByTestId("log").locator("img, script, a, b").count()).toBe(0);
    expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
    await page.close();
  });

  it("says when the store cut the log short, and ends with the build's last lines", async () => {
    const { logs } = h.show.context;
    for (let i = 0; i < 150; i++) logs.append(bigBuildId, "alpha-1.0", `tail line ${i}`);
    logs.close(bigBuildId);
    const total = logs.count(bigBuildId);
    expect(total).toBeGreaterThan(PLANTED + 1);

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${h.show.url}/pr/400001`);
    await page.getByTestId("log-truncated").waitFor({ timeout: 120_000 });
    await page.waitForFunction((n) => document.querySelector(`[data-testid="log"] [data-seq="${n}"]`), total, { timeout: 120_000 });
    expect(await page.locator(`[data-seq="${total}"]`).textContent()).toContain("tail line 149");

    await page.getByRole("button", { name: "show the cut" }).click();
    const marker = page.locator("[data-truncated]");
    await marker.waitFor();
    expect(await marker.getAttribute("data-seq")).toBe(String(PLANTED + 1));
    expect(await marker.textContent()).toMatch(/log truncated after 200,000 lines/);
    await page.screenshot({ path: screenshotPath("pr-log-truncated") });
    await page.close();
  });
});
