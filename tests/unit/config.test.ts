import { describe, expect, it } from "vitest";
import { ConfigError, PROJECT_ROOT, loadConfig } from "@/server/config";

const load = (env: Record<string, string | undefined>) => loadConfig(env, {});

describe("config", () => {
  it("starts offline on an embedded SQLite file under var/ with no variables at all", () => {
    const config = load({});
    expect(config.databaseProvider).toBe("sqlite");
    expect(config.databaseUrl).toBe(`file:${PROJECT_ROOT}/var/show.db`);
    expect(config.port).toBe(3000);
    expect(config.nixpkgsRepo).toBe("NixOS/nixpkgs");
    expect(config.nixpkgsDir).toBe(`${PROJECT_ROOT}/var/nixpkgs`);
    expect(config.maxParallelBuilds).toBe(3);
    expect(config.buildTimeoutSeconds).toBe(3600);
    expect(config.githubToken).toBeNull();
    expect(config.nixSystems).toHaveLength(1);
    expect(config.nixSystems[0]).toMatch(/^[a-z0-9_]+-linux$/);
  });

  it("generates a host password when none is set, and says so", () => {
    const config = load({});
    expect(config.hostPasswordGenerated).toBe(true);
    expect(config.hostPassword.length).toBeGreaterThanOrEqual(8);
    expect(load({ HOST_PASSWORD: "correct horse" })).toMatchObject({ hostPassword: "correct horse", hostPasswordGenerated: false });
  });

  it("selects PostgreSQL from a postgres:// URL", () => {
    const config = load({ DATABASE_URL: "postgresql://app@127.0.0.1:5432/show" });
    expect(config.databaseProvider).toBe("postgresql");
    expect(config.databaseUrl).toBe("postgresql://app@127.0.0.1:5432/show");
  });

  it("parses lists and numbers", () => {
    const config = load({ NIX_SYSTEMS: "x86_64-linux, aarch64-linux", MAX_PARALLEL_BUILDS: "5", PORT: "8080", GITHUB_API_URL: "http://127.0.0.1:9/" });
    expect(config.nixSystems).toEqual(["x86_64-linux", "aarch64-linux"]);
    expect(config.maxParallelBuilds).toBe(5);
    expect(config.port).toBe(8080);
    expect(config.githubApiUrl).toBe("http://127.0.0.1:9");
  });

  it("treats an empty secret as unset", () => {
    expect(load({ GITHUB_TOKEN: "  " }).githubToken).toBeNull();
  });

  it.each([
    ["PORT", "eighty", /PORT="eighty"/],
    ["PORT", "70000", /PORT="70000"/],
    ["MAX_PARALLEL_BUILDS", "0", /MAX_PARALLEL_BUILDS="0"/],
    ["DATABASE_URL", "mysql://x", /DATABASE_URL="mysql:\/\/x": .*file:var\/show\.db/],
    ["GITHUB_API_URL", "not a url", /GITHUB_API_URL="not a url"/],
    ["NIX_SYSTEMS", "x86_64-linux,windows", /NIX_SYSTEMS=.*"windows" is not a Nix system/],
    ["NIXPKGS_REPO", "nixpkgs", /NIXPKGS_REPO="nixpkgs": owner\/name/],
    ["HOST_PASSWORD", "short", /HOST_PASSWORD="short": at least 8 characters/],
    ["CHECKOUT_MODE", "rebase", /CHECKOUT_MODE="rebase"/],
  ])("stops the boot on %s=%s with a message naming the variable", (name, value, message) => {
    expect(() => load({ [name]: value })).toThrow(ConfigError);
    expect(() => load({ [name]: value })).toThrow(message);
  });

  it("needs PostgreSQL when several processes share Redis", () => {
    expect(() => load({ REDIS_URL: "redis://127.0.0.1:6379" })).toThrow(/REDIS_URL=.*set DATABASE_URL=postgres/);
    expect(load({ REDIS_URL: "redis://127.0.0.1:6379", DATABASE_URL: "postgres://a@b/c" }).redisUrl).toBe("redis://127.0.0.1:6379");
    expect(() => load({ OWNCAST_POLL: "true" })).toThrow(/OWNCAST_POLL=.*needs OWNCAST_URL/);
  });

  it("lists every bad variable at once", () => {
    try {
      load({ PORT: "x", MAX_PARALLEL_BUILDS: "-1" });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });
});
