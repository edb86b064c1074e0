import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { HOST_PASSWORD, startHarness, type ShowHarness } from "../helpers/show-harness";
import { launchBrowser } from "../helpers/browser";

/**
 * Text from outside — a PR's title and author from GitHub, a nickname typed on a phone — reaches
 * every screen as text: no element, attribute or script of it gets into any page.
 */
let h: ShowHarness;
let browser: Browser;

const TITLE = "<img src=x onerror=window.__pwned=3> &amp; <b>bold</b><script>window.__pwned=8</script>";
const AUTHOR = "<svg onload=window.__pwned=5>";
/** Nicknames are capped at 24 characters; this one still runs script if it ever becomes HTML. */
const NICKNAME = "<img src onerror=__p=6>";

beforeAll(async () => {
  h = await startHarness({ web: true });
  h.kit.github.updatePullRequest(400007, { title: TITLE, author: AUTHOR });
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Nothing hostile ran, and no element of it exists. */
async function expectInert(page: Page): Promise<void> {
  const found = await page.evaluate(() => ({
    pwned: (window as { __pwned?: unknown }).__pwned ?? null,
    p: (window as { __p?: unknown }).__p ?? null,
    handlers: document.querySelectorAll("[onerror], [onload]").length,
    bold: [...document.querySelectorAll("b")].filter((b) => b.textContent === "bold").length,
  }));
  expect(found).toEqual({ pwned: null, p: null, handlers: 0, bold: 0 });
}

describe("hostile text in Chromium", () => {
  it("shows a hostile PR title, author and nickname as text on every page", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(`${h.show.url}/`);
    await phone.getByLabel("Pull request").fill("400007");
    await phone.getByLabel("Your name on the scoreboard").fill(NICKNAME);
    await phone.getByRole("button", { name: "Build it!" }).click();
    await phone.getByTestId("submit-feedback").getByText("in the queue").waitFor();
    await phone.getByText(TITLE).first().waitFor();
    await phone.getByText(NICKNAME).first().waitFor();
    await expectInert(phone);

    const stage = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await stage.goto(`${h.show.url}/stage`);
    const queued = stage.getByTestId("stage-queue-400007");
    await queued.getByText(TITLE).waitFor();
    await queued.getByText(NICKNAME, { exact: false }).waitFor();
    await expectInert(stage);

    const host = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await host.goto(`${h.show.url}/host`);
    await host.getByLabel("Host password").fill(HOST_PASSWORD);
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByText(TITLE).first().waitFor();
    await host.getByText(NICKNAME, { exact: false }).first().waitFor();
    await expectInert(host);

    // Built, the title also travels in build views: the stage's card and verdict, the PR page.
    await host.getByRole("button", { name: "Build #400007" }).click();
    await stage.getByTestId("verdict-400007").waitFor({ timeout: 180_000 });
    await stage.getByTestId("verdict-400007").getByText(TITLE).waitFor();
    await expectInert(stage);
    await expectInert(host);

    const pr = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await pr.goto(`${h.show.url}/pr/400007`);
    await pr.getByRole("heading", { level: 1 }).getByText(TITLE).waitFor();
    await pr.getByText(`by ${AUTHOR}`).waitFor();
    await pr.getByTestId("pr-build").waitFor();
    await expectInert(pr);
    await expectInert(phone);
  });
});
