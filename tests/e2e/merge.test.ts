import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { ensureNextBuild } from "@/server/ensure-next-build";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { HOST_PASSWORD, startHarness, type ShowHarness } from "../helpers/show-harness";
import { launchBrowser, screenshotPath } from "../helpers/browser";

/**
 * Approve-and-merge in a real browser: a committer signs in on the host console with GitHub's
 * device flow (entering the code on the stand-in's github.com page, as on a phone), the checklist
 * turns all ✅ for a PR that passed on stage, the button enqueues it, and the projector celebrates
 * when the merge queue has merged it.
 */
const COMMITTER = "nix-committer";
let h: ShowHarness;
let browser: Browser;

beforeAll(async () => {
  ensureNextBuild();
  h = await startHarness({ web: true });
  h.kit.github.setDeviceFlowTiming({ interval: 1 });
  await submitPullRequest(h.show.context.intake, { source: "web", text: "#400001", nickname: "alice", deviceToken: "device-alice", remote: false });
  await h.show.context.builds.startBuild(400001);
  await h.show.context.builds.idle();
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe("approve and merge in Chromium", () => {
  it("goes from a maintainer's sign-in to “merged” on the projector", async () => {
    const stage = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await stage.goto(`${h.show.url}/stage`);

    const host = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await host.goto(`${h.show.url}/host`);
    await host.getByLabel("Host password").fill(HOST_PASSWORD);
    await host.getByRole("button", { name: "Sign in" }).click();
    const panel = host.getByTestId("merge-panel");
    await panel.waitFor();

    // The committer signs in: the console shows a code, they enter it on "github.com" from a phone.
    await panel.getByRole("button", { name: "Sign in a maintainer with GitHub" }).click();
    const code = (await panel.getByTestId("device-code").textContent())?.trim() ?? "";
    expect(code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const verificationUri = await panel.getByRole("link", { name: /\/login\/device$/ }).getAttribute("href");
    expect(verificationUri).toBe(`${h.kit.github.webUrl}/login/device`);
    await host.screenshot({ path: screenshotPath("host-merge-device-code") });

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.goto(verificationUri!);
    await phone.getByLabel("Code").fill(code);
    await phone.getByLabel("GitHub login").fill(COMMITTER);
    await phone.getByRole("button", { name: "Authorize" }).click();
    await phone.getByText(`Device authorized as ${COMMITTER}`).waitFor();

    const maintainer = panel.getByTestId(`maintainer-${COMMITTER}`);
    await maintainer.waitFor({ timeout: 30_000 });
    expect(await maintainer.textContent()).toContain("can push to NixOS/nixpkgs");
    await maintainer.getByRole("img", { name: "✅" }).waitFor();

    // The checklist, asked of GitHub, is all ✅ for the PR that passed on stage.
    await panel.getByRole("button", { name: "Check #400001" }).click();
    const checklist = panel.getByTestId("merge-checklist");
    await checklist.waitFor();
    expect(await checklist.locator("[data-ok]").evaluateAll((lines) => lines.map((l) => l.getAttribute("data-ok")))).toEqual(Array(7).fill("true"));
    const button = panel.getByRole("button", { name: "Approve & merge #400001" });
    expect(await button.isEnabled()).toBe(true);
    await host.screenshot({ path: screenshotPath("host-merge-checklist") });

    await button.click();
    await panel.getByTestId("merge-message").getByText(/In the merge queue at position 1/).waitFor({ timeout: 30_000 });
    await stage.getByTestId("merge-queue-strip").waitFor({ timeout: 30_000 });

    const moment = stage.getByTestId("merge-celebration-400001");
    await moment.waitFor({ timeout: 90_000 });
    expect(await moment.textContent()).toMatch(/LGTM · merged.*#400001.*approved by @nix-committer.*alice/);
    await stage.screenshot({ path: screenshotPath("stage-1920x1080-merged") });

    expect(h.kit.github.mergeState(400001)).toMatchObject({ merged: true, mergedVia: "merge-queue" });
    await panel.getByTestId("merge-400001").and(host.locator('[data-state="merged"]')).waitFor({ timeout: 30_000 });
    const audit = await panel.getByTestId("merge-audit").textContent();
    expect(audit).toMatch(/#400001.*@nix-committer.*enqueue.*ok/);
    await host.screenshot({ path: screenshotPath("host-1440x900-merged") });
  });
});
