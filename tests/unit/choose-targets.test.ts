import { describe, expect, it } from "vitest";
import {
  attrsFromChangedFiles,
  attrsFromCommitTitle,
  chooseTargets,
  isValidAttrPath,
  type ChooseTargetsInput,
} from "@/server/targets/choose-targets";
import { expandBraces } from "@/server/targets/expand-braces";

const system = "x86_64-linux";
const base: ChooseTargetsInput = {
  system,
  rebuildsByPlatform: null,
  changedFiles: [],
  commitTitles: [],
};

const attrs = (choice: { targets: { attr: string }[] }) => choice.targets.map((t) => t.attr);
const range = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("expandBraces", () => {
  it.each<[string, string[]]>([
    ["hello", ["hello"]],
    ["python3{12,13}Packages.x", ["python312Packages.x", "python313Packages.x"]],
    ["firefox{,-beta}{,-bin}", ["firefox", "firefox-bin", "firefox-beta", "firefox-beta-bin"]],
    ["a{b,c{d,e}}f", ["abf", "acdf", "acef"]],
    ["firefox{-esr,}", ["firefox-esr", "firefox"]],
    ["{a,a}", ["a", "a"]],
    ["{foo}", ["{foo}"]],
    ["{1..3}", ["{1..3}"]],
    ["x{a,b", ["x{a,b"]],
    ["x}a,b{", ["x}a,b{"]],
    ["{a,{b}}", ["a", "{b}"]],
    ["", [""]],
  ])("%j → %j", (pattern, expected) => {
    expect(expandBraces(pattern)).toEqual(expected);
  });

  it("bounds the output to the limit, keeping the first results in order", () => {
    const pattern = "{a,b}".repeat(30); // 2^30 names unbounded
    const out = expandBraces(pattern, 10);
    expect(out).toHaveLength(10);
    expect(out[0]).toBe("a".repeat(30));
    expect(expandBraces(pattern)).toHaveLength(100);
  });

  it("bounds work for deep nesting and very long patterns", () => {
    expect(expandBraces(`${"{a,".repeat(200)}z${"}".repeat(200)}`)).toHaveLength(100);
    const long = `{a,b}${"x".repeat(1_000)}`;
    expect(expandBraces(long)).toEqual([long]);
  });
});

describe("attrsFromCommitTitle", () => {
  it.each<[string, string[]]>([
    ["hello: 2.12 -> 2.12.1", ["hello"]],
    ["python3Packages.requests: 2.31 -> 2.32", ["python3Packages.requests"]],
    ["foo,bar: something here: yeah", ["foo", "bar"]],
    ["foo , bar ,baz: update", ["foo", "bar", "baz"]],
    ["firefox{,-beta}{,-bin}: 130 -> 131", ["firefox", "firefox-bin", "firefox-beta", "firefox-beta-bin"]],
    ["firefox{-esr,}: fix build", ["firefox-esr", "firefox"]],
    ["python3{12,13}Packages.x: fix", ["python312Packages.x", "python313Packages.x"]],
    ["hello, hello: dedupe", ["hello"]],
    ["Merge pull request #34483 from andir/dovecot-cve-2017-15132", []],
    ["update hello", []],
    ["WIP: hello: 1 -> 2", []],
    ["wip:hello: 1 -> 2", []],
    ["[WIP] hello: 1 -> 2", []],
    ["treewide: remove aliases", []],
    ["Treewide: fix typos", []],
    ["hello: 1 -> 2\n\nbody: with a colon", ["hello"]],
    [": nothing before the colon", []],
    ["nixos/ssh: fix", ["nixos/ssh"]], // kept here, dropped as invalid by chooseTargets
  ])("%j → %j", (title, expected) => {
    expect(attrsFromCommitTitle(title)).toEqual(expected);
  });
});

describe("attrsFromChangedFiles", () => {
  it("takes package names from pkgs/by-name paths whose shard matches, deduplicated in order", () => {
    expect(
      attrsFromChangedFiles([
        "pkgs/by-name/he/hello/package.nix",
        "pkgs/by-name/he/hello/update.sh",
        "pkgs/by-name/Zo/Zoom/package.nix", // shard must be lowercase
        "pkgs/by-name/zo/Zoom/package.nix",
        "pkgs/by-name/0a/0ad/package.nix",
        "pkgs/by-name/_1/_1password-gui/package.nix",
        "pkgs/by-name/ab/hello/package.nix", // wrong shard
        "pkgs/by-name/he/hello", // not a file inside the package directory
        "pkgs/by-name/he/he llo/package.nix",
        "pkgs/by-name/he/hello.x/package.nix",
        "pkgs/development/python-modules/requests/default.nix",
        "nixos/modules/services/x.nix",
        "x/pkgs/by-name/he/hello/package.nix",
      ]),
    ).toEqual(["hello", "Zoom", "0ad", "_1password-gui"]);
  });

  it("accepts one-character names, whose shard is one character", () => {
    expect(attrsFromChangedFiles(["pkgs/by-name/z/z/package.nix"])).toEqual(["z"]);
  });
});

describe("isValidAttrPath", () => {
  it.each([
    "hello",
    "python312Packages.requests",
    "haskellPackages.lens_4",
    "gtk+",
    "foo'",
    "0ad",
    "_1password-gui",
    "nixosTests.simple-container",
  ])("accepts %j", (attr) => {
    expect(isValidAttrPath(attr)).toBe(true);
  });

  it.each([
    "",
    "-hello",
    "--option",
    "foo..bar",
    ".foo",
    "foo.",
    "foo bar",
    "foo.-bar",
    "nixos/ssh",
    "foo;rm",
    "$(id)",
    "a\nb",
    "{a,b}",
    "héllo",
    "a".repeat(201),
  ])("refuses %j", (attr) => {
    expect(isValidAttrPath(attr)).toBe(false);
  });

  it("accepts 200 characters", () => {
    expect(isValidAttrPath("a".repeat(200))).toBe(true);
  });
});

describe("chooseTargets", () => {
  const everything: ChooseTargetsInput = {
    system,
    rebuildsByPlatform: { [system]: ["hello", "hello.tests"], "aarch64-darwin": ["darwinOnly"] },
    changedFiles: ["pkgs/by-name/he/hello/package.nix", "pkgs/by-name/gr/grep/package.nix"],
    commitTitles: ["curl: 8.9 -> 8.10"],
  };

  it("lets the host override win over every other source", () => {
    const choice = chooseTargets({ ...everything, hostOverride: [" firefox ", "", "firefox", "thunderbird"] });
    expect(choice.source).toBe("host");
    expect(choice.targets).toEqual([
      { attr: "firefox", source: "host" },
      { attr: "thunderbird", source: "host" },
    ]);
    expect(choice.note).toBe("2 attrs chosen by the host");
  });

  it("ignores an empty or blank host override", () => {
    expect(chooseTargets({ ...everything, hostOverride: [] }).source).toBe("ci-artifact");
    expect(chooseTargets({ ...everything, hostOverride: ["  "] }).source).toBe("ci-artifact");
    expect(chooseTargets({ ...everything, hostOverride: null }).source).toBe("ci-artifact");
  });

  it("keeps a host override final even when every name is invalid", () => {
    const choice = chooseTargets({ ...everything, hostOverride: ["rm -rf", "--impure"] });
    expect(choice.targets).toEqual([]);
    expect(choice.source).toBe("host");
    expect(choice.note).toMatch(/^nothing to build — /);
    expect(choice.note).toContain("dropped 2 invalid attr names: “rm -rf”, “--impure”");
  });

  it("uses the CI artifact list for the build system, before by-name paths and titles", () => {
    const choice = chooseTargets(everything);
    expect(choice.source).toBe("ci-artifact");
    expect(choice.targets).toEqual([
      { attr: "hello", source: "ci-artifact" },
      { attr: "hello.tests", source: "ci-artifact" },
    ]);
    expect(choice.overflow).toEqual([]);
    expect(choice.note).toBe("2 attrs from the CI comparison artifact (x86_64-linux)");
  });

  it("says 1 attr, not 1 attrs", () => {
    const choice = chooseTargets({ ...base, rebuildsByPlatform: { [system]: ["hello"] } });
    expect(choice.note).toBe("1 attr from the CI comparison artifact (x86_64-linux)");
  });

  it("treats an empty CI list for this system as authoritative: nothing to build", () => {
    const choice = chooseTargets({ ...everything, rebuildsByPlatform: { [system]: [] } });
    expect(choice.targets).toEqual([]);
    expect(choice.source).toBe("ci-artifact");
    expect(choice.note).toBe("nothing to build — CI reports no rebuilds on x86_64-linux; host, pick attrs");
  });

  it("falls through to by-name paths when the artifact has no list for this system", () => {
    const choice = chooseTargets({ ...everything, rebuildsByPlatform: { "aarch64-darwin": ["x"] } });
    expect(choice.source).toBe("by-name");
    expect(attrs(choice)).toEqual(["hello", "grep"]);
    expect(choice.note).toBe("2 attrs from changed pkgs/by-name paths");
  });

  it("does not read inherited keys as systems", () => {
    const choice = chooseTargets({ ...base, system: "toString", rebuildsByPlatform: {}, commitTitles: ["jq: 1.7"] });
    expect(choice.source).toBe("commit-title");
  });

  it("falls through to commit titles when there is no artifact and no by-name change", () => {
    const choice = chooseTargets({
      ...base,
      changedFiles: ["pkgs/tools/misc/curl/default.nix"],
      commitTitles: ["curl: 8.9 -> 8.10", "curl,wget: fix", "treewide: format"],
    });
    expect(choice.source).toBe("commit-title");
    expect(choice.targets).toEqual([
      { attr: "curl", source: "commit-title" },
      { attr: "wget", source: "commit-title" },
    ]);
    expect(choice.note).toBe("2 attrs from commit titles");
  });

  it("intersects commit-title names with knownAttrs and says which were ignored", () => {
    const choice = chooseTargets({
      ...base,
      commitTitles: ["doc: fix typo", "curl: 8.10", "nixos/ssh: fix"],
      knownAttrs: new Set(["curl", "hello"]),
    });
    expect(attrs(choice)).toEqual(["curl"]);
    expect(choice.note).toBe(
      "1 attr from commit titles; dropped 1 invalid attr name: “nixos/ssh”; ignored 1 commit-title name not in the eval: “doc”",
    );
  });

  it("does not apply knownAttrs to the CI artifact or by-name sources", () => {
    const known = new Set<string>();
    expect(attrs(chooseTargets({ ...everything, knownAttrs: known }))).toEqual(["hello", "hello.tests"]);
    expect(attrs(chooseTargets({ ...everything, rebuildsByPlatform: null, knownAttrs: known }))).toEqual([
      "hello",
      "grep",
    ]);
  });

  it("says nothing to build, and why, when no source yields an attr", () => {
    const choice = chooseTargets({ ...base, commitTitles: ["Merge branch 'master'", "treewide: x"] });
    expect(choice).toEqual({
      targets: [],
      overflow: [],
      source: null,
      note: "nothing to build — no CI comparison artifact, no pkgs/by-name changes, no package names in commit titles; host, pick attrs",
    });
  });

  it("names unusable commit-title names when they are all that is left", () => {
    const choice = chooseTargets({
      ...base,
      rebuildsByPlatform: {},
      commitTitles: ["nixos/ssh: fix", "doc: typo"],
      knownAttrs: new Set(["hello"]),
    });
    expect(choice.targets).toEqual([]);
    expect(choice.source).toBeNull();
    expect(choice.note).toBe(
      "nothing to build — no CI rebuild list for x86_64-linux, no pkgs/by-name changes, no usable package names in commit titles (invalid: “nixos/ssh”; not in the eval: “doc”); host, pick attrs",
    );
  });

  it("caps at 20 by default and puts the rest in overflow, in order", () => {
    const list = range(25, "pkg");
    const choice = chooseTargets({ ...base, rebuildsByPlatform: { [system]: list } });
    expect(attrs(choice)).toEqual(list.slice(0, 20));
    expect(choice.overflow).toEqual(list.slice(20));
    expect(choice.note).toBe("20 of 25 attrs from the CI comparison artifact (x86_64-linux); 5 more over the cap of 20");
  });

  it("honours a custom cap and never lets it go below 1", () => {
    const list = range(5, "pkg");
    expect(attrs(chooseTargets({ ...base, rebuildsByPlatform: { [system]: list }, cap: 2 }))).toEqual(["pkg0", "pkg1"]);
    expect(attrs(chooseTargets({ ...base, rebuildsByPlatform: { [system]: list }, cap: 0 }))).toEqual(["pkg0"]);
    expect(attrs(chooseTargets({ ...base, rebuildsByPlatform: { [system]: list }, cap: Number.NaN }))).toHaveLength(5);
  });

  it("drops invalid names before capping, deduplicates, and names what it dropped", () => {
    const choice = chooseTargets({
      ...base,
      rebuildsByPlatform: { [system]: ["hello", "-evil", "hello", "a b", "foo..bar", "x; rm", "grep"] },
      cap: 1,
    });
    expect(attrs(choice)).toEqual(["hello"]);
    expect(choice.overflow).toEqual(["grep"]);
    expect(choice.note).toBe(
      "1 of 2 attrs from the CI comparison artifact (x86_64-linux); 1 more over the cap of 1; dropped 4 invalid attr names: “-evil”, “a b”, “foo..bar” and 1 more",
    );
  });

  it("shortens long invalid names in the note without splitting characters", () => {
    const choice = chooseTargets({ ...base, hostOverride: [`${"🦀".repeat(50)} x`] });
    expect(choice.note).toBe(`nothing to build — dropped 1 invalid attr name: “${"🦀".repeat(40)}…”; host, pick attrs`);
  });

  it("says nothing to build when every CI name is invalid, instead of falling through", () => {
    const choice = chooseTargets({ ...everything, rebuildsByPlatform: { [system]: ["$(id)"] } });
    expect(choice.targets).toEqual([]);
    expect(choice.source).toBe("ci-artifact");
    expect(choice.note).toMatch(/^nothing to build — dropped 1 invalid attr name: “\$\(id\)”/);
  });

  it("always pairs an empty target list with a note starting 'nothing to build'", () => {
    const inputs: ChooseTargetsInput[] = [
      base,
      { ...base, rebuildsByPlatform: { [system]: [] } },
      { ...base, rebuildsByPlatform: { [system]: ["a b"] } },
      { ...base, hostOverride: ["..."] },
      { ...base, commitTitles: ["WIP: hello: 1"] },
      { ...base, commitTitles: ["hello: 1"], knownAttrs: new Set() },
    ];
    for (const input of inputs) {
      const choice = chooseTargets(input);
      expect(choice.targets).toEqual([]);
      expect(choice.note.startsWith("nothing to build")).toBe(true);
    }
  });
});
