import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { machineLabel } from "@/components/format";
import { InternalJsonParser, type DerivationStatus } from "@/server/builds/parse-internal-json";
import { childEnv, nixBuildArgs, runNixBuild, type NixBuildRequest } from "@/server/builds/run-nix-build";
import { loadConfig } from "@/server/config";
import { submitPullRequest } from "@/server/intake/submit-pull-request";
import { FINISHED_BUILD_STATUSES, type BuildView } from "@/server/show/views";
import { startHarness, type ShowHarness } from "../helpers/show-harness";
import { sshBuildersUnavailable, startSshBuilders, type SshBuilders } from "../helpers/ssh-builder";

/**
 * Builds dispatched through Nix's own remote-builder mechanism: real `nix build` over ssh-ng://
 * to a private sshd on 127.0.0.1 (tests/helpers/ssh-builder.ts). The second system is
 * i686-linux, which an x86_64 machine can run, so one box can play both builders.
 */

const FIXTURE_DIR = path.join(import.meta.dirname, "../fixtures/internal-json");
const THIS_SYSTEM = loadConfig({}, {}).nixSystems[0]!;
const SECOND_SYSTEM = "i686-linux";

const unavailable =
  sshBuildersUnavailable() ?? (THIS_SYSTEM === "x86_64-linux" ? null : `the second system, ${SECOND_SYSTEM}, needs an x86_64-linux machine`);
if (process.env.CI && unavailable) {
  throw new Error(`CI runs the remote builder tests, but ${unavailable}. .ci/run installs openssh-server.`);
}
if (unavailable) console.warn(`[tests] remote builder tests skipped: ${unavailable}`);

describe("machineLabel (where the projector says a derivation was built)", () => {
  it("shows the builder's host without user, key or store settings, and nix's own machine as this machine", () => {
    expect(machineLabel("")).toBe("this machine");
    expect(machineLabel("ssh-ng://root@127.0.0.1?remote-store=/tmp/x/stores/i686")).toBe("127.0.0.1");
    expect(machineLabel("ssh-ng://nix@aarch64.example.org?ssh-key=/etc/nix/builder_ed25519")).toBe("aarch64.example.org");
    expect(machineLabel("ssh://builder")).toBe("builder");
    expect(machineLabel("ssh-ng://user@device@gateway.example:2222")).toBe("gateway.example:2222");
    expect(machineLabel("https://cache.nixos.org")).toBe("cache.nixos.org");
  });
});

describe("what the runner hands nix for remote builders", () => {
  it("passes --builders and --max-jobs, and NIX_SSHOPTS from the app's environment, and refuses a bad job count", () => {
    const args = nixBuildArgs({ cwd: "/w", attrs: ["hello"], builders: "ssh-ng://nix@big x86_64-linux", maxJobs: 0 });
    expect(args.slice(args.indexOf("--builders"), args.indexOf("--builders") + 4)).toEqual([
      "--builders",
      "ssh-ng://nix@big x86_64-linux",
      "--max-jobs",
      "0",
    ]);
    expect(nixBuildArgs({ cwd: "/w", attrs: ["hello"] })).not.toContain("--max-jobs");
    for (const maxJobs of [-1, 1.5, Number.NaN]) {
      expect(() => nixBuildArgs({ cwd: "/w", attrs: ["hello"], maxJobs }), String(maxJobs)).toThrow(/not a number of jobs/);
    }
    const saved = process.env.NIX_SSHOPTS;
    process.env.NIX_SSHOPTS = "-p 2222";
    try {
      expect(childEnv().NIX_SSHOPTS).toBe("-p 2222");
    } finally {
      if (saved === undefined) delete process.env.NIX_SSHOPTS;
      else process.env.NIX_SSHOPTS = saved;
    }
  });
});

describe.skipIf(unavailable !== null)(`remote builders over ssh-ng${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let ssh: SshBuilders;

  beforeAll(async () => {
    ssh = await startSshBuilders([
      { name: "x86-64", systems: ["x86_64-linux"], jobs: 2 },
      { name: "i686", systems: [SECOND_SYSTEM], jobs: 2 },
    ]);
  });

  afterAll(async () => {
    await ssh?.stop();
  });

  /** Starts a build of fixture.nix through the production runner, offline, with a fresh salt. */
  function start(attrs: string[], req: Partial<NixBuildRequest>) {
    const parser = new InternalJsonParser();
    const salt = randomBytes(8).toString("hex");
    const logs: string[] = [];
    const running = runNixBuild({
      cwd: FIXTURE_DIR,
      file: "fixture.nix",
      attrs,
      timeoutMs: 120_000,
      env: ssh.env,
      onLine: (line) => {
        for (const event of parser.push(line)) if (event.type === "log") logs.push(event.line);
      },
      ...req,
      extraArgs: ["--option", "substituters", "", "--argstr", "salt", salt, ...(req.extraArgs ?? [])],
    });
    const finished = running.done.then((outcome) => {
      parser.finish(outcome.exitCode);
      return { outcome, derivations: parser.snapshot().derivations };
    });
    return { running, finished, salt, logs };
  }

  function build(attrs: string[], req: Partial<NixBuildRequest>) {
    return start(attrs, req).finished;
  }

  function named(derivations: DerivationStatus[], name: string): DerivationStatus {
    const found = derivations.find((d) => d.name === name);
    if (!found) throw new Error(`no ${name} among ${derivations.map((d) => d.name).join(", ")}`);
    return found;
  }

  /** The output path of a derivation, from this machine's store. */
  async function outputOf(drvPath: string): Promise<string> {
    return (await capture("nix-store", ["--query", "--outputs", drvPath])).trim();
  }

  function builtOn(builder: string, out: string): boolean {
    return existsSync(path.join(ssh.stores[builder]!, out));
  }

  it("--max-jobs 0 sends the build to the builder: the projector names it, and the output comes back here", async () => {
    const { outcome, derivations } = await build(["hello"], { system: "x86_64-linux", builders: ssh.builders, maxJobs: 0 });
    expect(outcome.exitCode).toBe(0);
    const hello = named(derivations, "hello-1.0");
    expect(hello).toMatchObject({ state: "built", phase: "installPhase", machine: ssh.uris["x86-64"] });
    expect(machineLabel(hello.machine)).toBe("127.0.0.1");
    const out = await outputOf(hello.drvPath);
    expect(readFileSync(out, "utf8")).toBe("hi\n");
    expect(builtOn("x86-64", out)).toBe(true);
    expect(builtOn("i686", out)).toBe(false);
  });

  it(`one build per system (NIX_SYSTEMS=x86_64-linux,${SECOND_SYSTEM}): each goes to the builder that declares its system`, async () => {
    const [x86, i686] = await Promise.all(
      ["x86_64-linux", SECOND_SYSTEM].map((system) => build(["arch"], { system, builders: ssh.builders, maxJobs: 0 })),
    );
    for (const [result, builder, arch] of [[x86!, "x86-64", "x86_64"], [i686!, "i686", "i686"]] as const) {
      expect(result.outcome.exitCode).toBe(0);
      const drv = named(result.derivations, "arch-1.0");
      expect(drv).toMatchObject({ state: "built", machine: ssh.uris[builder] });
      const out = await outputOf(drv.drvPath);
      expect(readFileSync(out, "utf8")).toBe(`${arch}\n`);
      expect(builtOn(builder, out)).toBe(true);
    }
  });

  it("a system this machine cannot build goes to the builder declaring it; without one, nix refuses it", async () => {
    // This machine as a stage box that builds only its own system (nix lets x86_64 build i686).
    const ownSystemOnly = { extraArgs: ["--option", "extra-platforms", ""] };
    const builders = ssh.machines.i686!;
    const [here, there, nowhere] = await Promise.all([
      build(["arch"], { ...ownSystemOnly, system: "x86_64-linux", builders }),
      build(["arch"], { ...ownSystemOnly, system: SECOND_SYSTEM, builders }),
      build(["arch"], { ...ownSystemOnly, system: SECOND_SYSTEM, builders: "" }),
    ]);
    expect(here.outcome.exitCode).toBe(0);
    expect(named(here.derivations, "arch-1.0")).toMatchObject({ state: "built", machine: "" });

    expect(there.outcome.exitCode).toBe(0);
    const remote = named(there.derivations, "arch-1.0");
    expect(remote).toMatchObject({ state: "built", machine: ssh.uris.i686 });
    expect(readFileSync(await outputOf(remote.drvPath), "utf8")).toBe("i686\n");

    expect(nowhere.outcome.exitCode).not.toBe(0);
    const refused = named(nowhere.derivations, "arch-1.0");
    expect(refused.state).toBe("failed");
    expect(refused.error).toMatch(new RegExp(`^a '${SECOND_SYSTEM}' with features \\{\\} is required to build '.*-arch-1\\.0\\.drv', but I am a 'x86_64-linux'`));
  });

  it("a build that fails on the builder is named with the builder, its phase, exit code and error line", async () => {
    const { outcome, derivations } = await build(["broken", "hello"], { system: "x86_64-linux", builders: ssh.builders, maxJobs: 0 });
    expect(outcome.exitCode).not.toBe(0);
    expect(named(derivations, "broken-2.0")).toMatchObject({
      state: "failed",
      machine: ssh.uris["x86-64"],
      phase: "buildPhase",
      exitCode: 1,
      errorLine: "broken.c:3:12: error: expected ';' before '}' token",
    });
    expect(named(derivations, "hello-1.0")).toMatchObject({ state: "built", machine: ssh.uris["x86-64"] });
  });

  it("cancelling stops the build on the builder too", async () => {
    const { running, finished, salt, logs } = start(["slow"], { system: "x86_64-linux", builders: ssh.builders, maxJobs: 0 });
    await until(() => logs.some((line) => line.startsWith("builder-pid ")), "the builder runs");
    // The builder runs in the builder's sandbox; its environment holds this build's salt.
    expect(processesWithEnv(`salt=${salt}`)).not.toEqual([]);
    running.cancel("the host pressed stop");
    const { outcome, derivations } = await finished;
    expect(outcome).toMatchObject({ cancelled: true, cancelReason: "the host pressed stop" });
    expect(named(derivations, "slow-1.0")).toMatchObject({ state: "failed", machine: ssh.uris["x86-64"], error: "interrupted by the user" });
    await until(() => processesWithEnv(`salt=${salt}`).length === 0, "the builder's build is gone");
  });

  describe("the show, with NIX_BUILDERS and two NIX_SYSTEMS", () => {
    let h: ShowHarness;
    let dir: string;
    const saved = { NIX_SSHOPTS: process.env.NIX_SSHOPTS, NIX_USER_CONF_FILES: process.env.NIX_USER_CONF_FILES };

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-remote-show-"));
      // As on a stage box: ssh options in the app's environment, and a nix that cannot build
      // the second system itself.
      const nixConf = path.join(dir, "nix.conf");
      writeFileSync(nixConf, "extra-platforms =\n");
      process.env.NIX_SSHOPTS = ssh.env.NIX_SSHOPTS;
      process.env.NIX_USER_CONF_FILES = nixConf;
      h = await startHarness({ env: { NIX_SYSTEMS: `x86_64-linux,${SECOND_SYSTEM}`, NIX_BUILDERS: ssh.machines.i686! } });
    });

    afterAll(async () => {
      await h?.close();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`builds a PR once per system; the ${SECOND_SYSTEM} build runs on the builder and its view names the machine`, async () => {
      const builds = h.show.context.builds;
      await submitPullRequest(h.show.context.intake, { source: "host", text: "#400001", nickname: "tester" });
      const started = await builds.startBuild(400001);
      expect(started.map((b) => b.system)).toEqual(["x86_64-linux", SECOND_SYSTEM]);
      await builds.idle();
      const views = await Promise.all(started.map(async (b) => (await builds.getBuild(b.id))!));
      const [x86, i686] = views as [BuildView, BuildView];
      for (const view of views) {
        expect(FINISHED_BUILD_STATUSES).toContain(view.status);
        expect(view, view.error ?? "").toMatchObject({ status: "passed" });
        expect(view.derivations.length).toBeGreaterThan(0);
      }
      expect(x86.derivations.map((d) => machineLabel(d.machine))).toEqual(x86.derivations.map(() => "this machine"));
      expect(i686.derivations.map((d) => d.machine)).toEqual(i686.derivations.map(() => ssh.uris.i686));
      expect(i686.derivations.map((d) => machineLabel(d.machine))).toEqual(i686.derivations.map(() => "127.0.0.1"));
    });
  });
});

function capture(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

/** Polls until `check` holds; the deadline only keeps a broken build from hanging the suite. */
async function until(check: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Living processes whose environment has `entry` (NAME=value), sandboxed ones included. */
function processesWithEnv(entry: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
        return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry);
      } catch {
        return false;
      }
    })
    .map(Number);
}
