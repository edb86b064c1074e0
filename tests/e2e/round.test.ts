import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { HOST_PASSWORD, startHarness, type ShowHarness } from "../helpers/show-harness";
import { launchBrowser, screenshotPath } from "../helpers/browser";

/** A whole round with a projector, two phones and the host open at once. */
let h: ShowHarness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({ web: true });
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function phone(name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${h.show.url}/`);
  await page.getByTestId("whoami").waitFor();
  await page.getByLabel("Your name on the scoreboard").fill(name);
  await page.getByLabel("Your name on the scoreboard").blur();
  await page.getByTestId("whoami").getByText(name).waitFor();
  return page;
}

describe("a round of the game in Chromium", () => {
  it("submit, predict, build, verdict, points, podium", async () => {
    const stage = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await stage.goto(`${h.show.url}/stage`);
    const host = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await host.goto(`${h.show.url}/host`);
    await host.getByLabel("Host password").fill(HOST_PASSWORD);
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByRole("button", { name: /Round timer|2 min/ }).first().waitFor();

    const ada = await phone("ada");
    const bea = await phone("bea");
    await ada.getByLabel("Pull request").fill("#400002");
    await ada.getByRole("button", { name: "Build it!" }).click();
    await ada.getByTestId("submit-feedback").getByText("in the queue").waitFor();

    // Predictions: ada believes in her PR, bea expects a Hydra failure.
    await ada.getByTestId("phone-queue-400002").getByRole("button", { name: /It builds/ }).click();
    await bea.getByTestId("phone-queue-400002").getByRole("button", { name: /Hydra failure/ }).click();
    await bea.getByTestId("phone-queue-400002").getByRole("button", { name: /Hydra failure · 1/ }).waitFor();
    await stage.getByTestId("stage-queue-400002").getByText("✔ 1 / ✘ 1").waitFor();

    await host.getByRole("button", { name: "2 min" }).click();
    await stage.getByTestId("round-timer").waitFor();
    await bea.getByTestId("standing").getByText(/round ends in/).waitFor();

    await host.getByRole("button", { name: "Build #400002" }).click();
    await stage.getByTestId("moment-fail").waitFor({ timeout: 120_000 });
    expect(await stage.getByTestId("moment-fail").textContent()).toMatch(/HYDRA FAILURE.*#400002.*broken-tool-[\d.]+ failed in buildPhase/);
    await stage.screenshot({ path: screenshotPath("stage-1920x1080-hydra-failure") });

    // bea called it: 100 points, first on the projector and on her phone.
    await stage.getByTestId("leaderboard").getByText("bea").waitFor();
    await bea.getByTestId("standing").getByText(/#1 of 1 · 100 points/).waitFor();
    await ada.getByTestId("standing").getByText(/Not on the board yet · 0 points/).waitFor();
    // The verdict is in (phones get the queue at most twice a second): no more predicting on that PR.
    await ada.getByTestId("phone-queue-400002").locator('[data-status="failed"]').waitFor();
    expect(await ada.getByTestId("phone-queue-400002").getByRole("button", { name: /It builds/ }).count()).toBe(0);
    await bea.screenshot({ path: screenshotPath("phone-390x844-points"), fullPage: true });

    await host.getByRole("button", { name: "Reveal podium" }).click();
    await stage.getByTestId("podium").getByText("bea").waitFor();
    await bea.getByTestId("podium").waitFor();
    await stage.getByTestId("moment-fail").waitFor({ state: "detached", timeout: 30_000 });
    await stage.screenshot({ path: screenshotPath("stage-1920x1080-podium") });
    await host.screenshot({ path: screenshotPath("host-1440x900-round"), fullPage: true });

    // A reload rebuilds everything from the snapshot.
    await stage.reload();
    await stage.getByTestId("podium").getByText("bea").waitFor();
    await stage.getByTestId("verdict-400002").waitFor();
  });
});
