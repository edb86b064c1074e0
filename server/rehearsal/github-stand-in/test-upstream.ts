import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A minimal upstream for tests: a bare repo with `master`, and per PR `refs/pull/N/head` plus a
 * `--no-ff` test merge as `refs/pull/N/merge` (absent when the PR conflicts), which is all the
 * GitHub stand-in reads. Built with real git through a work tree next to it.
 */
export interface TestUpstreamCommit {
  message: string;
  /** Path → new content; null deletes the file. */
  files: Record<string, string | null>;
}

export interface TestUpstream {
  upstreamDir: string;
  workDir: string;
  addPullRequest(number: number, commits: TestUpstreamCommit[]): Promise<{ headSha: string; mergeSha: string | null }>;
  pushToPullRequest(number: number, commit: TestUpstreamCommit): Promise<{ headSha: string; mergeSha: string | null }>;
  /** Moves master; merge refs are only recomputed by `refreshMergeRef`, as GitHub does it lazily. */
  commitToMaster(commit: TestUpstreamCommit): Promise<string>;
  refreshMergeRef(number: number): Promise<string | null>;
  revParse(ref: string): Promise<string | null>;
}

const GIT_IDENTITY = [
  "-c",
  "user.name=Rehearsal Upstream",
  "-c",
  "user.email=rehearsal@example.invalid",
  "-c",
  "init.defaultBranch=master",
  "-c",
  "commit.gpgsign=false",
];

const DEFAULT_FILES: Record<string, string> = {
  "README.md": "# mini nixpkgs\n",
  "pkgs/by-name/he/hello/package.nix": '{ stdenv }:\nstdenv.mkDerivation {\n  pname = "hello";\n  version = "1.0";\n}\n',
};

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", [...GIT_IDENTITY, ...args], { cwd, timeout: 30_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

export async function createTestUpstream(
  root: string,
  initialFiles: Record<string, string> = DEFAULT_FILES,
): Promise<TestUpstream> {
  const upstreamDir = path.join(root, "upstream.git");
  const workDir = path.join(root, "upstream-work");
  await mkdir(root, { recursive: true });
  await git(root, ["init", "-q", "--bare", upstreamDir]);
  await git(root, ["init", "-q", workDir]);
  await git(workDir, ["remote", "add", "upstream", upstreamDir]);

  const writeFiles = async (files: Record<string, string | null>) => {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(workDir, file);
      if (content === null) {
        await rm(target, { force: true });
      } else {
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, content);
      }
    }
  };
  const commit = async ({ message, files }: TestUpstreamCommit) => {
    await writeFiles(files);
    await git(workDir, ["add", "-A"]);
    await git(workDir, ["commit", "-q", "--allow-empty", "-m", message]);
    return git(workDir, ["rev-parse", "HEAD"]);
  };
  const revParse = async (ref: string) => {
    try {
      return await git(workDir, ["--git-dir", upstreamDir, "rev-parse", "--verify", "--quiet", ref]);
    } catch {
      return null;
    }
  };

  await commit({ message: "init", files: initialFiles });
  await git(workDir, ["push", "-q", "upstream", "master"]);

  const refreshMergeRef = async (number: number) => {
    const head = await git(workDir, ["rev-parse", `pr-${number}`]);
    const base = await git(workDir, ["rev-parse", "master"]);
    await git(workDir, ["checkout", "-q", "--detach", "master"]);
    try {
      await git(workDir, ["merge", "-q", "--no-ff", "--no-edit", "-m", `Merge ${head} into ${base}`, `pr-${number}`]);
    } catch {
      await git(workDir, ["merge", "--abort"]);
      await git(workDir, ["--git-dir", upstreamDir, "update-ref", "-d", `refs/pull/${number}/merge`]);
      return null;
    }
    await git(workDir, ["push", "-q", "--force", "upstream", `HEAD:refs/pull/${number}/merge`]);
    return git(workDir, ["rev-parse", "HEAD"]);
  };

  const pushHead = async (number: number) => {
    const headSha = await git(workDir, ["rev-parse", "HEAD"]);
    await git(workDir, ["push", "-q", "--force", "upstream", `HEAD:refs/pull/${number}/head`]);
    return { headSha, mergeSha: await refreshMergeRef(number) };
  };

  return {
    upstreamDir,
    workDir,
    revParse,
    refreshMergeRef,
    async addPullRequest(number, commits) {
      await git(workDir, ["checkout", "-q", "-B", `pr-${number}`, "master"]);
      for (const c of commits) await commit(c);
      return pushHead(number);
    },
    async pushToPullRequest(number, c) {
      await git(workDir, ["checkout", "-q", `pr-${number}`]);
      await commit(c);
      return pushHead(number);
    },
    async commitToMaster(c) {
      await git(workDir, ["checkout", "-q", "master"]);
      const sha = await commit(c);
      await git(workDir, ["push", "-q", "upstream", "master"]);
      return sha;
    },
  };
}
