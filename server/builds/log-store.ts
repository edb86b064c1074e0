import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import type { LogLine } from "../show/views";

/**
 * Every log line is appended to disk as it arrives, before anything broadcasts it, so a crash or a
 * slow client never loses a line. One JSON line per log line: `{"s":seq,"d":drvName,"t":text}`.
 */
export class LogStore {
  private readonly open = new Map<number, { fd: number; seq: number }>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(buildId: number): string {
    return path.join(this.dir, `build-${buildId}.jsonl`);
  }

  append(buildId: number, drv: string | null, text: string): LogLine {
    let handle = this.open.get(buildId);
    if (!handle) {
      handle = { fd: openSync(this.file(buildId), "a"), seq: this.count(buildId) };
      this.open.set(buildId, handle);
    }
    handle.seq += 1;
    const line: LogLine = { seq: handle.seq, drv, text };
    writeSync(handle.fd, `${JSON.stringify({ s: line.seq, d: drv, t: text })}\n`);
    return line;
  }

  /** Lines with seq in [fromSeq, fromSeq + limit). */
  read(buildId: number, fromSeq = 1, limit = 5000): LogLine[] {
    const file = this.file(buildId);
    if (!existsSync(file)) return [];
    const out: LogLine[] = [];
    const raw = readFileSync(file, "utf8");
    let start = 0;
    let seq = 0;
    while (start < raw.length && out.length < limit) {
      const end = raw.indexOf("\n", start);
      if (end === -1) break;
      seq += 1;
      if (seq >= fromSeq) {
        const rec = JSON.parse(raw.slice(start, end)) as { s: number; d: string | null; t: string };
        out.push({ seq: rec.s, drv: rec.d, text: rec.t });
      }
      start = end + 1;
    }
    return out;
  }

  count(buildId: number): number {
    const handle = this.open.get(buildId);
    if (handle) return handle.seq;
    const file = this.file(buildId);
    if (!existsSync(file)) return 0;
    const raw = readFileSync(file, "utf8");
    let n = 0;
    for (let i = raw.indexOf("\n"); i !== -1; i = raw.indexOf("\n", i + 1)) n += 1;
    return n;
  }

  /** Raw text of the whole log, one line per log line, for download. */
  text(buildId: number): string {
    return this.read(buildId, 1, Number.MAX_SAFE_INTEGER)
      .map((l) => (l.drv ? `${l.drv}> ${l.text}` : l.text))
      .join("\n");
  }

  close(buildId: number): void {
    const handle = this.open.get(buildId);
    if (!handle) return;
    closeSync(handle.fd);
    this.open.delete(buildId);
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.close(id);
  }
}
