import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { HOST_PASSWORD, startHarness, type ShowHarness } from "../helpers/show-harness";
import { launchBrowser, screenshotPath } from "../helpers/browser";

/**
 * The thin slice in a real browser: a phone submits, the projector shows it at once, the host
 * presses Build, real nix builds it, and the projector shows the verdict.
 */
let h: ShowHarness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({ web: true, chattyLines: 1500, chattySeconds: 12 });
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function submitFromPhone(phone: Page, pr: string, nickname: string): Promise<string> {
  await phone.getByLabel("Pull request").fill(pr);
  await phone.getByLabel("Your name on the scoreboard").fill(nickname);
  await phone.getByRole("button", { name: "Build it!" }).click();
  const feedback = phone.getByTestId("submit-feedback");
  await feedback.waitFor();
  return (await feedback.textContent()) ?? "";
}

describe("the show in Chromium", () => {
  it("goes from a phone submission to a verdict on the projector", async () => {
    const stage = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await stage.goto(`${h.show.url}/stage`);
    await stage.getByText("Waiting for the host to press Build").waitFor();

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(`${h.show.url}/`);
    expect(await submitFromPhone(phone, "abc", "mallory")).toMatch(/not a PR number|PR number/i);
    expect(await submitFromPhone(phone, "https://github.com/NixOS/nixpkgs/pull/400001", "alice")).toContain("#400001");
    expect(await submitFromPhone(phone, "#400002", "bob")).toContain("#400002");
    expect(await submitFromPhone(phone, "#400004", "carol")).toContain("#400004");

    // The projector shows each submission at once, pushed over Socket.IO.
    await stage.getByTestId("stage-queue-400001").waitFor();
    await stage.getByTestId("stage-queue-400002").waitFor();
    expect(await stage.getByTestId("stage-queue-400001").textContent()).toContain("hello: 1.0 -> 1.1");
    await phone.screenshot({ path: screenshotPath("phone-390x844") });

    const host = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await host.goto(`${h.show.url}/host`);
    await host.getByLabel("Host password").fill("wrong password!");
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByRole("alert").getByText("Wrong host password").waitFor();
    await host.getByLabel("Host password").fill(HOST_PASSWORD);
    await host.getByRole("button", { name: "Sign in" }).click();

    await host.getByRole("button", { name: "Build #400001" }).click();
    await host.getByRole("button", { name: "Build #400002" }).click();
    await host.getByRole("button", { name: "Build #400004" }).click();

    // Mid-build: chatty streams its log to the projector.
    await stage.getByTestId("stage-build-400004").getByText("building").waitFor({ timeout: 60_000 });
    await stage.waitForFunction(
      () => /CC src\/module-/.test(document.querySelector('[data-testid="stage-build-400004"]')?.textContent ?? ""),
      undefined,
      { timeout: 60_000 },
    );
    await stage.screenshot({ path: screenshotPath("stage-1920x1080-mid-build") });
    await host.screenshot({ path: screenshotPath("host-1440x900") });

    const pass = stage.getByTestId("verdict-400001");
    await pass.waitFor({ timeout: 120_000 });
    expect(await pass.locator("[data-status]").first().getAttribute("data-status")).toBe("passed");

    const fail = stage.getByTestId("verdict-400002");
    await fail.waitFor({ timeout: 120_000 });
    expect(await fail.locator("[data-status]").first().getAttribute("data-status")).toBe("failed");
    expect(await fail.textContent()).toMatch(/broken-tool-[\d.]+ in buildPhase/);

    await stage.getByTestId("verdict-400004").waitFor({ timeout: 120_000 });
    await stage.screenshot({ path: screenshotPath("stage-1920x1080-verdicts") });

    // The PR page has the whole log, live, including the readable error.
    const pr = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await pr.goto(`${h.show.url}/pr/400002`);
    const fixture = h.kit.mini.pullRequests.find((p) => p.number === 400002)!;
    await pr.getByTestId("log").getByText(fixture.failure!.line).first().waitFor();
    await pr.screenshot({ path: screenshotPath("pr-400002") });
  });
});
