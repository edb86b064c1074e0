import { execFile } from "node:child_process";

/**
 * Read-only access to the stand-in's upstream bare repository. Every answer is read from git on
 * each request, so a push to `refs/pull/N/head` shows up on the next API call, exactly as on
 * GitHub, and the SHAs the API reports are the ones `git fetch` will see.
 */
const GIT_TIMEOUT_MS = 30_000;

export interface PullRequestRefs {
  headSha: string;
  /** The test merge commit (`refs/pull/N/merge`); null when the PR does not merge cleanly. */
  mergeSha: string | null;
  baseSha: string | null;
  headCommittedAt: string;
}

export interface ChangedFile {
  filename: string;
  previousFilename: string | null;
  status: "added" | "modified" | "removed" | "renamed" | "copied" | "changed";
  blobSha: string;
  additions: number;
  deletions: number;
}

export interface CommitRecord {
  sha: string;
  parents: string[];
  tree: string;
  authorName: string;
  authorEmail: string;
  authorDate: string;
  committerName: string;
  committerEmail: string;
  committerDate: string;
  message: string;
}

const STATUS_BY_LETTER: Record<string, ChangedFile["status"]> = {
  A: "added",
  M: "modified",
  D: "removed",
  R: "renamed",
  C: "copied",
  T: "changed",
};

const ZERO_SHA = "0000000000000000000000000000000000000000";

export class UpstreamGit {
  constructor(readonly gitDir: string) {}

  run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        "git",
        ["--git-dir", this.gitDir, ...args],
        { timeout: GIT_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
        (error, stdout, stderr) => {
          if (error) {
            reject(new Error(`git ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
          } else {
            resolve(stdout);
          }
        },
      );
    });
  }

  async readPullRequestRefs(number: number, baseRef: string): Promise<PullRequestRefs | null> {
    const head = `refs/pull/${number}/head`;
    const merge = `refs/pull/${number}/merge`;
    const base = `refs/heads/${baseRef}`;
    const out = await this.run([
      "for-each-ref",
      "--format=%(refname)\t%(objectname)\t%(committerdate:iso-strict)",
      head,
      merge,
      base,
    ]);
    const found = new Map<string, { sha: string; date: string }>();
    for (const line of out.split("\n")) {
      const [name, sha, date] = line.split("\t");
      if (name && sha && date !== undefined) found.set(name, { sha, date });
    }
    const headRef = found.get(head);
    if (!headRef) return null;
    return {
      headSha: headRef.sha,
      mergeSha: found.get(merge)?.sha ?? null,
      baseSha: found.get(base)?.sha ?? null,
      headCommittedAt: new Date(headRef.date).toISOString(),
    };
  }

  /**
   * Where the PR's own changes start, like GitHub's three-dot comparison: the merge base of the
   * base tip (the test merge's first parent when there is one) and the head.
   */
  async diffBase(refs: PullRequestRefs): Promise<string | null> {
    const baseTip = refs.mergeSha ? `${refs.mergeSha}^1` : refs.baseSha;
    if (!baseTip) return null;
    try {
      return (await this.run(["merge-base", baseTip, refs.headSha])).trim();
    } catch {
      return null;
    }
  }

  async changedFiles(from: string, to: string): Promise<ChangedFile[]> {
    const [raw, numstat] = await Promise.all([
      this.run(["diff", "--raw", "-z", "-M", "--no-abbrev", from, to]),
      this.run(["diff", "--numstat", "-z", "-M", from, to]),
    ]);
    const counts = parseNumstat(numstat);
    const files: ChangedFile[] = [];
    const tokens = raw.split("\0");
    for (let i = 0; i < tokens.length; i++) {
      const meta = tokens[i];
      if (!meta?.startsWith(":")) continue;
      const [, , oldBlob = ZERO_SHA, newBlob = ZERO_SHA, letters = "M"] = meta.slice(1).split(" ");
      const letter = letters.charAt(0);
      const twoPaths = letter === "R" || letter === "C";
      const first = tokens[++i] ?? "";
      const second = twoPaths ? (tokens[++i] ?? "") : null;
      const filename = second ?? first;
      const count = counts.get(filename) ?? { additions: 0, deletions: 0 };
      files.push({
        filename,
        previousFilename: second === null ? null : first,
        status: STATUS_BY_LETTER[letter] ?? "modified",
        blobSha: letter === "D" ? oldBlob : newBlob,
        ...count,
      });
    }
    return files;
  }

  async commits(from: string | null, to: string): Promise<CommitRecord[]> {
    const format = ["%H", "%P", "%T", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"].join("%x1f");
    const range = from ? [`${from}..${to}`] : [to];
    const out = await this.run(["log", "-z", "--reverse", `--format=${format}`, ...range]);
    return out
      .split("\0")
      .filter((record) => record.trim() !== "")
      .map((record) => {
        const [sha = "", parents = "", tree = "", an = "", ae = "", ad = "", cn = "", ce = "", cd = "", ...rest] =
          record.replace(/^\n/, "").split("\x1f");
        return {
          sha,
          parents: parents.split(" ").filter(Boolean),
          tree,
          authorName: an,
          authorEmail: ae,
          authorDate: new Date(ad).toISOString(),
          committerName: cn,
          committerEmail: ce,
          committerDate: new Date(cd).toISOString(),
          message: rest.join("\x1f").replace(/\s+$/, ""),
        };
      });
  }
}

function parseNumstat(out: string): Map<string, { additions: number; deletions: number }> {
  const counts = new Map<string, { additions: number; deletions: number }>();
  const tokens = out.split("\0");
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!token) continue;
    const [added = "0", deleted = "0", path = ""] = token.replace(/^\n/, "").split("\t");
    // Renames put an empty path here, followed by the old and the new path as their own tokens.
    const filename = path === "" ? (i += 2, tokens[i] ?? "") : path;
    counts.set(filename, {
      additions: added === "-" ? 0 : Number(added),
      deletions: deleted === "-" ? 0 : Number(deleted),
    });
  }
  return counts;
}
