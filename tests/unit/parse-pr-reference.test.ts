import { describe, expect, it } from "vitest";
import {
  parsePrReference,
  parsePrReferences,
  type PrReferenceOptions,
} from "@/server/intake/parse-pr-reference";

const opts: PrReferenceOptions = { repo: "NixOS/nixpkgs" };

type Row = [input: string, expected: number[] | string];

// What a phone-form or web submitter sees: the numbers accepted, or a fragment of the reason.
const fieldCases: Row[] = [
  ["427048", [427048]],
  ["  427048\n", [427048]],
  ["#427048", [427048]],
  ["pr 427048", [427048]],
  ["PR #427048", [427048]],
  ["!pr 427048", [427048]],
  ["PR: 427048", [427048]],
  ["pr#427048", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048/files", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048/commits", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048/checks", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048/", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048?notification_referrer_id=abc", [427048]],
  ["https://github.com/NixOS/nixpkgs/pull/427048#issuecomment-123", [427048]],
  ["http://github.com/NixOS/nixpkgs/pull/427048", [427048]],
  ["https://www.github.com/NixOS/nixpkgs/pull/427048", [427048]],
  ["github.com/NixOS/nixpkgs/pull/1", [1]],
  ["HTTPS://GITHUB.COM/nixos/NIXPKGS/pull/427048", [427048]],
  ["<https://github.com/NixOS/nixpkgs/pull/427048>", [427048]],
  ["nixpkgs#427048", [427048]],
  ["NixOS/nixpkgs#427048", [427048]],
  ["nixos/Nixpkgs#427048", [427048]],
  ["#427048.", [427048]],
  ["10000000", [10_000_000]],
  ["https://github.com/NixOS/nix/pull/1", "only NixOS/nixpkgs pull requests"],
  ["home-manager#12", "only NixOS/nixpkgs pull requests"],
  ["nix-community/nixpkgs#12", "only NixOS/nixpkgs pull requests"],
  ["https://github.com/NixOS/nixpkgs/issues/1", "is not a PR number"],
  ["https://github.com/NixOS/nixpkgs/pull/", "has no PR number"],
  ["https://evil.example/NixOS/nixpkgs/pull/1", "is not a PR number"],
  ["nixpkgs#hello", "is not a PR number"],
  ["", "empty"],
  ["   \t ", "empty"],
  ["0", "PR numbers start at 1"],
  ["#0", "PR numbers start at 1"],
  ["-5", "is negative"],
  ["+5", "starts with “+”"],
  ["1.5", "whole number"],
  ["427,048", "without separators"],
  ["1e5", "exponent"],
  ["0x10", "is not a PR number"],
  ["007", "did you mean #7?"],
  ["#0427048", "did you mean #427048?"],
  ["10000001", "above the highest PR number"],
  ["123456789", "at most 8 digits"],
  ["99999999999999999999", "at most 8 digits"],
  ["٤٢٧٠٤٨", "digits other than 0-9"],
  ["４２７０４８", "digits other than 0-9"],
  ["#４２７", "digits other than 0-9"],
  ["¹²³", "digits other than 0-9"],
  ["42\u00B3", "digits other than 0-9"],
  ["427\u200D048", "invisible characters"],
  ["#427\u200B048", "invisible characters"],
  ["\u2060427048", "invisible characters"],
  ["\u202E840724", "right-to-left"],
  ["427048\u2067", "right-to-left"],
  ["<script>alert(1)</script>", "HTML"],
  ["<b>#42</b>", "HTML"],
  ["<img src=x onerror=alert(1)>", "HTML"],
  ["1; DROP TABLE submissions;--", "“DROP” is not a PR number"],
  ["$(rm -rf /)", "is not a PR number"],
  ["`id`", "“id” is not a PR number"],
  ["427048 && reboot", "“&&” is not a PR number"],
  ["427048; reboot", "“reboot” is not a PR number"],
  ["#1 #2", "one PR at a time"],
  ["!pr 1 2", "one PR at a time"],
  ["pr", "needs a PR number"],
  ["!pr abc", "“abc” is not a PR number"],
  ["abc", "“abc” is not a PR number: send something like 427048 or #427048"],
  ["#1st", "is not a PR number"],
  ["x".repeat(10_240), "far too long"],
  ["4".repeat(10_240), "far too long"],
];

// What an Owncast chat sender gets.
const chatCases: Row[] = [
  ["427048", [427048]],
  ["1 2", [1, 2]],
  ["!pr 1 2", [1, 2]],
  ["!PR 1, 2, 3", [1, 2, 3]],
  ["#1 and #2", [1, 2]],
  ["#1, #2 and #1 again", [1, 2]],
  ["please build #427048!", [427048]],
  ["(#427048)", [427048]],
  ["**#427048**", [427048]],
  ["`#427048`", [427048]],
  ["try PR #427048 tonight", [427048]],
  [
    "https://github.com/NixOS/nixpkgs/pull/1 https://github.com/NixOS/nixpkgs/pull/2/files",
    [1, 2],
  ],
  ["[this one](https://github.com/NixOS/nixpkgs/pull/427048)", [427048]],
  ["nixpkgs#1 NixOS/nixpkgs#2", [1, 2]],
  ["#1 👨\u200D👩\u200D👧 #2", [1, 2]],
  ["nix run nixpkgs#hello works, now build #5", [5]],
  ["we're #nixos fans, #7", [7]],
  ["I have 3 cats", "numbers inside a sentence don't count: write #3"],
  ["427048 && reboot", "numbers inside a sentence don't count"],
  ["1; DROP TABLE submissions;--", "numbers inside a sentence don't count"],
  ["hello there", "no PR reference found"],
  ["10/10 would build again", "no PR reference found"],
  ["I have 0 cats", "no PR reference found"],
  ["$(rm -rf /)", "no PR reference found"],
  ["`id`", "no PR reference found"],
  ["#1 and home-manager#12", "only NixOS/nixpkgs pull requests"],
  ["#1 and #0", "PR numbers start at 1"],
  ["1 2 -3", "is negative"],
  ["!pr", "needs a PR number"],
  ["!pr soon", "“soon” is not a PR number"],
  ["!pr 1.5", "whole number"],
  ["pr 1e5", "exponent"],
  ["1 2 3 4 5 6", "at most 5 PRs per message (this one has 6)"],
  ["#1 #2 #3 #4 #5 #1", [1, 2, 3, 4, 5]],
  ["<b>#42</b>", "HTML"],
  ["<script>alert(1)</script>", "HTML"],
  ["#42 <3", [42]],
  ["\u202Ebuild #427048", "right-to-left"],
  ["#427\u200D048", "invisible characters"],
  ["٤٢٧٠٤٨", "digits other than 0-9"],
  ["#99999999999999999999", "at most 8 digits"],
  ["   ", "empty"],
];

describe("parsePrReference (form field)", () => {
  it.each(fieldCases)("%j → %j", (input, expected) => {
    const result = parsePrReference(input, opts);
    if (Array.isArray(expected)) {
      expect(result).toEqual({ ok: true, numbers: expected });
    } else {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toContain(expected);
    }
  });

  it("names the repository from the options, compared case-insensitively", () => {
    const homeManager = { repo: "nix-community/home-manager" };
    expect(parsePrReference("home-manager#12", homeManager)).toEqual({ ok: true, numbers: [12] });
    expect(parsePrReference("NixOS/nixpkgs#12", homeManager)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("only nix-community/home-manager pull requests"),
    });
  });

  it("honours maxPrNumber", () => {
    expect(parsePrReference("500", { ...opts, maxPrNumber: 499 })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("above the highest PR number taken here (499)"),
    });
  });

  it("keeps quoted input short in the reason", () => {
    const result = parsePrReference(`${"a".repeat(500)} 1`, opts);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeLessThan(120);
  });
});

describe("parsePrReferences (chat message)", () => {
  it.each(chatCases)("%j → %j", (input, expected) => {
    const result = parsePrReferences(input, opts);
    if (Array.isArray(expected)) {
      expect(result).toEqual({ ok: true, numbers: expected });
    } else {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toContain(expected);
    }
  });

  it("honours maxPerMessage", () => {
    expect(parsePrReferences("#1 #2 #3", { ...opts, maxPerMessage: 2 })).toMatchObject({ ok: false });
    expect(parsePrReferences("#1 #2", { ...opts, maxPerMessage: 2 })).toEqual({ ok: true, numbers: [1, 2] });
  });

  it("reads only the first 2,000 characters of a long message and says so", () => {
    const padded = `#427048 ${"blah ".repeat(2_000)}#5`;
    expect(parsePrReferences(padded, opts)).toEqual({ ok: true, numbers: [427048], truncated: true });

    const noReference = "x".repeat(10_240);
    expect(parsePrReferences(noReference, opts)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("only the first 2,000 characters were read"),
    });
  });

  it("never reads half a number at the cut", () => {
    // 1,997 characters of prose, a space, then "#1234" straddling character 2,000.
    const text = `${"y".repeat(1_996)} #1234`;
    expect(text.indexOf("#1234")).toBe(1_997);
    const result = parsePrReferences(text, opts);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toContain("#12");
  });

  it("handles hostile long inputs quickly", () => {
    const inputs = [
      "<".repeat(10_240),
      "<a".repeat(5_120),
      "#".repeat(10_240),
      "1".repeat(10_240),
      "github.com/".repeat(1_000),
      "{,".repeat(5_000),
      `${"\u200D".repeat(5_000)}1`,
    ];
    for (const input of inputs) {
      const start = performance.now();
      expect(parsePrReferences(input, opts).ok).toBe(false);
      expect(parsePrReference(input, opts).ok).toBe(false);
      // Generous bound: a catastrophic regex would take seconds or hang.
      expect(performance.now() - start).toBeLessThan(500);
    }
  });
});
