import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { AppError } from "../errors";
import { runGit } from "../workspace/git";
import * as t from "./mini-nixpkgs-templates";

/**
 * A rehearsal nixpkgs: a real git repository laid out like nixpkgs, whose packages build offline
 * with a bare Nix in seconds, published as a bare "upstream" repository that serves pull requests
 * the way GitHub does (refs/pull/N/head, refs/pull/N/merge, fetch by SHA).
 */

export interface PullRequestFixture {
  number: number;
  title: string;
  author: string;
  /** What the PR rehearses: "quick-pass", "build-failure", "dependency-chain", … */
  kind: string;
  baseRef: "master";
  baseSha: string;
  /** What GitHub would report as head.sha (for 400006: the commit pushed after the merge). */
  headSha: string;
  /** What GitHub would report as merge_commit_sha; for 400006 it is stale (its ^2 is not headSha). */
  mergeSha: string | null;
  /** Attributes whose derivations differ from master's at the merge commit (what to rebuild). */
  changedAttrs: string[];
  /** Files the PR changes relative to master. */
  changedFiles: string[];
  expected: "pass" | "fail" | "head-moved";
  /** For expected "fail": the attribute that fails, where, the line to look for in its log, and
   * the attributes that then fail as dependencies (with --keep-going). */
  failure?: { attr: string; phase: string; line: string; dependents: string[] };
  /** For 400006: the head the stale merge commit was computed from (merge^2). */
  staleHeadSha?: string;
}

export interface MiniNixpkgs {
  /** A checkout of master (the generator's working repository). */
  root: string;
  upstreamDir: string;
  /** file:// URL of upstreamDir, so git uses the real fetch protocol (by SHA, --depth). */
  gitUrl: string;
  salt: string;
  masterSha: string;
  pullRequests: PullRequestFixture[];
  /** Every top-level attribute on master, sorted. */
  attrs: string[];
}

export interface GenerateOptions {
  dir: string;
  /** Extra trivial by-name packages, for benchmarks (0 to 20,000; default 10). */
  size?: number;
  /** Baked into every derivation; default random, so every generated repository really builds. */
  salt?: string;
  /** Log lines chatty prints (default 4000). */
  chattyLines?: number;
  /** Roughly how long chatty's build takes (default 20). */
  chattySeconds?: number;
}

const MAX_SIZE = 20_000;
const DEFAULT_SIZE = 10;
const COMMIT_EPOCH = Date.parse("2024-06-03T09:00:00Z") / 1000;

/** git without the user's or the system's config, so generation is the same on every machine. */
const HERMETIC_ENV = { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };

const MAINTAINER = { name: "rehearsal-maintainer", email: "rehearsal-maintainer@users.noreply.github.com" };
const GITHUB = { name: "GitHub", email: "noreply@github.com" };

function person(login: string): { name: string; email: string } {
  return { name: login, email: `${login}@users.noreply.github.com` };
}

/** nixpkgs' by-name shard: the first two letters of the name, lowercased. */
export function byNamePath(name: string): string {
  return `pkgs/by-name/${name.slice(0, 2).toLowerCase()}/${name}/package.nix`;
}

interface PullRequestPlan {
  number: number;
  title: string;
  author: string;
  kind: string;
  /** Branch the PR head starts from: master, or another PR (stacked). */
  from: "master" | number;
  files: Record<string, string>;
  changedAttrs: string[];
  expected: PullRequestFixture["expected"];
  failure?: PullRequestFixture["failure"];
}

function pullRequestPlans(chatty: { lines: number; seconds: number }): PullRequestPlan[] {
  return [
    {
      number: 400001,
      title: "hello: 1.0 -> 1.1",
      author: "greeter-dev",
      kind: "quick-pass",
      from: "master",
      files: { [byNamePath("hello")]: t.helloNix({ version: "1.1" }) },
      changedAttrs: ["hello"],
      expected: "pass",
    },
    {
      number: 400002,
      title: "broken-tool: 0.9 -> 1.0",
      author: "frobnicator",
      kind: "build-failure",
      from: "master",
      files: { [byNamePath("broken-tool")]: t.brokenToolNix("1.0", true) },
      changedAttrs: ["broken-tool"],
      expected: "fail",
      failure: { attr: "broken-tool", phase: "buildPhase", line: t.BROKEN_TOOL_ERROR, dependents: [] },
    },
    {
      number: 400003,
      title: "libchain-core: 1.0 -> 2.0",
      author: "chain-smith",
      kind: "dependency-chain",
      from: "master",
      files: { [byNamePath("libchain-core")]: t.libchainCoreNix("2.0") },
      changedAttrs: ["chain-app", "libchain", "libchain-core"],
      expected: "pass",
    },
    {
      number: 400004,
      title: "chatty: 2.0 -> 2.1",
      author: "verbose-vera",
      kind: "long-log",
      from: "master",
      files: { [byNamePath("chatty")]: t.chattyNix({ version: "2.1", ...chatty }) },
      changedAttrs: ["chatty"],
      expected: "pass",
    },
    {
      number: 400005,
      title: "depfail-lib: 1.0 -> 1.1",
      author: "test-skipper",
      kind: "dependency-failure",
      from: "master",
      files: { [byNamePath("depfail-lib")]: t.depfailLibNix("1.1", true) },
      changedAttrs: ["depfail-app", "depfail-lib"],
      expected: "fail",
      failure: {
        attr: "depfail-lib",
        phase: "checkPhase",
        line: t.DEPFAIL_TEST_ERROR,
        dependents: ["depfail-app"],
      },
    },
    {
      number: 400006,
      title: "hello: 1.1 -> 1.2",
      author: "greeter-dev",
      kind: "stale-merge",
      from: 400001,
      files: { [byNamePath("hello")]: t.helloNix({ version: "1.2" }) },
      changedAttrs: ["hello"],
      expected: "head-moved",
    },
    {
      number: 400007,
      title: "cowsay: init at 3.8",
      author: "moo-maintainer",
      kind: "new-package",
      from: "master",
      files: { [byNamePath("cowsay")]: t.COWSAY_NIX },
      changedAttrs: ["cowsay"],
      expected: "pass",
    },
  ];
}

/** The push that makes 400006's merge commit stale. */
const STALE_PUSH = {
  number: 400006,
  title: "hello: run the test suite",
  files: { [byNamePath("hello")]: t.helloNix({ version: "1.2", runTests: true }) },
};

const FILLER_WORDS = [
  "alpine", "bramble", "cobalt", "drift", "ember", "fjord", "garnet", "harbor", "indigo",
  "juniper", "kestrel", "lumen", "meadow", "nimbus", "onyx", "pebble", "quartz", "ripple",
  "saffron", "thistle", "umber", "vesper", "willow", "xenon", "yarrow", "zephyr",
];

function fillerName(i: number): string {
  const word = FILLER_WORDS[i % FILLER_WORDS.length] ?? "filler";
  return `${word}-${i}`;
}

function masterFiles(opts: { salt: string; size: number; chattyLines: number; chattySeconds: number }) {
  const files: Record<string, string> = {
    "default.nix": t.DEFAULT_NIX,
    "README.md": t.README_MD,
    ".gitignore": t.GITIGNORE,
    "pkgs/top-level/all-packages.nix": t.ALL_PACKAGES_NIX,
    "pkgs/stdenv/default.nix": t.STDENV_NIX,
    "pkgs/stdenv/builder.sh": t.BUILDER_SH,
    "pkgs/stdenv/salt.nix": t.saltNix(opts.salt),
    "pkgs/development/libraries/libchain/default.nix": t.LIBCHAIN_NIX,
    "pkgs/games/sl/default.nix": t.SL_NIX,
    [byNamePath("hello")]: t.helloNix({ version: "1.0" }),
    [byNamePath("libchain-core")]: t.libchainCoreNix("1.0"),
    [byNamePath("chain-app")]: t.CHAIN_APP_NIX,
    [byNamePath("broken-tool")]: t.brokenToolNix("0.9", false),
    [byNamePath("chatty")]: t.chattyNix({ version: "2.0", lines: opts.chattyLines, seconds: opts.chattySeconds }),
    [byNamePath("depfail-lib")]: t.depfailLibNix("1.0", false),
    [byNamePath("depfail-app")]: t.DEPFAIL_APP_NIX,
  };
  for (let i = 1; i <= opts.size; i++) {
    const name = fillerName(i);
    files[byNamePath(name)] = t.fillerNix(name, `0.${i % 10}.${i}`);
  }
  return files;
}

function attrNameOf(file: string): string | null {
  const byName = /^pkgs\/by-name\/[^/]+\/([^/]+)\/package\.nix$/.exec(file);
  if (byName?.[1]) return byName[1];
  if (file === "pkgs/development/libraries/libchain/default.nix") return "libchain";
  if (file === "pkgs/games/sl/default.nix") return "sl";
  return null;
}

interface ImportCommit {
  ref: string;
  mark: number;
  /** First parent: ":<mark>" of an earlier commit in the same stream, or a SHA. */
  from?: string;
  /** Second parent, for merge commits. */
  merge?: string;
  who: { name: string; email: string };
  when: number;
  message: string;
  /** Files to write on top of the first parent's tree; null deletes. */
  files: Record<string, string | null>;
}

/**
 * A `git fast-import` stream. One pack instead of `git add -A` + commit: on slow disks, 20,000
 * loose objects take half a minute to write, one pack a couple of seconds.
 */
function fastImportStream(commits: ImportCommit[]): Buffer {
  const chunks: Buffer[] = [];
  const text = (line: string) => chunks.push(Buffer.from(line, "utf8"));
  const data = (content: string) => {
    const bytes = Buffer.from(content, "utf8");
    chunks.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from("\n"));
  };
  for (const commit of commits) {
    const signature = `${commit.who.name} <${commit.who.email}> ${commit.when} +0000`;
    text(`commit ${commit.ref}\nmark :${commit.mark}\nauthor ${signature}\ncommitter ${signature}\n`);
    data(commit.message);
    if (commit.from) text(`from ${commit.from}\n`);
    if (commit.merge) text(`merge ${commit.merge}\n`);
    for (const [file, content] of Object.entries(commit.files)) {
      if (file.includes("\n") || file.startsWith('"') || file.startsWith("/")) {
        throw new AppError("bad_request", `Cannot commit a file named ${JSON.stringify(file)}: use a relative path on one line.`);
      }
      if (content === null) {
        text(`D ${file}\n`);
      } else {
        text(`M 100644 inline ${file}\n`);
        data(content);
      }
    }
    text("\n");
  }
  return Buffer.concat(chunks);
}

export async function generateMiniNixpkgs(opts: GenerateOptions): Promise<MiniNixpkgs> {
  const size = opts.size ?? DEFAULT_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_SIZE) {
    throw new AppError("bad_request", `The rehearsal nixpkgs size must be a whole number from 0 to ${MAX_SIZE}; got ${size}.`);
  }
  const salt = opts.salt ?? randomBytes(8).toString("hex");
  if (!/^[A-Za-z0-9._-]+$/.test(salt)) {
    throw new AppError("bad_request", `The rehearsal salt may only contain letters, digits, ".", "_" and "-"; got "${salt}".`);
  }
  const chattyLines = opts.chattyLines ?? 4000;
  const chattySeconds = opts.chattySeconds ?? 20;
  if (!Number.isInteger(chattyLines) || chattyLines < 1 || !(chattySeconds >= 0)) {
    throw new AppError("bad_request", `chatty needs a whole number of lines (got ${chattyLines}) and seconds of at least 0 (got ${chattySeconds}).`);
  }

  const dir = path.resolve(opts.dir);
  const root = path.join(dir, "nixpkgs");
  const upstreamDir = path.join(dir, "upstream.git");
  const gitUrl = pathToFileURL(upstreamDir).href;
  for (const target of [root, upstreamDir]) {
    if (existsSync(target)) {
      throw new AppError("conflict", `${target} already exists; generate the rehearsal nixpkgs into an empty directory.`);
    }
  }
  await mkdir(root, { recursive: true });

  const env = HERMETIC_ENV;
  const git = (args: string[], input?: Buffer) =>
    runGit(args, { cwd: root, env, timeoutMs: 10 * 60_000, ...(input ? { input } : {}) });
  const upstreamGit = (args: string[]) => runGit(args, { cwd: upstreamDir, env });

  const files = masterFiles({ salt, size, chattyLines, chattySeconds });
  const plans = pullRequestPlans({ lines: chattyLines, seconds: chattySeconds });

  let clock = COMMIT_EPOCH;
  const commits: ImportCommit[] = [
    {
      ref: "refs/heads/master",
      mark: 1,
      who: MAINTAINER,
      when: clock,
      message: "rehearsal nixpkgs: import package set\n",
      files,
    },
  ];
  const headMark = (n: number) => 2 * plans.findIndex((p) => p.number === n) + 2;
  const filesOf = (plan: PullRequestPlan): Record<string, string> => {
    const stackedOn = plan.from === "master" ? undefined : plans.find((p) => p.number === plan.from);
    return { ...(stackedOn ? filesOf(stackedOn) : {}), ...plan.files };
  };
  for (const plan of plans) {
    commits.push({
      ref: `refs/pull/${plan.number}/head`,
      mark: headMark(plan.number),
      from: plan.from === "master" ? ":1" : `:${headMark(plan.from)}`,
      who: person(plan.author),
      when: (clock += 3600),
      message: `${plan.title}\n`,
      files: plan.files,
    });
  }
  // GitHub's test merge commit: master as first parent, the PR head as second. Every PR starts
  // at master's tip, so the merged tree is master plus the PR's files.
  for (const plan of plans) {
    commits.push({
      ref: `refs/pull/${plan.number}/merge`,
      mark: headMark(plan.number) + 1,
      from: ":1",
      merge: `:${headMark(plan.number)}`,
      who: GITHUB,
      when: (clock += 60),
      message: `Merge ${plan.title} into master\n`,
      files: filesOf(plan),
    });
  }

  await git(["-c", "init.defaultBranch=master", "init", "--quiet"]);
  await git(["fast-import", "--quiet"], fastImportStream(commits));
  await git(["checkout", "--quiet", "--force", "master"]);
  const refs = new Map(
    (await git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/master", "refs/pull"]))
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
  const masterSha = refs.get("refs/heads/master") ?? "";
  const heads = new Map(plans.map((p) => [p.number, refs.get(`refs/pull/${p.number}/head`) ?? ""]));
  const merges = new Map(plans.map((p) => [p.number, refs.get(`refs/pull/${p.number}/merge`) ?? ""]));

  await runGit(["-c", "init.defaultBranch=master", "init", "--quiet", "--bare", upstreamDir], { cwd: dir, env });
  await upstreamGit(["config", "uploadpack.allowAnySHA1InWant", "true"]);
  await upstreamGit(["config", "uploadpack.allowReachableSHA1InWant", "true"]);
  await upstreamGit(["symbolic-ref", "HEAD", "refs/heads/master"]);
  await git(["push", "--quiet", "--no-verify", upstreamDir, "refs/heads/master:refs/heads/master", "refs/pull/*:refs/pull/*"]);
  const staleHeadSha = heads.get(STALE_PUSH.number);
  const movedHead = await pushToPullRequest(upstreamDir, STALE_PUSH.number, STALE_PUSH);
  heads.set(STALE_PUSH.number, movedHead);

  // The checkout sees PRs the way a contributor's clone would: as origin/pull/N/*, kept current
  // by `git fetch`, rather than as local refs that go stale.
  const localPullRefs = plans.flatMap((p) => [`refs/pull/${p.number}/head`, `refs/pull/${p.number}/merge`]);
  await git(["update-ref", "--stdin"], Buffer.from(localPullRefs.map((ref) => `delete ${ref}\n`).join("")));
  await git(["remote", "add", "origin", gitUrl]);
  await git(["config", "--add", "remote.origin.fetch", "+refs/pull/*:refs/remotes/origin/pull/*"]);
  await git(["fetch", "--quiet", "origin"]);
  await git(["branch", "--quiet", "--set-upstream-to=origin/master", "master"]);

  const pullRequests: PullRequestFixture[] = [];
  for (const plan of plans) {
    const headSha = heads.get(plan.number) ?? "";
    const changedFiles = (await upstreamGit(["diff", "--name-only", masterSha, headSha])).split("\n").filter(Boolean);
    pullRequests.push({
      number: plan.number,
      title: plan.title,
      author: plan.author,
      kind: plan.kind,
      baseRef: "master",
      baseSha: masterSha,
      headSha,
      mergeSha: merges.get(plan.number) ?? null,
      changedAttrs: plan.changedAttrs,
      changedFiles,
      expected: plan.expected,
      ...(plan.failure ? { failure: plan.failure } : {}),
      ...(plan.number === STALE_PUSH.number && staleHeadSha ? { staleHeadSha } : {}),
    });
  }

  const attrs = [
    ...new Set(Object.keys(files).map(attrNameOf).filter((name): name is string => name !== null)),
  ].sort();
  return { root, upstreamDir, gitUrl, salt, masterSha, pullRequests, attrs };
}

/**
 * Pushes a commit to a PR the way its author would: refs/pull/N/head moves, refs/pull/N/merge
 * stays where it was (stale), as on GitHub in the seconds after a push. `null` deletes a file.
 */
export async function pushToPullRequest(
  upstreamDir: string,
  number: number,
  change: { title: string; files: Record<string, string | null> },
): Promise<string> {
  const headRef = `refs/pull/${number}/head`;
  const git = (args: string[], input?: Buffer) =>
    runGit(args, { cwd: upstreamDir, env: HERMETIC_ENV, ...(input ? { input } : {}) });
  const oldHead = (await git(["rev-parse", "--verify", "--quiet", `${headRef}^{commit}`]).catch(() => "")).trim();
  if (!oldHead) {
    throw new AppError("not_found", `The rehearsal upstream has no PR #${number} (no ${headRef}); generate it first.`);
  }
  // The new commit is by the PR's author, an hour after the commit it follows.
  const [name = MAINTAINER.name, email = MAINTAINER.email, date = String(COMMIT_EPOCH)] = (
    await git(["log", "-1", "--format=%an%n%ae%n%ct", oldHead])
  )
    .trim()
    .split("\n");
  const stream = fastImportStream([
    {
      ref: headRef,
      mark: 1,
      from: oldHead,
      who: { name, email },
      when: Number(date) + 3600,
      message: `${change.title}\n`,
      files: change.files,
    },
  ]);
  await git(["fast-import", "--quiet"], stream);
  return (await git(["rev-parse", headRef])).trim();
}

/**
 * Opens a new pull request on the rehearsal upstream, the way a contributor and GitHub would:
 * one commit on top of master as refs/pull/N/head, and GitHub's test merge commit (master as
 * first parent, the head as second) as refs/pull/N/merge. `null` deletes a file. Tests use it for
 * PRs the fixed table does not have; tell the GitHub stand-in about it with setPullRequest.
 */
export async function addPullRequest(
  upstreamDir: string,
  pr: { number: number; title: string; author: string; files: Record<string, string | null> },
): Promise<{ baseSha: string; headSha: string; mergeSha: string }> {
  const git = (args: string[], input?: Buffer) =>
    runGit(args, { cwd: upstreamDir, env: HERMETIC_ENV, ...(input ? { input } : {}) });
  const exists = (await git(["rev-parse", "--verify", "--quiet", `refs/pull/${pr.number}/head`]).catch(() => "")).trim();
  if (exists) throw new AppError("conflict", `The rehearsal upstream already has PR #${pr.number}.`);
  const baseSha = (await git(["rev-parse", "refs/heads/master"])).trim();
  const when = Number((await git(["log", "-1", "--format=%ct", baseSha])).trim()) + 3600;
  const stream = fastImportStream([
    {
      ref: `refs/pull/${pr.number}/head`,
      mark: 1,
      from: baseSha,
      who: person(pr.author),
      when,
      message: `${pr.title}\n`,
      files: pr.files,
    },
    {
      ref: `refs/pull/${pr.number}/merge`,
      mark: 2,
      from: baseSha,
      merge: ":1",
      who: GITHUB,
      when: when + 60,
      message: `Merge ${pr.title} into master\n`,
      files: pr.files,
    },
  ]);
  await git(["fast-import", "--quiet"], stream);
  const [headSha = "", mergeSha = ""] = (await git(["rev-parse", `refs/pull/${pr.number}/head`, `refs/pull/${pr.number}/merge`]))
    .trim()
    .split("\n");
  return { baseSha, headSha, mergeSha };
}
