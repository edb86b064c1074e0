import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  InternalJsonParser,
  type DerivationStatus,
  type ParserEvent,
} from "../../server/builds/parse-internal-json";

const FIXTURES = path.join(import.meta.dirname, "../fixtures/internal-json");

/** Replays a stream recorded from real nix by tests/fixtures/internal-json/record.ts. */
function replay(name: string, exitCode: number) {
  const parser = new InternalJsonParser({ now: () => 1_000 });
  const lines = readFileSync(path.join(FIXTURES, name), "utf8").split("\n");
  lines.pop();
  const events: ParserEvent[] = [];
  for (const line of lines) events.push(...parser.push(line));
  events.push(...parser.finish(exitCode));
  return { parser, events, snapshot: parser.snapshot() };
}

function feed(parser: InternalJsonParser, records: unknown[]): ParserEvent[] {
  return records.flatMap((r) => parser.push(typeof r === "string" ? r : `@nix ${JSON.stringify(r)}`));
}

function byName(derivations: DerivationStatus[], name: string): DerivationStatus {
  const found = derivations.find((d) => d.name === name);
  if (!found) throw new Error(`no derivation ${name} in ${derivations.map((d) => d.name).join(", ")}`);
  return found;
}

/** The states one derivation went through, as the projector would have shown them. */
function statesOf(events: ParserEvent[], name: string): string[] {
  const states: string[] = [];
  for (const e of events) {
    if (e.type !== "derivation" || e.derivation.name !== name) continue;
    if (states[states.length - 1] !== e.derivation.state) states.push(e.derivation.state);
  }
  return states;
}

function logsOf(events: ParserEvent[], drvPath: string): string[] {
  return events.flatMap((e) => (e.type === "log" && e.drvPath === drvPath ? [e.line] : []));
}

const DRV = {
  foo: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo-1.0.drv",
  bar: "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bar-2.1.drv",
  top: "/nix/store/cccccccccccccccccccccccccccccccc-top-3.0.drv",
};
const start = (id: number, drvPath: string, machine = "") => ({
  action: "start",
  id,
  level: 3,
  type: 105,
  text: `building '${drvPath}'`,
  fields: [drvPath, machine, 1, 1],
});
const builds = (done: number, expected: number, running: number, failed: number) => ({
  action: "result",
  id: 2,
  type: 105,
  fields: [done, expected, running, failed],
});
const BUILDS_START = [
  { action: "start", id: 1, level: 0, type: 102, text: "" },
  { action: "start", id: 2, level: 0, type: 104, text: "" },
];
const plan = { action: "msg", level: 3, msg: `these 2 derivations will be built:\n  ${DRV.foo}\n  ${DRV.top}` };
const errorMsg = (raw: string) => ({ action: "msg", level: 0, msg: `\u001b[31;1merror:\u001b[0m ${raw}`, raw_msg: raw });

describe("replaying real nix streams", () => {
  it("pass: shows hello built, its phases and its log in order", () => {
    const { events, snapshot } = replay("pass.jsonl", 0);
    const hello = byName(snapshot.derivations, "hello-1.0");
    expect(hello).toMatchObject({ state: "built", phase: "installPhase", machine: "", exitCode: null, error: null });
    expect(statesOf(events, "hello-1.0")).toEqual(["running", "built"]);
    expect(logsOf(events, hello.drvPath)).toEqual(["building hello", "compiling hello.c", "installing hello"]);
    expect(hello.lastLines).toEqual(["building hello", "compiling hello.c", "installing hello"]);
    expect(snapshot.totals).toEqual({ done: 1, expected: 1, running: 0, failed: 0 });
    expect(snapshot.evalError).toBeNull();
  });

  it("fail: names the broken derivation, its phase, exit code and error line, and keeps going", () => {
    const { events, snapshot } = replay("fail.jsonl", 1);
    const broken = byName(snapshot.derivations, "broken-2.0");
    expect(broken).toMatchObject({ state: "failed", phase: "buildPhase", exitCode: 1 });
    expect(broken.error).toBe(`builder for '${broken.drvPath}' failed with exit code 1`);
    expect(broken.errorLine).toBe("broken.c:3:12: error: expected ';' before '}' token");
    expect(logsOf(events, broken.drvPath)).toEqual([
      "checking for a C compiler... yes",
      "compiling broken.c",
      "broken.c:3:12: error: expected ';' before '}' token",
    ]);
    expect(byName(snapshot.derivations, "hello-1.0").state).toBe("built");
    expect(snapshot.totals).toEqual({ done: 1, expected: 2, running: 0, failed: 1 });
    // nix 2.8 names the failure only when everything is over; the screen must not show the
    // broken build as running (or built) while hello builds.
    expect(statesOf(events, "broken-2.0")).toEqual(["running", "failed"]);
    const brokenFailedAt = events.findIndex((e) => e.type === "derivation" && e.derivation.name === "broken-2.0" && e.derivation.state === "failed");
    const helloStartedAt = events.findIndex((e) => e.type === "derivation" && e.derivation.name === "hello-1.0");
    expect(brokenFailedAt).toBeLessThan(helloStartedAt);
  });

  it("dependency failure: the failing library fails, what needs it is dependency-failed, the rest builds", () => {
    const { events, snapshot } = replay("dependency-failure.jsonl", 1);
    const libfoo = byName(snapshot.derivations, "libfoo-0.1");
    expect(libfoo).toMatchObject({ state: "failed", phase: "buildPhase", exitCode: 2 });
    expect(libfoo.errorLine).toBe("libfoo.c:10: error: unknown type name 'size_t'");
    const app = byName(snapshot.derivations, "app-0.2");
    expect(app).toMatchObject({ state: "dependency-failed", startedAt: null, phase: null });
    expect(statesOf(events, "app-0.2")).toEqual(["dependency-failed"]);
    expect(byName(snapshot.derivations, "hello-1.0").state).toBe("built");
    expect(snapshot.totals).toEqual({ done: 1, expected: 3, running: 0, failed: 1 });
  });

  it("eval error: surfaces nix's message and builds nothing", () => {
    const { events, snapshot } = replay("eval-error.jsonl", 1);
    expect(snapshot.evalError).toBe("attribute 'doesNotExist' missing");
    expect(events.filter((e) => e.type === "eval-error")).toEqual([{ type: "eval-error", text: "attribute 'doesNotExist' missing" }]);
    expect(snapshot.derivations).toEqual([]);
    expect(snapshot.totals).toEqual({ done: 0, expected: 0, running: 0, failed: 0 });
  });

  it("hash mismatch: the fixed-output derivation fails with both hashes", () => {
    const { snapshot } = replay("hash-mismatch.jsonl", 1);
    const source = byName(snapshot.derivations, "source-1.0");
    expect(source.state).toBe("failed");
    expect(source.error).toMatch(/^hash mismatch in fixed-output derivation '.*-source-1\.0\.drv': specified: sha256-A+= got: sha256-\S+$/);
  });

  it("remote: both builds show the ssh-ng builder that ran them, and hello is built once its output is back", () => {
    // Recorded with --max-jobs 0 and one ssh-ng builder with one slot: broken fails there while
    // hello waits for the machine, then hello builds there and is copied back.
    const { events, snapshot } = replay("remote.jsonl", 1);
    const machine = byName(snapshot.derivations, "hello-1.0").machine;
    expect(machine).toMatch(/^ssh-ng:\/\/root@127\.0\.0\.1\?remote-store=\/\S+\/stores\/x86-64$/);
    const broken = byName(snapshot.derivations, "broken-2.0");
    expect(broken).toMatchObject({ state: "failed", phase: "buildPhase", exitCode: 1, machine });
    expect(broken.errorLine).toBe("broken.c:3:12: error: expected ';' before '}' token");
    const hello = byName(snapshot.derivations, "hello-1.0");
    expect(hello).toMatchObject({ state: "built", phase: "installPhase", error: null });
    expect(logsOf(events, hello.drvPath)).toEqual(["building hello", "compiling hello.c", "installing hello"]);
    expect(snapshot.totals).toEqual({ done: 1, expected: 2, running: 0, failed: 1 });
    // The builder's own build activity for the same derivation says machine "": on the projector
    // the machine must never flicker back to "this machine".
    const shown = events.flatMap((e) => (e.type === "derivation" && e.derivation.state !== "planned" ? [e.derivation.machine] : []));
    expect(new Set(shown)).toEqual(new Set([machine]));
    expect(statesOf(events, "hello-1.0")).toEqual(["running", "built"]);
  });

  it("remote: a build is not shown built before nix has copied its output back from the builder", () => {
    const parser = new InternalJsonParser({ now: () => 1_000 });
    const lines = readFileSync(path.join(FIXTURES, "remote.jsonl"), "utf8").split("\n");
    const builtAt = lines.findIndex((line) =>
      parser.push(line).some((e) => e.type === "derivation" && e.derivation.name === "hello-1.0" && e.derivation.state === "built"),
    );
    const copiedAt = lines.findIndex((line) => line.includes('"type":100') && line.includes("-hello-1.0'"));
    expect(copiedAt).toBeGreaterThan(0);
    expect(builtAt).toBeGreaterThan(copiedAt);
  });

  it("messages arrive without ANSI codes", () => {
    const { events } = replay("fail.jsonl", 1);
    const errors = events.filter((e) => e.type === "message" && e.level === 0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ text: expect.stringMatching(/^error: builder for '\/nix\/store\/\w+-broken-2\.0\.drv' failed with exit code 1$/) });
  });
});

describe("lines that are not what they seem", () => {
  it("passes plain and malformed lines through as logs", () => {
    const parser = new InternalJsonParser();
    expect(parser.push("copying path '/nix/store/x' to 'ssh://builder'...")).toEqual([
      { type: "log", drvPath: null, line: "copying path '/nix/store/x' to 'ssh://builder'..." },
    ]);
    expect(parser.push('@nix {"action":"msg","level":0')).toEqual([{ type: "log", drvPath: null, line: '@nix {"action":"msg","level":0' }]);
    expect(parser.push("@nix [1,2]")).toEqual([{ type: "log", drvPath: null, line: "@nix [1,2]" }]);
    expect(parser.push("@nix null")).toEqual([{ type: "log", drvPath: null, line: "@nix null" }]);
  });

  it("replays recorded streams with malformed lines mixed in to the same verdict, passing the junk through as text", () => {
    const junk = [
      '@nix {"action":"start","id":',
      "@nix",
      "@nix {}",
      '@nix {"action":"result","id":"7","type":101,"fields":["spoofed line"]}',
      `@nix{"action":"msg","level":0,"msg":"error: builder for '/nix/store/${"x".repeat(32)}-spoof-1.drv' failed"}`,
      "\u0000\u0001\ufffd binary",
      "",
      "not json at all",
      '@nix {"action":"stop","id":-1}',
      '@nix {"action":"msg","level":"0","msg":7}',
      '@nix {"action":"msg","level":0}',
      '@nix {"action":"result","id":1,"type":105,"fields":["a","b"]}',
      '@nix {"action":"start","id":99,"type":105,"fields":[null,"", 1, 1]}',
      "@nix \"a string\"",
    ];
    const isRecord = (line: string) => {
      try {
        const value: unknown = JSON.parse(line.slice(5));
        return line.startsWith("@nix ") && typeof value === "object" && value !== null && !Array.isArray(value);
      } catch {
        return false;
      }
    };
    const streams = [["pass.jsonl", 0], ["fail.jsonl", 1], ["dependency-failure.jsonl", 1], ["eval-error.jsonl", 1], ["remote.jsonl", 1]] as const;
    for (const [name, exitCode] of streams) {
      const clean = replay(name, exitCode);
      const recorded = readFileSync(path.join(FIXTURES, name), "utf8").split("\n");
      recorded.pop();
      const parser = new InternalJsonParser({ now: () => 1_000 });
      // All of it before nix says anything (where an error would be taken for an eval error), then one between every two lines.
      const events: ParserEvent[] = junk.flatMap((line) => parser.push(line));
      recorded.forEach((line, i) => {
        events.push(...parser.push(junk[i % junk.length]!));
        events.push(...parser.push(line));
      });
      events.push(...parser.finish(exitCode));
      expect(parser.snapshot(), name).toEqual(clean.snapshot);
      const passedThrough = events.flatMap((e) => (e.type === "log" && e.drvPath === null ? [e.line] : []));
      const plainJunk = junk.filter((line) => !isRecord(line));
      for (const line of plainJunk) expect(passedThrough, name).toContain(line);
      expect(events.some((e) => e.type === "log" && e.line === "spoofed line"), name).toBe(false);
    }
  });

  it("ignores unknown actions, activity types, result types and ill-typed fields", () => {
    const parser = new InternalJsonParser();
    const events = feed(parser, [
      { action: "teleport", id: 1 },
      { action: "start", id: 7, level: 0, type: 112, text: "fetching" },
      { action: "result", id: 7, type: 108, fields: [] },
      { action: "start", id: 8, type: 105, fields: [42] },
      { action: "result", id: 8, type: 101, fields: "not an array" },
      { action: "stop", id: 999 },
      { action: "stop" },
    ]);
    expect(events).toEqual([]);
    expect(parser.snapshot().derivations).toEqual([]);
  });

  it("copes with a very long log line", () => {
    const parser = new InternalJsonParser();
    const long = "x".repeat(2_000_000);
    feed(parser, [...BUILDS_START, start(10, DRV.foo)]);
    const events = feed(parser, [{ action: "result", id: 10, type: 101, fields: [long] }]);
    expect(events).toEqual([{ type: "log", drvPath: DRV.foo, line: long }]);
  });

  it("keeps only the last 20 lines of a build", () => {
    const parser = new InternalJsonParser();
    feed(parser, [...BUILDS_START, start(10, DRV.foo)]);
    feed(parser, Array.from({ length: 25 }, (_, i) => ({ action: "result", id: 10, type: 101, fields: [`line ${i}`] })));
    const foo = byName(parser.snapshot().derivations, "foo-1.0");
    expect(foo.lastLines).toHaveLength(20);
    expect(foo.lastLines[0]).toBe("line 5");
    expect(foo.lastLines[19]).toBe("line 24");
  });
});

describe("failure messages from other nix versions and setups", () => {
  it("remote builder failure names the machine and the exit code", () => {
    const parser = new InternalJsonParser();
    feed(parser, [
      ...BUILDS_START,
      start(10, DRV.foo, "ssh-ng://builder@big"),
      errorMsg(
        `build of '\u001b[35;1m${DRV.foo}\u001b[0m' on '\u001b[35;1mssh-ng://builder@big\u001b[0m' failed: Cannot build '${DRV.foo}'.\n       Reason: builder failed with exit code 1.`,
      ),
    ]);
    const foo = byName(parser.snapshot().derivations, "foo-1.0");
    expect(foo).toMatchObject({ state: "failed", machine: "ssh-ng://builder@big", exitCode: 1 });
    expect(foo.error).toBe(`build of '${DRV.foo}' on 'ssh-ng://builder@big' failed: Cannot build '${DRV.foo}'.`);
  });

  it("current Nix 'Cannot build … Reason:' blocks: a builder failure with its quoted log, and a dependency failure", () => {
    const parser = new InternalJsonParser();
    feed(parser, [
      ...BUILDS_START,
      start(10, DRV.foo),
      errorMsg(
        `Cannot build '${DRV.foo}'.\n       Reason: builder failed with exit code 2.\n       Output paths:\n         /nix/store/x-foo-1.0\n       Last 2 log lines:\n       > make: *** [all] Error 1\n       > error: build failed\n       For full logs, run:\n         nix log ${DRV.foo}`,
      ),
      errorMsg(`Cannot build '${DRV.top}'.\n       Reason: 1 dependency failed.\n       Output paths:\n         /nix/store/y-top-3.0`),
    ]);
    const [foo, top] = parser.snapshot().derivations;
    expect(foo).toMatchObject({
      name: "foo-1.0",
      state: "failed",
      exitCode: 2,
      error: "builder failed with exit code 2",
      lastLines: ["make: *** [all] Error 1", "error: build failed"],
      errorLine: "error: build failed",
    });
    expect(top).toMatchObject({ name: "top-3.0", state: "dependency-failed", error: "1 dependency failed" });
  });

  it("Lix and Nix 2.x 'builder for … failed with exit code N; last N log lines:'", () => {
    const parser = new InternalJsonParser();
    feed(parser, [
      ...BUILDS_START,
      start(10, DRV.foo),
      errorMsg(`builder for '${DRV.foo}' failed with exit code 1;\n       last 1 log lines:\n       > oops`),
    ]);
    expect(byName(parser.snapshot().derivations, "foo-1.0")).toMatchObject({
      state: "failed",
      exitCode: 1,
      error: `builder for '${DRV.foo}' failed with exit code 1`,
      lastLines: ["oops"],
    });
  });

  it("Nix 2.3 'cannot build derivation …: N dependencies couldn't be built'", () => {
    const parser = new InternalJsonParser();
    feed(parser, [...BUILDS_START, errorMsg(`cannot build derivation '${DRV.top}': 1 dependencies couldn't be built`)]);
    expect(byName(parser.snapshot().derivations, "top-3.0").state).toBe("dependency-failed");
  });

  it("hash mismatch (hand-written, with ANSI) and a missing system", () => {
    const parser = new InternalJsonParser();
    feed(parser, [
      ...BUILDS_START,
      start(10, DRV.foo),
      errorMsg(`hash mismatch in fixed-output derivation '\u001b[35;1m${DRV.foo}\u001b[0m':\n  specified: sha256-AAA=\n     got:    sha256-BBB=`),
      errorMsg(`a 'aarch64-linux' with features {} is required to build '${DRV.bar}', but I am a 'x86_64-linux' with features {}`),
    ]);
    const snapshot = parser.snapshot();
    expect(byName(snapshot.derivations, "foo-1.0")).toMatchObject({
      state: "failed",
      error: `hash mismatch in fixed-output derivation '${DRV.foo}': specified: sha256-AAA= got: sha256-BBB=`,
    });
    expect(byName(snapshot.derivations, "bar-2.1").state).toBe("failed");
  });

  it("prefers raw_msg, strips ANSI, and reports errors before any build as an eval error once", () => {
    const parser = new InternalJsonParser();
    const events = feed(parser, [
      { action: "msg", level: 0, msg: "\u001b[31;1merror:\u001b[0m … while evaluating\n\n       error: attribute '\u001b[35;1mx\u001b[0m' missing", raw_msg: "attribute '\u001b[35;1mx\u001b[0m' missing" },
      { action: "msg", level: 0, msg: "(use '--show-trace' to show detailed location information)" },
    ]);
    expect(events).toEqual([
      { type: "message", level: 0, text: "error: … while evaluating\n\n       error: attribute 'x' missing" },
      { type: "eval-error", text: "attribute 'x' missing" },
      { type: "message", level: 0, text: "(use '--show-trace' to show detailed location information)" },
    ]);
    expect(parser.finish(1)).toEqual([]);
    expect(parser.snapshot().evalError).toBe("attribute 'x' missing");
  });

  it("an error printed as plain text before nix got going becomes the eval error at exit", () => {
    const parser = new InternalJsonParser();
    parser.push("error: unrecognised flag '--frobnicate'");
    expect(parser.finish(1)).toContainEqual({ type: "eval-error", text: "unrecognised flag '--frobnicate'" });
  });

  it("a failure summary that names no machine changes nothing", () => {
    const parser = new InternalJsonParser();
    feed(parser, [...BUILDS_START, start(10, DRV.foo), errorMsg(`build of '${DRV.foo}' failed`)]);
    expect(byName(parser.snapshot().derivations, "foo-1.0").state).toBe("running");
  });
});

describe("build plan, downloads and the end of the process", () => {
  it("lists planned derivations from one message or from one message per line", () => {
    const together = new InternalJsonParser();
    feed(together, [plan]);
    const apart = new InternalJsonParser();
    feed(apart, [
      { action: "msg", level: 3, msg: "these 2 derivations will be built:" },
      { action: "msg", level: 3, msg: `  ${DRV.foo}` },
      { action: "msg", level: 3, msg: `  ${DRV.top}` },
      { action: "msg", level: 3, msg: "this path will be fetched (0.03 MiB download, 0.12 MiB unpacked):" },
      { action: "msg", level: 3, msg: "  /nix/store/dddddddddddddddddddddddddddddddd-glibc-2.40" },
    ]);
    for (const parser of [together, apart]) {
      const builds = parser.snapshot().derivations.filter((d) => d.kind === "build");
      expect(builds.map((d) => [d.name, d.state])).toEqual([
        ["foo-1.0", "planned"],
        ["top-3.0", "planned"],
      ]);
      expect(parser.snapshot().totals.expected).toBe(2);
    }
    expect(byName(apart.snapshot().derivations, "glibc-2.40")).toMatchObject({ kind: "substitute", state: "planned" });
  });

  it("a download runs and is substituted", () => {
    const parser = new InternalJsonParser();
    const path = "/nix/store/dddddddddddddddddddddddddddddddd-glibc-2.40";
    feed(parser, [
      ...BUILDS_START,
      { action: "start", id: 20, level: 4, type: 108, text: "", fields: [path, "https://cache.nixos.org"] },
    ]);
    expect(byName(parser.snapshot().derivations, "glibc-2.40")).toMatchObject({ state: "running", machine: "https://cache.nixos.org" });
    feed(parser, [{ action: "stop", id: 20 }]);
    expect(byName(parser.snapshot().derivations, "glibc-2.40").state).toBe("substituted");
  });

  it("when the build failed, planned derivations that never started are dependency-failed", () => {
    const parser = new InternalJsonParser();
    feed(parser, [plan, ...BUILDS_START, start(10, DRV.foo), errorMsg(`builder for '${DRV.foo}' failed with exit code 1`), { action: "stop", id: 10 }]);
    parser.finish(1);
    const snapshot = parser.snapshot();
    expect(byName(snapshot.derivations, "foo-1.0").state).toBe("failed");
    expect(byName(snapshot.derivations, "top-3.0")).toMatchObject({ state: "dependency-failed", startedAt: null });
  });

  it("when nix is killed, a running build failed and a planned one stays planned", () => {
    const parser = new InternalJsonParser();
    feed(parser, [plan, ...BUILDS_START, start(10, DRV.foo)]);
    parser.finish(null);
    const snapshot = parser.snapshot();
    expect(byName(snapshot.derivations, "foo-1.0")).toMatchObject({ state: "failed", error: "the build was stopped before it finished" });
    expect(byName(snapshot.derivations, "top-3.0").state).toBe("planned");
    expect(snapshot.totals.running).toBe(0);
  });

  it("when nix exits non-zero without a word about a build that never stopped, it failed", () => {
    const parser = new InternalJsonParser();
    feed(parser, [...BUILDS_START, start(10, DRV.foo)]);
    parser.finish(1);
    expect(byName(parser.snapshot().derivations, "foo-1.0")).toMatchObject({ state: "failed", error: "nix exited before this build finished" });
  });

  it("post-build-hook lines belong to their derivation and do not end its build", () => {
    const parser = new InternalJsonParser();
    const events = feed(parser, [
      ...BUILDS_START,
      start(10, DRV.foo),
      { action: "start", id: 11, level: 3, type: 110, text: "", fields: [DRV.foo] },
      { action: "result", id: 11, type: 107, fields: ["uploading to cache"] },
      { action: "stop", id: 11 },
    ]);
    expect(events).toContainEqual({ type: "log", drvPath: DRV.foo, line: "uploading to cache" });
    expect(byName(parser.snapshot().derivations, "foo-1.0").state).toBe("running");
  });
});

describe("settling verdicts from nix's counters", () => {
  it("with two builds in parallel, waits for the failure message instead of guessing", () => {
    const parser = new InternalJsonParser();
    const events = feed(parser, [
      ...BUILDS_START,
      builds(0, 2, 0, 0),
      start(10, DRV.foo),
      builds(0, 2, 1, 0),
      start(11, DRV.bar),
      builds(0, 2, 2, 0),
      builds(1, 2, 1, 0),
      builds(1, 2, 0, 1),
      // nix 2.8 stops requested builds only at the end, then names the failure.
      { action: "stop", id: 10 },
      { action: "stop", id: 11 },
    ]);
    expect(statesOf(events, "foo-1.0")).toEqual(["running"]);
    expect(statesOf(events, "bar-2.1")).toEqual(["running"]);
    feed(parser, [errorMsg(`builder for '${DRV.foo}' failed with exit code 3`)]);
    const snapshot = parser.snapshot();
    expect(byName(snapshot.derivations, "foo-1.0")).toMatchObject({ state: "failed", exitCode: 3 });
    expect(byName(snapshot.derivations, "bar-2.1").state).toBe("built");
    expect(snapshot.totals).toEqual({ done: 1, expected: 2, running: 0, failed: 1 });
  });

  it("corrects a build shown as built when nix later names it as failed", () => {
    const parser = new InternalJsonParser();
    feed(parser, [...BUILDS_START, start(10, DRV.foo), { action: "stop", id: 10 }]);
    expect(byName(parser.snapshot().derivations, "foo-1.0").state).toBe("built");
    feed(parser, [errorMsg(`builder for '${DRV.foo}' failed with exit code 1`)]);
    expect(byName(parser.snapshot().derivations, "foo-1.0").state).toBe("failed");
    expect(parser.snapshot().totals).toMatchObject({ done: 0, failed: 1 });
  });

  it("falls back to counting states when nix sends no counters", () => {
    const parser = new InternalJsonParser();
    feed(parser, [plan, ...BUILDS_START, start(10, DRV.foo)]);
    expect(parser.snapshot().totals).toEqual({ done: 0, expected: 2, running: 1, failed: 0 });
    feed(parser, [{ action: "stop", id: 10 }]);
    expect(parser.snapshot().totals).toEqual({ done: 1, expected: 2, running: 0, failed: 0 });
  });
});
