import { describe, expect, it } from "vitest";
import { minimumRebuilds } from "@/server/intake/eligibility";
import { SubmissionLimiter, TokenBuckets, parseBucketRule } from "@/server/intake/rate-limit";
import { ROOM_CODE_ALPHABET, generateRoomCode, normaliseRoomCode } from "@/server/show/show-settings";
import { cleanNickname, MAX_NICKNAME_LENGTH } from "@/server/intake/nickname";

describe("rebuild labels", () => {
  it.each<[string[], number | null]>([
    [[], null],
    [["10.rebuild-linux: 0"], 0],
    [["10.rebuild-linux: 1", "10.rebuild-linux: 1-10"], 1],
    [["10.rebuild-linux: 11-100"], 11],
    [["10.rebuild-linux: 501+", "10.rebuild-linux: 501-1000"], 501],
    [["10.rebuild-linux: 5001+", "10.rebuild-darwin: 1"], 5001],
    [["10.rebuild-darwin: 5001+"], null],
    [["10.rebuild-linux-stdenv"], null],
  ])("%j guarantees at least %s Linux rebuilds", (labels, expected) => {
    expect(minimumRebuilds(labels)).toBe(expected);
  });
});

describe("token buckets", () => {
  it("parses rates and refuses nonsense", () => {
    expect(parseBucketRule("5/60s")).toEqual({ capacity: 5, windowMs: 60_000 });
    expect(parseBucketRule(" 50 / 1s ")).toEqual({ capacity: 50, windowMs: 1000 });
    for (const bad of ["5", "0/1s", "5/0s", "-1/5s", "5/60", "five/60s"]) expect(parseBucketRule(bad)).toBeNull();
  });

  it("allows a burst of `capacity`, then says how long to wait, then refills", () => {
    let now = 0;
    const buckets = new TokenBuckets({ capacity: 3, windowMs: 30_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(buckets.waitFor("a")).toBe(0);
      buckets.take("a");
    }
    expect(buckets.waitFor("a")).toBe(10_000);
    expect(buckets.waitFor("b")).toBe(0);
    now = 10_000;
    expect(buckets.waitFor("a")).toBe(0);
  });

  it("checks device, IP and the whole show together and names the limit that stopped it", () => {
    let now = 0;
    const limiter = new SubmissionLimiter(
      { device: { capacity: 2, windowMs: 10_000 }, ip: { capacity: 3, windowMs: 10_000 }, global: { capacity: 100, windowMs: 1000 } },
      () => now,
    );
    expect(limiter.check({ device: "d1", ip: "1.1.1.1" })).toBeNull();
    expect(limiter.check({ device: "d1", ip: "1.1.1.1" })).toBeNull();
    expect(limiter.check({ device: "d1", ip: "1.1.1.1" })).toMatchObject({ limit: "device" });
    expect(limiter.check({ device: "d2", ip: "1.1.1.1" })).toBeNull();
    expect(limiter.check({ device: "d3", ip: "1.1.1.1" })).toMatchObject({ limit: "ip" });
    now = 10_000;
    expect(limiter.check({ device: "d3", ip: "1.1.1.1" })).toBeNull();
  });
});

describe("room codes and nicknames", () => {
  it("uses only letters nobody misreads", () => {
    for (const c of "0O1IL8B5S2Z") expect(ROOM_CODE_ALPHABET).not.toContain(c);
    for (let i = 0; i < 50; i++) expect(generateRoomCode()).toMatch(new RegExp(`^[${ROOM_CODE_ALPHABET}]{4}$`));
    expect(normaliseRoomCode(" ab-cd ")).toBe("ABCD");
  });

  it("strips control, zero-width and bidi characters, caps the length, generates one when empty", () => {
    expect(cleanNickname("  ali\u200bce\u202e ")).toBe("alice");
    expect(cleanNickname("a\u0000b\u0007c")).toBe("abc");
    expect([...cleanNickname("x".repeat(100))]).toHaveLength(MAX_NICKNAME_LENGTH);
    expect(cleanNickname("\u200b\u200b")).toMatch(/^[A-Z][a-z]+[A-Z][a-z]+\d{2}$/);
    expect(cleanNickname("<script>alert(1)</script>")).toBe("<script>alert(1)</script>".slice(0, MAX_NICKNAME_LENGTH));
  });
});

describe("the join URL", () => {
  it("prefers PUBLIC_URL, then the projector's own host, and never offers loopback to phones", async () => {
    const { audienceBaseUrl } = await import("@/server/show/join-url");
    expect(audienceBaseUrl("https://show.example.org", "localhost:3000")).toBe("https://show.example.org");
    expect(audienceBaseUrl(null, "192.168.1.20:3000")).toBe("http://192.168.1.20:3000");
    expect(audienceBaseUrl(null, "localhost:3000")).not.toMatch(/localhost|127\.0\.0\.1/);
    expect(audienceBaseUrl(null, "127.0.0.1:4000")).toMatch(/:4000$/);
  });
});

describe("the intake's cache of PR facts", () => {
  it("reuses facts within the TTL, shares one request between concurrent lookups, and asks again after", async () => {
    const { cachePullRequestFacts } = await import("@/server/github/pr-facts-cache");
    let now = 0;
    let calls = 0;
    const fetch = async (n: number) => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 5));
      return { number: n, calls } as never;
    };
    const cached = cachePullRequestFacts(fetch, { ttlMs: 30_000, now: () => now });
    const [a, b] = await Promise.all([cached(1), cached(1)]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    now = 29_999;
    await cached(1);
    expect(calls).toBe(1);
    now = 30_000;
    await cached(1);
    expect(calls).toBe(2);
    await expect(cachePullRequestFacts(async () => Promise.reject(new Error("down")), { ttlMs: 1000 })(1)).rejects.toThrow("down");
  });
});
