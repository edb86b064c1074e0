import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chatText, htmlToText, looksAimedAtTheShow } from "@/server/chat/chat-text";
import { verifyOwncastWebhook, type WebhookProof } from "@/server/chat/verify-webhook";

const SECRET = "owncast-webhook-secret";
const NOW = 1_800_000_000;
const BODY = '{"type":"CHAT","eventData":{"id":"x"}}';

function sign(body: string, t = NOW, secret = SECRET): string {
  return `t=${t}.s=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

function proof(overrides: Partial<WebhookProof>): WebhookProof {
  return { secret: SECRET, rawBody: BODY, signature: null, urlToken: null, nowSeconds: NOW, ...overrides };
}

describe("verifying an Owncast webhook", () => {
  it("accepts Owncast 0.3's signature within five minutes either way", () => {
    expect(verifyOwncastWebhook(proof({ signature: sign(BODY) }))).toEqual({ ok: true, by: "signature" });
    expect(verifyOwncastWebhook(proof({ signature: sign(BODY, NOW - 300) })).ok).toBe(true);
    expect(verifyOwncastWebhook(proof({ signature: sign(BODY, NOW + 300) })).ok).toBe(true);
  });

  it("refuses a stale or future timestamp even when the HMAC is right", () => {
    const stale = verifyOwncastWebhook(proof({ signature: sign(BODY, NOW - 301) }));
    expect(stale).toMatchObject({ ok: false, status: 401 });
    expect(stale.ok ? "" : stale.reason).toMatch(/signed 301 s away/);
    expect(verifyOwncastWebhook(proof({ signature: sign(BODY, NOW + 3600) })).ok).toBe(false);
  });

  it("refuses another secret, a changed body, a malformed header and no proof at all", () => {
    expect(verifyOwncastWebhook(proof({ signature: sign(BODY, NOW, "another secret") }))).toMatchObject({ ok: false, status: 401 });
    expect(verifyOwncastWebhook(proof({ signature: sign(BODY), rawBody: `${BODY} ` }))).toMatchObject({ ok: false, status: 401 });
    for (const header of ["t=1.s=00", `s=${"a".repeat(64)}`, `t=${NOW}`, `t=${NOW}.s=${"g".repeat(64)}`]) {
      expect(verifyOwncastWebhook(proof({ signature: header }))).toMatchObject({ ok: false, status: 401 });
    }
    const none = verifyOwncastWebhook(proof({}));
    expect(none).toMatchObject({ ok: false, status: 401 });
  });

  it("accepts the secret as ?token= for Owncast servers that cannot sign, and nothing close to it", () => {
    expect(verifyOwncastWebhook(proof({ urlToken: SECRET }))).toEqual({ ok: true, by: "token" });
    expect(verifyOwncastWebhook(proof({ urlToken: `${SECRET}x` })).ok).toBe(false);
    expect(verifyOwncastWebhook(proof({ urlToken: "" })).ok).toBe(false);
    expect(verifyOwncastWebhook(proof({ urlToken: SECRET.slice(0, -1), signature: sign(BODY) }))).toEqual({ ok: true, by: "signature" });
  });

  it("accepts nothing without OWNCAST_WEBHOOK_SECRET, and says which variable to set", () => {
    const off = verifyOwncastWebhook(proof({ secret: null, signature: sign(BODY), urlToken: SECRET }));
    expect(off).toMatchObject({ ok: false, status: 503 });
    expect(off.ok ? "" : off.reason).toContain("OWNCAST_WEBHOOK_SECRET");
  });
});

describe("what a viewer typed", () => {
  it("prefers rawBody, and falls back to the HTML body when rawBody is missing, empty or HTML", () => {
    expect(chatText({ rawBody: "#400001 please", body: "<p>ignored</p>" })).toBe("#400001 please");
    expect(chatText({ body: "<p><strong>#400001</strong></p>" })).toBe("#400001");
    expect(chatText({ rawBody: "", body: "<p>#400001</p>" })).toBe("#400001");
    expect(chatText({ rawBody: "<p>#400001</p>", body: "<p>#400001</p>" })).toBe("#400001");
    expect(chatText({})).toBe("");
  });

  it("keeps what the viewer typed: a heart is not a tag, and escaped tags stay text", () => {
    expect(chatText({ rawBody: "<3 #400001" })).toBe("<3 #400001");
    expect(htmlToText("<p>&lt;b&gt;#1&lt;/b&gt; &amp;amp; &#35;2 &#x23;3 &nbsp;x</p>")).toBe("<b>#1</b> &amp; #2 #3  x");
    expect(htmlToText("<p>one</p>\n<p>two<br>three</p>")).toBe("one\ntwo\nthree");
    expect(
      htmlToText('<p>see <a href="https://github.com/NixOS/nixpkgs/pull/1" rel="nofollow">https://github.com/NixOS/nixpkgs/pull/1</a> <img alt=":tada:" src="/e.png"></p>'),
    ).toBe("see https://github.com/NixOS/nixpkgs/pull/1");
    expect(htmlToText("&#0; &#xD800; &bogus;")).toBe("&#0; &#xD800; &bogus;");
  });

  it("tells chat aimed at the show from ordinary chat", () => {
    for (const text of ["#007", "!pr", "!pr hello", "pr 12x", "https://github.com/NixOS/nix/pull/3", "427048 428000x", "build 427048 please", "1.5"]) {
      expect([text, looksAimedAtTheShow(text)]).toEqual([text, true]);
    }
    for (const text of ["hello everyone", "I have 3 cats", "nixpkgs#hello", "C# rocks", "see you in 2026", "pr reviews are fun", "lol"]) {
      expect([text, looksAimedAtTheShow(text)]).toEqual([text, false]);
    }
  });
});
