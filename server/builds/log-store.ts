import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import type { LogLine } from "../show/views";

/**
 * Every log line is appended to disk as it arrives, before anything broadcasts it, so a crash or a
 * slow client never loses a line. One JSON line per log line: `{"s":seq,"d":drvName,"t":text}`,
 * in `<dir>/build-<id>.jsonl`, kept across restarts.
 *
 * A build keeps at most `maxLines` lines. The next one writes a single marker line instead, and
 * from then on only the last TAIL_AFTER_TRUNCATION lines are remembered; they are appended after
 * the marker when the build ends (close), so the end of a failing build is always in its log.
 *
 * Reads never scan a whole file per request: every build has an index of the byte offset of
 * every INDEX_EVERY-th line, kept up to date while it is written and built once (then cached)
 * for finished builds.
 */

export const DEFAULT_LOG_MAX_LINES = 200_000;
export const TAIL_AFTER_TRUNCATION = 100;
const INDEX_EVERY = 256;
const CHUNK_BYTES = 256 * 1024;
/** Indexes of finished builds kept in memory; each is a few kilobytes. */
const CACHED_INDEXES = 64;

export interface LogStoreOptions {
  /** Lines kept per build before the truncation marker; default 200,000. */
  maxLines?: number;
}

export interface ReadOptions {
  /** Only lines of this derivation (its name, e.g. "hello-1.1"); null for nix's own lines. */
  drv?: string | null;
}

interface LogIndex {
  /** Complete lines in the file. */
  lines: number;
  /** Bytes up to the end of the last complete line. */
  bytes: number;
  /** checkpoints[k] = byte offset of line k * INDEX_EVERY + 1. */
  checkpoints: number[];
}

interface OpenLog {
  fd: number;
  index: LogIndex;
  /**
   * Set once the marker is written: the last lines since then, to write at close. A log reopened
   * after its marker keeps nothing more: its end was written already.
   */
  overflow: { tail: LogLine[]; keep: boolean } | null;
}

export function truncationMarker(maxLines: number): string {
  return `… log truncated after ${maxLines.toLocaleString("en-US")} lines (LOG_MAX_LINES); the last ${TAIL_AFTER_TRUNCATION} lines of the build follow when it ends`;
}

export class LogStore {
  private readonly open = new Map<number, OpenLog>();
  private readonly indexes = new Map<number, LogIndex>();
  readonly maxLines: number;

  constructor(
    private readonly dir: string,
    opts: LogStoreOptions = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.maxLines = Math.max(1, Math.floor(opts.maxLines ?? DEFAULT_LOG_MAX_LINES));
  }

  private file(buildId: number): string {
    return path.join(this.dir, `build-${buildId}.jsonl`);
  }

  /**
   * Stores one line and returns it with its sequence number, or null when the build is over its
   * cap (the line is then only remembered for the tail written at close).
   */
  append(buildId: number, drv: string | null, text: string): LogLine | null {
    const log = this.openForAppend(buildId);
    if (log.overflow) {
      if (!log.overflow.keep) return null;
      log.overflow.tail.push({ seq: 0, drv, text });
      if (log.overflow.tail.length > TAIL_AFTER_TRUNCATION) log.overflow.tail.shift();
      return null;
    }
    if (log.index.lines >= this.maxLines) {
      const marker = this.write(log, null, truncationMarker(this.maxLines));
      log.overflow = { tail: [{ seq: 0, drv, text }], keep: true };
      return marker;
    }
    return this.write(log, drv, text);
  }

  /** Lines with seq in [fromSeq, fromSeq + limit), or with `drv`, the first `limit` of that derivation from fromSeq on. */
  read(buildId: number, fromSeq = 1, limit = 5000, opts: ReadOptions = {}): LogLine[] {
    const index = this.index(buildId);
    if (!index || limit <= 0 || fromSeq > index.lines) return [];
    const from = Math.max(1, Math.floor(fromSeq));
    const checkpoint = Math.floor((from - 1) / INDEX_EVERY);
    let seq = checkpoint * INDEX_EVERY;
    const needle = opts.drv === undefined ? null : drvNeedle(opts.drv);
    const out: LogLine[] = [];
    this.scan(buildId, index.checkpoints[checkpoint] ?? 0, index.bytes, (raw) => {
      seq += 1;
      if (seq < from) return true;
      if (needle === null || raw.includes(needle)) {
        const line = parseLine(raw);
        if (line) out.push(line);
      }
      return out.length < limit;
    });
    return out;
  }

  /** The last `lines` lines of the build, or of one derivation (null: nix's own lines), oldest first. */
  tail(buildId: number, drv: string | null | undefined, lines: number): LogLine[] {
    const index = this.index(buildId);
    if (!index || lines <= 0) return [];
    const needle = drv === undefined ? null : drvNeedle(drv);
    const found: LogLine[] = [];
    const take = (raw: Buffer) => {
      if (raw.length === 0) return;
      const text = raw.toString("utf8");
      if (needle !== null && !text.includes(needle)) return;
      const line = parseLine(text);
      if (line) found.push(line);
    };
    const fd = openSync(this.file(buildId), "r");
    try {
      let end = index.bytes;
      // Bytes of a line that starts in an earlier chunk; split on bytes so no character is cut.
      let carry: Buffer = Buffer.alloc(0);
      while (end > 0 && found.length < lines) {
        const start = Math.max(0, end - CHUNK_BYTES);
        const chunk = Buffer.alloc(end - start);
        const read = readSync(fd, chunk, 0, chunk.length, start);
        const data = Buffer.concat([chunk.subarray(0, read), carry]);
        let lineEnd = data.length;
        for (let nl = data.lastIndexOf(10, lineEnd - 1); nl !== -1 && found.length < lines; nl = data.lastIndexOf(10, lineEnd - 1)) {
          take(data.subarray(nl + 1, lineEnd));
          lineEnd = nl;
          if (nl === 0) break;
        }
        carry = Buffer.from(data.subarray(0, lineEnd));
        end = start;
      }
      if (found.length < lines) take(carry);
    } finally {
      closeSync(fd);
    }
    return found.reverse();
  }

  count(buildId: number): number {
    return this.index(buildId)?.lines ?? 0;
  }

  /** Raw text of the whole log, one line per log line, for download. */
  text(buildId: number): string {
    return this.read(buildId, 1, Number.MAX_SAFE_INTEGER)
      .map((l) => (l.drv ? `${l.drv}> ${l.text}` : l.text))
      .join("\n");
  }

  /**
   * Ends a build's log. When it went over its cap, the remembered last lines are appended after
   * the marker; they are returned so they can be broadcast like any other line.
   */
  close(buildId: number): LogLine[] {
    const log = this.open.get(buildId);
    if (!log) return [];
    const tail = log.overflow ? log.overflow.tail.map((l) => this.write(log, l.drv, l.text)) : [];
    closeSync(log.fd);
    this.open.delete(buildId);
    this.remember(buildId, log.index);
    return tail;
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.close(id);
  }

  private openForAppend(buildId: number): OpenLog {
    const existing = this.open.get(buildId);
    if (existing) return existing;
    const fd = openSync(this.file(buildId), "a+");
    const index = buildIndex(fd);
    // A crash can leave half a line at the end; it was never broadcast, so drop it.
    if (fstatSync(fd).size > index.bytes) ftruncateSync(fd, index.bytes);
    const log: OpenLog = {
      fd,
      index,
      // A log that already went over its cap (before a restart) takes no more lines.
      overflow: index.lines > this.maxLines ? { tail: [], keep: false } : null,
    };
    this.indexes.delete(buildId);
    this.open.set(buildId, log);
    return log;
  }

  private write(log: OpenLog, drv: string | null, text: string): LogLine {
    const seq = log.index.lines + 1;
    const bytes = Buffer.from(`${JSON.stringify({ s: seq, d: drv, t: text })}\n`, "utf8");
    writeSync(log.fd, bytes);
    if ((seq - 1) % INDEX_EVERY === 0) log.index.checkpoints.push(log.index.bytes);
    log.index.lines = seq;
    log.index.bytes += bytes.length;
    return { seq, drv, text };
  }

  /** The index of an open build, else the cached one if the file did not change, else a fresh one. */
  private index(buildId: number): LogIndex | null {
    const open = this.open.get(buildId);
    if (open) return open.index;
    const file = this.file(buildId);
    if (!existsSync(file)) return null;
    const cached = this.indexes.get(buildId);
    const size = statSync(file).size;
    if (cached && cached.bytes === size) return cached;
    const fd = openSync(file, "r");
    try {
      const index = buildIndex(fd);
      this.remember(buildId, index);
      return index;
    } finally {
      closeSync(fd);
    }
  }

  private remember(buildId: number, index: LogIndex): void {
    this.indexes.delete(buildId);
    this.indexes.set(buildId, index);
    if (this.indexes.size > CACHED_INDEXES) this.indexes.delete(this.indexes.keys().next().value!);
  }

  /** Calls `onLine` with each complete line from byte `start` to `end` until it returns false. */
  private scan(buildId: number, start: number, end: number, onLine: (raw: string) => boolean): void {
    const fd = openSync(this.file(buildId), "r");
    try {
      let position = start;
      let carry: Buffer = Buffer.alloc(0);
      while (position < end) {
        const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, end - position));
        const read = readSync(fd, chunk, 0, chunk.length, position);
        if (read === 0) break;
        position += read;
        const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
        let lineStart = 0;
        for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, lineStart)) {
          if (!onLine(data.toString("utf8", lineStart, nl))) return;
          lineStart = nl + 1;
        }
        carry = Buffer.from(data.subarray(lineStart));
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Counts complete lines and records checkpoints, reading the file once in chunks. */
function buildIndex(fd: number): LogIndex {
  const size = fstatSync(fd).size;
  const index: LogIndex = { lines: 0, bytes: 0, checkpoints: [] };
  const chunk = Buffer.alloc(CHUNK_BYTES);
  let position = 0;
  let lineStart = 0;
  while (position < size) {
    const read = readSync(fd, chunk, 0, Math.min(CHUNK_BYTES, size - position), position);
    if (read === 0) break;
    for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < read; nl = chunk.indexOf(10, nl + 1)) {
      if (index.lines % INDEX_EVERY === 0) index.checkpoints.push(lineStart);
      index.lines += 1;
      lineStart = position + nl + 1;
    }
    position += read;
  }
  index.bytes = lineStart;
  return index;
}

/** The exact bytes `"d":<drv>` has in a stored line, to skip other derivations without parsing. */
function drvNeedle(drv: string | null): string {
  return `,"d":${JSON.stringify(drv)},`;
}

function parseLine(raw: string): LogLine | null {
  try {
    const rec = JSON.parse(raw) as { s: number; d: string | null; t: string };
    return { seq: rec.s, drv: rec.d, text: rec.t };
  } catch {
    return null;
  }
}
