import { describe, expect, it } from "vitest";
import type { BuildTarget } from "../../server/builds/build-targets";
import { buildReviewReport, MAX_GITHUB_COMMENT_LENGTH } from "../../server/builds/nixpkgs-review-report";
import type { BuildView, DerivationView } from "../../server/show/views";

const SHA = "0123456789abcdef0123456789abcdef01234567";

function drv(name: string, state: DerivationView["state"], phase: string | null = null): DerivationView {
  return {
    drvPath: `/nix/store/${"a".repeat(32)}-${name}.drv`,
    name,
    state,
    phase,
    machine: "",
    exitCode: state === "failed" ? 1 : null,
    error: null,
    startedAt: null,
    finishedAt: null,
  };
}

function target(attr: string, d: DerivationView | null, extra: Partial<BuildTarget> = {}): BuildTarget {
  return { attr, source: "by-name", drvPath: d?.drvPath ?? null, check: "ok", ...extra };
}

function view(overrides: Partial<BuildView>): BuildView {
  return {
    id: 1,
    prNumber: 400005,
    title: null,
    submitters: [],
    status: "failed",
    system: "x86_64-linux",
    checkoutMode: "merge",
    headSha: SHA,
    targets: [],
    targetNote: null,
    error: null,
    failedDrv: null,
    failedPhase: null,
    totals: { done: 0, expected: 0, running: 0, failed: 0 },
    currentPhase: null,
    lastLine: null,
    logLineCount: 0,
    derivations: [],
    createdAt: "2026-11-25T19:00:00.000Z",
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

const noLogs = () => [];

describe("nixpkgs-review report", () => {
  it("sorts every attr of every system into nixpkgs-review's lists, folding aliases", () => {
    const lib = drv("depfail-lib-1.1", "failed", "checkPhase");
    const app = drv("depfail-app-2.3", "dependency-failed");
    const sl = drv("sl-5.05", "built");
    const test = drv("hello-test-greeting-1.1", "built");
    const x86 = view({
      id: 10,
      derivations: [lib, app, sl, test],
      targets: [
        target("depfail-lib", lib),
        target("depfail-app", app),
        target("sl", sl),
        target("steam-locomotive", sl),
        target("hello.passthru.tests.greeting", test, { source: "passthru-tests" }),
        target("gone", null, { check: "non-existent" }),
        target("oldtool", null, { check: "broken" }),
      ],
    });
    const arm = view({ id: 11, system: "aarch64-linux", status: "passed", targets: [target("sl", drv("sl-5.05", "built"))] });

    const { json, markdown } = buildReviewReport({ prNumber: 400005, headSha: SHA, checkoutMode: "merge", builds: [arm, x86], logTail: noLogs });
    expect(json).toEqual({
      additional_packages: [],
      checkout: "merge",
      commit: SHA,
      "extra-nixpkgs-config": null,
      only_packages: [],
      package_regex: [],
      pkgs: null,
      pr: 400005,
      result: {
        "x86_64-linux": {
          blacklisted: [],
          broken: [{ aliases: [], name: "oldtool" }],
          built: [{ aliases: ["steam-locomotive"], name: "sl" }],
          failed: [
            { aliases: [], name: "depfail-app" },
            { aliases: [], name: "depfail-lib" },
          ],
          "non-existent": [{ aliases: [], name: "gone" }],
          tests: [{ aliases: [], name: "hello.passthru.tests.greeting" }],
        },
        "aarch64-linux": { blacklisted: [], broken: [], built: [{ aliases: [], name: "sl" }], failed: [], "non-existent": [], tests: [] },
      },
      skip_packages: [],
      skip_packages_regex: [],
      systems: ["x86_64-linux", "aarch64-linux"],
    });
    expect(markdown).toBe(
      [
        "## `nixpkgs-review` result",
        "",
        "Generated using [`nixpkgs-review`](https://github.com/Mic92/nixpkgs-review).",
        "",
        "Command: `nixpkgs-review pr 400005 --tests`",
        `Commit: \`${SHA}\``,
        "",
        "---",
        "### `x86_64-linux`",
        "<details>",
        "  <summary>:fast_forward: 1 package marked as broken and skipped:</summary>",
        "  <ul>",
        "    <li>oldtool</li>",
        "  </ul>",
        "</details>",
        "<details>",
        "  <summary>:fast_forward: 1 package present in ofBorgs evaluation, but not found in the checkout:</summary>",
        "  <ul>",
        "    <li>gone</li>",
        "  </ul>",
        "</details>",
        "<details>",
        "  <summary>:x: 2 packages failed to build:</summary>",
        "  <ul>",
        "    <li>depfail-app</li>",
        "    <li>depfail-lib</li>",
        "  </ul>",
        "</details>",
        "<details>",
        "  <summary>:white_check_mark: 1 test built:</summary>",
        "  <ul>",
        "    <li>hello.passthru.tests.greeting</li>",
        "  </ul>",
        "</details>",
        "<details>",
        "  <summary>:white_check_mark: 1 package built:</summary>",
        "  <ul>",
        "    <li>sl (steam-locomotive)</li>",
        "  </ul>",
        "</details>",
        "",
        "---",
        "### `aarch64-linux`",
        "<details>",
        "  <summary>:white_check_mark: 1 package built:</summary>",
        "  <ul>",
        "    <li>sl</li>",
        "  </ul>",
        "</details>",
        "",
      ].join("\n"),
    );
  });

  it("adds the last 20 lines of each failed build, ANSI stripped, HTML escaped and deduplicated, and names the root cause", () => {
    const a = drv("a-1", "failed", "buildPhase");
    const b = drv("b-1", "failed", "buildPhase");
    const core = drv("core-1", "failed", "checkPhase");
    const top = drv("top-1", "dependency-failed");
    const build = view({ id: 3, derivations: [a, b, core, top], targets: [target("a", a), target("b", b), target("top", top)] });
    const asked: Array<[number, string, number]> = [];
    const logTail = (id: number, name: string, lines: number) => {
      asked.push([id, name, lines]);
      if (name === "core-1") return ["\u001b[31merror:\u001b[0m test <parse> & friends failed"];
      return Array.from({ length: 30 }, (_, i) => `same line ${i}`);
    };
    const { markdown } = buildReviewReport({ prNumber: 1, headSha: SHA, checkoutMode: "head", builds: [build], logTail });
    expect(asked).toEqual([
      [3, "a-1", 20],
      [3, "b-1", 20],
      [3, "core-1", 20],
    ]);
    expect(markdown).toContain("Command: `nixpkgs-review pr 1 --checkout commit`");
    const logs = markdown.slice(markdown.indexOf("<summary>Error logs: `x86_64-linux`</summary>"));
    expect(logs).toContain(`<details>\n<summary>a</summary>\n<pre>${Array.from({ length: 20 }, (_, i) => `same line ${i + 10}`).join("\n")}</pre>\n</details>\n`);
    expect(logs).not.toContain("<summary>b</summary>");
    expect(logs).toContain("<summary>core-1</summary>\n<pre>error: test &lt;parse&gt; &amp; friends failed</pre>");
    expect(logs.endsWith("</details>\n</details>\n")).toBe(true);
  });

  it("stays within one GitHub comment: logs that do not fit are left out with a warning", () => {
    // About 36,000 characters of logs per system: the first system's fit, the second's do not.
    const derivations = Array.from({ length: 12 }, (_, i) => drv(`pkg${i}-1`, "failed", "buildPhase"));
    const build = view({ derivations, targets: derivations.map((d, i) => target(`pkg${i}`, d)) });
    const logTail = (_id: number, name: string) => Array.from({ length: 20 }, (_, i) => `${name} ${i} ${"x".repeat(140)}`);
    const { markdown } = buildReviewReport({ prNumber: 2, headSha: SHA, checkoutMode: "merge", builds: [build, { ...build, id: 2, system: "aarch64-linux" }], logTail });
    expect(markdown.length).toBeLessThanOrEqual(MAX_GITHUB_COMMENT_LENGTH);
    expect(markdown).toContain("<summary>:x: 12 packages failed to build:</summary>");
    expect(markdown.match(/<pre>/g)).toHaveLength(12);
    expect(markdown).toContain("Error logs: `x86_64-linux`");
    expect(markdown).not.toContain("Error logs: `aarch64-linux`");
    expect(markdown.endsWith("WARNING: Some logs were not included in this report: there were too many.")).toBe(true);
  });

  it("shortens lists that alone would not fit, and says so", () => {
    const targets = Array.from({ length: 6000 }, (_, i) => target(`python3Packages.package-number-${i}`, null, { check: "non-existent" }));
    const { json, markdown } = buildReviewReport({ prNumber: 3, headSha: SHA, checkoutMode: "merge", builds: [view({ status: "passed", targets })], logTail: noLogs });
    expect(json.result["x86_64-linux"]!["non-existent"]).toHaveLength(6000);
    expect(markdown.length).toBeLessThanOrEqual(MAX_GITHUB_COMMENT_LENGTH);
    expect(markdown).toContain(":fast_forward: 6000 packages present in ofBorgs evaluation");
    expect(markdown).toMatch(/<li>… and \d+ more<\/li>/);
    expect(markdown).toContain("WARNING: Some lists were shortened to fit in a GitHub comment; report.json has every attribute.");
  });

  it("works from plain views, guessing each attr's derivation by name, and says when a build did not finish", () => {
    const hello = drv("hello-1.1", "built");
    const broken = drv("broken-tool-1.0", "failed", "buildPhase");
    const plain = view({
      derivations: [hello, broken],
      targets: [
        { attr: "hello", source: "host" },
        { attr: "broken-tool", source: "host" },
      ],
      status: "cancelled",
      error: "Cancelled by the host after 3 s; nix was stopped.",
    });
    const { json, markdown } = buildReviewReport({ prNumber: 4, headSha: SHA, checkoutMode: "merge", builds: [plain], logTail: () => ["boom"] });
    expect(json.only_packages).toEqual(["broken-tool", "hello"]);
    expect(json.result["x86_64-linux"]).toMatchObject({ built: [{ name: "hello" }], failed: [{ name: "broken-tool" }] });
    expect(markdown).toContain("Command: `nixpkgs-review pr 4 --package broken-tool --package hello`");
    expect(markdown).toContain(":warning: The build was cancelled: Cancelled by the host after 3 s; nix was stopped.\n");
  });
});
