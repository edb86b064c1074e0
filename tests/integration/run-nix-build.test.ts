import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/errors";
import { InternalJsonParser, type DerivationStatus } from "../../server/builds/parse-internal-json";
import { nixBuildArgs, runNixBuild, type NixBuildRequest } from "../../server/builds/run-nix-build";

const FIXTURE_DIR = path.join(import.meta.dirname, "../fixtures/internal-json");

/** Runs real nix on fixture.nix with a fresh salt, offline, and parses what it prints. */
function runFixture(attrs: string[], overrides: Partial<NixBuildRequest> = {}) {
  const parser = new InternalJsonParser();
  const lines: string[] = [];
  let onBuilderPid: (pid: number) => void = () => {};
  const builderPid = new Promise<number>((resolve) => (onBuilderPid = resolve));
  const running = runNixBuild({
    cwd: FIXTURE_DIR,
    file: "fixture.nix",
    attrs,
    timeoutMs: 60_000,
    extraArgs: ["--option", "substituters", "", "--argstr", "salt", randomBytes(8).toString("hex")],
    onLine: (line) => {
      lines.push(line);
      for (const event of parser.push(line)) {
        const pid = event.type === "log" ? /^builder-pid (\d+)$/.exec(event.line)?.[1] : undefined;
        if (pid) onBuilderPid(Number(pid));
      }
    },
    ...overrides,
  });
  const finished = running.done.then((outcome) => {
    parser.finish(outcome.exitCode);
    return { outcome, snapshot: parser.snapshot(), lines };
  });
  return { running, finished, builderPid };
}

function named(derivations: DerivationStatus[], name: string): DerivationStatus | undefined {
  return derivations.find((d) => d.name === name);
}

/** True while any process is left in the group (negative) or with the pid, zombies included. */
function alive(pidOrGroup: number): boolean {
  try {
    process.kill(pidOrGroup, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while a living (not zombie) process is in the group. Orphans killed with the group are
 * reaped by init, which here can take a second; until then kill(-pgid, 0) still finds them.
 */
function livingInGroup(pgid: number): boolean {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .some((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(pgrp) === pgid && state !== "Z";
      } catch {
        return false;
      }
    });
}

function expectAppError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(AppError);
  expect((thrown as AppError).code).toBe(code);
}

describe("runNixBuild with real nix", () => {
  it("builds a passing derivation: exit 0 and the parser says built", async () => {
    const { running, finished } = runFixture(["hello"]);
    const { outcome, snapshot } = await finished;
    expect(outcome).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false, cancelReason: null });
    expect(named(snapshot.derivations, "hello-1.0")).toMatchObject({ state: "built", phase: "installPhase" });
    expect(alive(-running.pid)).toBe(false);
  });

  it("a failing derivation: non-zero exit, and the parser names the derivation, phase and error line", async () => {
    const { outcome, snapshot } = await runFixture(["broken", "hello"]).finished;
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.exitCode).not.toBeNull();
    expect(named(snapshot.derivations, "broken-2.0")).toMatchObject({
      state: "failed",
      phase: "buildPhase",
      exitCode: 1,
      errorLine: "broken.c:3:12: error: expected ';' before '}' token",
    });
    expect(named(snapshot.derivations, "hello-1.0")?.state).toBe("built");
  });

  it("cancel stops nix and its builder, and resolves cancelled", async () => {
    const { running, finished, builderPid } = runFixture(["slow"]);
    const builder = await builderPid;
    expect(alive(builder)).toBe(true);
    running.cancel("the host pressed stop");
    const { outcome, snapshot } = await finished;
    expect(outcome).toMatchObject({ cancelled: true, timedOut: false, cancelReason: "the host pressed stop" });
    expect(outcome.exitCode).not.toBe(0);
    expect(alive(-running.pid)).toBe(false);
    expect(alive(builder)).toBe(false);
    expect(named(snapshot.derivations, "slow-1.0")).toMatchObject({ state: "failed", error: "interrupted by the user" });
  });

  it("a build that runs past its timeout is stopped and resolves timedOut", async () => {
    const { running, finished, builderPid } = runFixture(["slow"], { timeoutMs: 1_500 });
    const builder = await builderPid;
    const { outcome } = await finished;
    expect(outcome).toMatchObject({ timedOut: true, cancelled: false });
    expect(alive(-running.pid)).toBe(false);
    expect(alive(builder)).toBe(false);
  });

  it("rejects attribute names that are not plain attribute paths before starting anything", () => {
    // A nix binary that does not exist would fail with nix_failed, so bad_request proves that
    // nothing was spawned.
    for (const attrs of [["hello; rm -rf /"], ["--option"], ["-I"], [""], ["hello..world"], ["hello", "$(id)"], []]) {
      expectAppError(() => runFixture(attrs, { nixBin: "/nonexistent/nix" }), "bad_request");
    }
    expectAppError(() => runFixture(["hello"], { nixBin: "/nonexistent/nix" }), "nix_failed");
    expect(nixBuildArgs({ cwd: "/w", attrs: ["python3Packages.requests", "gtk+", "_1password-gui", "foo'"] }).slice(-5)).toEqual([
      "--",
      "python3Packages.requests",
      "gtk+",
      "_1password-gui",
      "foo'",
    ]);
  });

  it("evaluation cannot read the stage box's files, its environment, or build during evaluation", async () => {
    const [hostFile, env, ifd] = await Promise.all([
      runFixture(["readsHostFile"]).finished,
      runFixture(["readsEnv"], { env: { MAFHF_PROBE: "s3cret" } }).finished,
      runFixture(["importsFromDerivation"]).finished,
    ]);
    expect(hostFile.outcome.exitCode).not.toBe(0);
    expect(hostFile.snapshot.evalError).toBe("access to absolute path '/etc/hostname' is forbidden in restricted mode");
    expect(env.outcome.exitCode).toBe(0);
    expect(env.lines.join("\n")).toContain("probe=[]");
    expect(env.lines.join("\n")).not.toContain("s3cret");
    expect(ifd.snapshot.evalError).toMatch(/allow-import-from-derivation/);
  });

  it("(control) the same attribute does read the host file once restrict-eval is switched off", async () => {
    const { outcome, snapshot } = await runFixture(["readsHostFile"], {
      extraArgs: ["--option", "substituters", "", "--argstr", "salt", randomBytes(8).toString("hex"), "--option", "restrict-eval", "false"],
    }).finished;
    expect(snapshot.evalError).toBeNull();
    expect(outcome.exitCode).toBe(0);
  });
});

describe("runNixBuild process handling (a stand-in nix)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-nix-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function fakeNix(script: string): string {
    const file = path.join(dir, `nix-${randomBytes(4).toString("hex")}`);
    writeFileSync(file, `#!/bin/sh\n${script}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it("splits output into lines across chunks and flushes the last partial line at exit", async () => {
    const lines: string[] = [];
    const nixBin = fakeNix(`printf 'a\\nb' >&2; sleep 0.2; printf 'c\\r\\n' >&2; printf 'no newline at the end'; exit 3`);
    const outcome = await runNixBuild({ cwd: dir, attrs: ["hello"], timeoutMs: 10_000, nixBin, onLine: (l) => lines.push(l) }).done;
    expect(outcome.exitCode).toBe(3);
    expect(lines).toHaveLength(3);
    expect(lines).toEqual(expect.arrayContaining(["a", "bc", "no newline at the end"]));
  });

  it("resolves when nix exits even if something it left behind holds its output open, and removes that too", async () => {
    const nixBin = fakeNix(`sleep 30 & echo started >&2; exit 0`);
    const running = runNixBuild({ cwd: dir, attrs: ["hello"], timeoutMs: 60_000, nixBin, onLine: () => {} });
    const outcome = await running.done;
    expect(outcome.exitCode).toBe(0);
    expect(livingInGroup(running.pid)).toBe(false);
  });

  it("kills the group with SIGKILL when nix ignores SIGTERM", async () => {
    const nixBin = fakeNix(`trap '' TERM; echo ready >&2; while :; do sleep 1; done`);
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = runNixBuild({ cwd: dir, attrs: ["hello"], timeoutMs: 60_000, killGraceMs: 300, nixBin, onLine: () => ready() });
    await isReady;
    running.cancel();
    const outcome = await running.done;
    expect(outcome).toMatchObject({ cancelled: true, signal: "SIGKILL", exitCode: null, cancelReason: "cancelled" });
    expect(livingInGroup(running.pid)).toBe(false);
  });

  it("cancels the build when the line handler throws", async () => {
    const nixBin = fakeNix(`echo one >&2; sleep 30`);
    const outcome = await runNixBuild({
      cwd: dir,
      attrs: ["hello"],
      timeoutMs: 60_000,
      nixBin,
      onLine: () => {
        throw new Error("parser exploded");
      },
    }).done;
    expect(outcome).toMatchObject({ cancelled: true, cancelReason: "the output handler failed: parser exploded" });
  });
});
