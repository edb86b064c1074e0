import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LogStore, TAIL_AFTER_TRUNCATION, truncationMarker } from "../../server/builds/log-store";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-logs-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const texts = (lines: Array<{ text: string }>) => lines.map((l) => l.text);

describe("log store", () => {
  it("numbers lines from 1 and serves any range, also from a new store on the same directory (a restart)", () => {
    const logs = new LogStore(dir);
    for (let i = 1; i <= 2000; i++) logs.append(7, i % 3 === 0 ? "hello-1.1" : null, `line ${i}`);
    expect(logs.count(7)).toBe(2000);
    expect(logs.read(7, 255, 4)).toEqual([255, 256, 257, 258].map((seq) => ({ seq, drv: seq % 3 === 0 ? "hello-1.1" : null, text: `line ${seq}` })));
    expect(texts(logs.read(7, 1999, 100))).toEqual(["line 1999", "line 2000"]);
    expect(logs.read(7, 2001)).toEqual([]);
    logs.closeAll();

    const again = new LogStore(dir);
    expect(again.count(7)).toBe(2000);
    expect(again.read(7, 1, 100_000).map((l) => l.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(again.read(7, 1500, 1)).toEqual([{ seq: 1500, drv: "hello-1.1", text: "line 1500" }]);
    expect(again.count(8)).toBe(0);
    expect(again.read(8)).toEqual([]);
  });

  it("reads one derivation's lines, from a line on, and the last lines of a derivation", () => {
    const logs = new LogStore(dir);
    // Line i belongs to a when i % 3 == 1, to b when i % 3 == 2, to nix itself otherwise.
    for (let i = 1; i <= 900; i++) logs.append(1, [null, "a-1.0", "b-2.0"][i % 3]!, `${i}`);
    const ofA = logs.read(1, 1, 5, { drv: "a-1.0" });
    expect(ofA.map((l) => l.seq)).toEqual([1, 4, 7, 10, 13]);
    expect(logs.read(1, 500, 2, { drv: "b-2.0" }).map((l) => l.seq)).toEqual([500, 503]);
    expect(logs.read(1, 1, 3, { drv: null }).map((l) => l.seq)).toEqual([3, 6, 9]);
    expect(logs.read(1, 1, 10, { drv: "nobody-0" })).toEqual([]);
    expect(texts(logs.tail(1, "a-1.0", 3))).toEqual(["892", "895", "898"]);
    expect(texts(logs.tail(1, undefined, 2))).toEqual(["899", "900"]);
    expect(texts(logs.tail(1, "a-1.0", 10_000))).toHaveLength(300);
  });

  it("keeps characters whole when the last lines span several read chunks", () => {
    const logs = new LogStore(dir);
    const long = (i: number) => `${i} ${"ünïcødé 😀 ".repeat(400)}`;
    for (let i = 1; i <= 200; i++) logs.append(2, i % 2 ? "x-1" : "y-1", long(i));
    logs.close(2);
    expect(texts(new LogStore(dir).tail(2, "x-1", 60))).toEqual(Array.from({ length: 60 }, (_, i) => long(81 + 2 * i)));
  });

  it("stops at the cap with one marker line, then appends the build's last lines when it ends", () => {
    const logs = new LogStore(dir, { maxLines: 10 });
    const returned = Array.from({ length: 25 }, (_, i) => logs.append(3, "big-1", `line ${i + 1}`));
    expect(returned.slice(0, 10).map((l) => l?.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(returned[10]).toEqual({ seq: 11, drv: null, text: truncationMarker(10) });
    expect(returned.slice(11)).toEqual(Array(14).fill(null));
    expect(logs.count(3)).toBe(11);

    const tail = logs.close(3);
    expect(tail.map((l) => [l.seq, l.text])).toEqual(Array.from({ length: 15 }, (_, i) => [12 + i, `line ${11 + i}`]));
    const all = new LogStore(dir).read(3, 1, 1000);
    expect(all).toHaveLength(26);
    expect(all.filter((l) => l.text.startsWith("… log truncated"))).toHaveLength(1);
    expect(truncationMarker(200_000)).toBe(
      "… log truncated after 200,000 lines (LOG_MAX_LINES); the last 100 lines of the build follow when it ends",
    );
  });

  it("keeps only the last lines after the cap, and takes no more lines after a restart", () => {
    const logs = new LogStore(dir, { maxLines: 5 });
    for (let i = 1; i <= 1000; i++) logs.append(4, null, `line ${i}`);
    const tail = logs.close(4);
    expect(tail).toHaveLength(TAIL_AFTER_TRUNCATION);
    expect(texts(tail).at(0)).toBe("line 901");
    expect(texts(tail).at(-1)).toBe("line 1000");

    const reopened = new LogStore(dir, { maxLines: 5 });
    expect(reopened.append(4, null, "after the restart")).toBeNull();
    expect(reopened.close(4)).toEqual([]);
    expect(reopened.count(4)).toBe(5 + 1 + TAIL_AFTER_TRUNCATION);
  });

  it("drops half a line a crash left at the end of a log", () => {
    const logs = new LogStore(dir);
    logs.append(5, null, "one");
    logs.append(5, null, "two");
    logs.close(5);
    const file = path.join(dir, "build-5.jsonl");
    appendFileSync(file, '{"s":3,"d":null,"t":"thr');

    const after = new LogStore(dir);
    expect(after.count(5)).toBe(2);
    expect(after.append(5, null, "three")).toEqual({ seq: 3, drv: null, text: "three" });
    after.close(5);
    expect(readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual([
      { s: 1, d: null, t: "one" },
      { s: 2, d: null, t: "two" },
      { s: 3, d: null, t: "three" },
    ]);
    expect(after.text(5)).toBe("one\ntwo\nthree");
  });
});
