import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startHarness, type ShowHarness } from "../helpers/show-harness";
import { launchBrowser, screenshotPath } from "../helpers/browser";

/** A phone at 390×844 joins by the stage's code, submits, sees a refusal's reason, upvotes. */
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

describe("the audience in Chromium", () => {
  it("joins by room code, submits, sees refusals with reasons, upvotes, and the stage follows", async () => {
    const stage = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await stage.goto(`${h.show.url}/stage`);
    const roomCode = (await stage.getByTestId("room-code").textContent())!.trim();
    expect(roomCode).toMatch(/^[A-Z]{4}$/);
    expect(await stage.getByTestId("join-panel").locator("svg").count()).toBe(1);

    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const phone = await context.newPage();
    await phone.goto(`${h.show.url}/j/${roomCode}`);
    await phone.waitForURL(`${h.show.url}/`);
    await phone.getByTestId("whoami").getByText("in the room").waitFor();

    const send = async (pr: string) => {
      await phone.getByLabel("Pull request").fill(pr);
      await phone.getByRole("button", { name: "Build it!" }).click();
      const feedback = phone.getByTestId("submit-feedback");
      await phone.waitForFunction(() => !document.querySelector("button[type=submit]")?.textContent?.includes("Sending"));
      return (await feedback.textContent()) ?? "";
    };

    expect(await send("not a pr")).toMatch(/✘/);
    expect(await send("#999999")).toMatch(/does not exist/);
    expect(await send("https://github.com/NixOS/nix/pull/1")).toMatch(/NixOS\/nixpkgs/);
    expect(await send("#400001")).toMatch(/✔ PR #400001 “hello: 1.0 -> 1.1” is in the queue/);
    await phone.getByTestId("my-submissions").getByText("does not exist").waitFor();

    // Someone else's PR: this phone upvotes it once.
    const other = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const otherPhone = await other.newPage();
    await otherPhone.goto(`${h.show.url}/`);
    await otherPhone.getByTestId("whoami").getByText("watching remotely").waitFor();
    await otherPhone.getByLabel("Pull request").fill("400007");
    await otherPhone.getByRole("button", { name: "Build it!" }).click();
    await otherPhone.getByTestId("submit-feedback").getByText("in the queue").waitFor();

    await phone.getByTestId("phone-queue-400007").waitFor();
    await phone.getByRole("button", { name: "Upvote #400007" }).click();
    await phone.getByTestId("votes-400007").getByText("2").waitFor();
    expect(await phone.getByRole("button", { name: "Upvote #400007" }).isDisabled()).toBe(true);

    // The projector shows both, with their votes.
    await stage.getByTestId("stage-queue-400007").getByText("▲ 2").waitFor();
    await stage.getByTestId("stage-queue-400001").waitFor();
    await phone.screenshot({ path: screenshotPath("phone-390x844-queue"), fullPage: true });
    await stage.screenshot({ path: screenshotPath("stage-1920x1080-queue") });
  });
});
