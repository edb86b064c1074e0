"use client";

import { AnsiUp } from "ansi_up";
import { useLayoutEffect, useMemo, useRef, useState } from "react";
import type { LogLine } from "@/server/show/views";
import { stripAnsi } from "./format";
import styles from "./log-viewer.module.css";

/** Row height in px; every row is exactly this tall (h-5, no wrapping) so positions are arithmetic. */
const ROW = 20;
/** Space above the first and below the last row inside the scroller. */
const PAD = 8;
/** Rows rendered above and below the visible ones, so a fast wheel does not show blank space. */
const OVERSCAN = 40;
/** Characters of one line put in the DOM; the raw download has the rest. */
const MAX_LINE_CHARS = 4000;
/** Before the first measurement (and in tests without layout). */
const FALLBACK_VIEWPORT = 600;
/** The log never gets shorter than this to fit the window; the page scrolls instead. */
const MIN_FIT = 320;
/** Space kept below the log when it is sized to end at the bottom of the window. */
const FIT_MARGIN = 32;

/**
 * What counts as an error line: nix's and stdenv's failures, compilers' and test runners'
 * messages. "error" must stand alone, so -Werror, -Wno-error=…, error.c and "0 errors" do not count.
 */
const ERROR_LINE = /(?<![-\w./])error(?![-\w/=]|\.\w)|failed with exit code|\bFAIL:/i;

/** The store's marker line (server/builds/log-store.ts `truncationMarker`), always without a derivation. */
const TRUNCATION_MARKER = /^… log truncated after [\d,]+ lines/;

const ALL = "all";
const NIX = "nix";
const drvFilter = (drv: string) => `drv:${drv}`;

// ---------------------------------------------------------------------------------------------
// Rendering one line

/**
 * Escape sequences: CSI (colours and cursor moves), OSC (titles, hyperlinks), and a lone ESC
 * (the start of a sequence cut short). Only colour (SGR) sequences reach ansi_up.
 */
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b/g;
const SGR = /^\u001b\[[0-9;]*m$/;
/** Control characters a row cannot show (tab stays; ESC is handled above). */
const CONTROLS = /[\u0000-\u0008\u000a-\u001a\u001c-\u001f\u007f]/g;

const ansi = new AnsiUp();
ansi.escape_html = true;
ansi.use_classes = true;
ansi.url_allowlist = {};

const htmlCache = new WeakMap<LogLine, string>();

/** A carriage return redraws the line in a terminal: what is left is the last thing drawn. */
function lastRedraw(text: string): string {
  if (!text.includes("\r")) return text;
  const parts = text.split("\r").filter((p) => p.length > 0);
  return parts[parts.length - 1] ?? "";
}

/**
 * The only HTML a log line becomes: ansi_up's output with escape_html on, so every `<`, `>`, `&`
 * and quote of the line is an entity before colour spans are added; links are not allowed and
 * every non-colour escape sequence is removed first. Each line starts from a reset, so a colour
 * left open by one line never leaks into another (rows render in any order).
 */
function lineHtml(line: LogLine): string {
  const cached = htmlCache.get(line);
  if (cached !== undefined) return cached;
  let text = lastRedraw(line.text)
    .replace(ESCAPES, (seq) => (SGR.test(seq) ? seq : ""))
    .replace(CONTROLS, "");
  let more = "";
  if (text.length > MAX_LINE_CHARS) {
    more = ` … ${(text.length - MAX_LINE_CHARS).toLocaleString("en-US")} more characters in the raw log`;
    text = text.slice(0, MAX_LINE_CHARS).replace(/\u001b\[[0-9;]*$/, "");
  }
  let html = ansi.ansi_to_html(`\u001b[0m${text}\u001b[0m`);
  if (more) html += `<span class="${styles.more}">${ansi.ansi_to_html(more)}</span>`;
  htmlCache.set(line, html);
  return html;
}

// ---------------------------------------------------------------------------------------------
// What the log holds, kept up to date as lines are appended

/**
 * Facts about the whole log, updated only with the lines appended since the last render: the
 * array from useBuildLog only ever grows (a new array sharing the old lines), so anything but an
 * extension means another log and a fresh start.
 */
class LogFacts {
  lines: LogLine[] = [];
  /** Derivation names in order of their first line, with their line counts. */
  readonly drvs = new Map<string, number>();
  nixLines = 0;
  /** Indexes (into lines) of error lines, ascending. */
  readonly errors: number[] = [];
  truncation: number | null = null;
  /** The widest line, in characters, for a horizontal scroll width that does not jump. */
  widest = 0;

  static update(prev: LogFacts | null, lines: LogLine[]): LogFacts {
    const n = prev?.lines.length ?? 0;
    const facts = prev && lines.length >= n && (n === 0 || lines[n - 1] === prev.lines[n - 1]) ? prev : new LogFacts();
    for (let i = facts.lines.length; i < lines.length; i++) {
      const line = lines[i]!;
      const text = stripAnsi(line.text);
      if (line.drv === null) facts.nixLines += 1;
      else facts.drvs.set(line.drv, (facts.drvs.get(line.drv) ?? 0) + 1);
      if (line.drv === null && facts.truncation === null && TRUNCATION_MARKER.test(text)) facts.truncation = i;
      else if (ERROR_LINE.test(text)) facts.errors.push(i);
      const width = Math.min(text.length, MAX_LINE_CHARS + 60) + (line.drv ? line.drv.length + 2 : 0);
      if (width > facts.widest) facts.widest = width;
    }
    facts.lines = lines;
    return facts;
  }
}

/** The rows shown: every line, or the indexes of one derivation's lines (null: nix's own). */
class LogView {
  lines: LogLine[] = [];
  /** null when every line is shown (no copy of 200,000 indexes for the common case). */
  rows: number[] | null = null;

  constructor(readonly filter: string) {
    if (filter !== ALL) this.rows = [];
  }

  static update(prev: LogView | null, lines: LogLine[], filter: string): LogView {
    const n = prev?.lines.length ?? 0;
    const fresh = !prev || prev.filter !== filter || lines.length < n || (n > 0 && lines[n - 1] !== prev.lines[n - 1]);
    const view = fresh ? new LogView(filter) : prev;
    if (view.rows) {
      const drv = filter === NIX ? null : filter.slice("drv:".length);
      for (let i = view.lines.length; i < lines.length; i++) if (lines[i]!.drv === drv) view.rows.push(i);
    }
    view.lines = lines;
    return view;
  }

  get count(): number {
    return this.rows ? this.rows.length : this.lines.length;
  }

  lineAt(row: number): LogLine {
    return this.lines[this.rows ? this.rows[row]! : row]!;
  }

  indexAt(row: number): number {
    return this.rows ? this.rows[row]! : row;
  }

  /** The first row showing line `index` or a later one. */
  rowOf(index: number): number {
    if (!this.rows) return Math.min(index, this.lines.length);
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid]! < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first error line this view shows, as an index into lines. */
  firstError(errors: number[]): number | null {
    if (!this.rows) return errors[0] ?? null;
    const drv = this.filter === NIX ? null : this.filter.slice("drv:".length);
    return errors.find((i) => this.lines[i]!.drv === drv) ?? null;
  }
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => n.toLocaleString("en-US");

/**
 * A build's whole log, virtualised: fixed-height rows, only the visible window plus overscan in the
 * DOM, so 200,000 lines scroll like 200. Follows the end while the reader is at the bottom.
 */
export function LogViewer({ buildId, lines }: { buildId: number; lines: LogLine[] }) {
  const [filter, setFilter] = useState(ALL);
  const [follow, setFollow] = useState(true);
  const [scroll, setScroll] = useState({ top: 0, height: 0 });
  const [jumped, setJumped] = useState<number | null>(null);
  const [fit, setFit] = useState<number | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const factsRef = useRef<LogFacts | null>(null);
  const viewRef = useRef<LogView | null>(null);
  /** The line to keep at the top when the filter changes (while not following). */
  const anchor = useRef<number | null>(null);

  // Incremental and idempotent: a repeated or discarded render reprocesses nothing.
  const facts = useMemo(() => (factsRef.current = LogFacts.update(factsRef.current, lines)), [lines]);
  const view = useMemo(() => (viewRef.current = LogView.update(viewRef.current, lines, filter)), [lines, filter]);
  const count = view.count;

  const viewport = scroll.height || FALLBACK_VIEWPORT;
  const contentHeight = count * ROW + 2 * PAD;
  const top = follow ? Math.max(0, contentHeight - viewport) : scroll.top;
  const first = Math.max(0, Math.floor((top - PAD) / ROW) - OVERSCAN);
  const last = Math.min(count, Math.ceil((top - PAD + viewport) / ROW) + OVERSCAN);

  const firstError = view.firstError(facts.errors);
  const firstErrorSeq = firstError === null ? null : lines[firstError]!.seq;
  const maxSeq = lines.length > 0 ? lines[lines.length - 1]!.seq : 0;
  const gutter = `calc(${String(maxSeq).length + 2}ch + 0.5rem)`;

  const measure = () => {
    const el = scroller.current;
    if (el) setScroll({ top: el.scrollTop, height: el.clientHeight });
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // As tall as fits between the log's top (in the page, not the window) and the window's bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const refit = () => {
      const top = el.getBoundingClientRect().top + window.scrollY;
      setFit(Math.max(MIN_FIT, Math.floor(window.innerHeight - top - FIT_MARGIN)));
    };
    refit();
    // What is above the log (the derivation table) grows while a build runs.
    const observer = new ResizeObserver(refit);
    observer.observe(document.body);
    window.addEventListener("resize", refit);
    return () => {
      observer.disconnect();
      window.removeEventListener("resize", refit);
    };
  }, []);

  // Following: stick to the end as lines arrive (before paint, so the end never flickers away).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [follow, count]);

  // A new filter keeps the line that was at the top, or the nearest one after it.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (anchor.current === null || !el) return;
    el.scrollTop = PAD + view.rowOf(anchor.current) * ROW;
    anchor.current = null;
    measure();
  }, [view]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setScroll({ top: el.scrollTop, height: el.clientHeight });
    // At the bottom means following; scrolling up stops it.
    setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < ROW / 2);
  };

  const changeFilter = (next: string) => {
    if (!follow && count > 0) anchor.current = view.indexAt(Math.min(count - 1, Math.max(0, Math.floor((top - PAD) / ROW))));
    setFilter(next);
  };

  const scrollToLine = (index: number) => {
    const el = scroller.current;
    if (!el) return;
    setFollow(false);
    el.scrollTop = Math.max(0, PAD + view.rowOf(index) * ROW - Math.floor(el.clientHeight / 3));
    measure();
  };

  const rows = [];
  for (let r = first; r < last; r++) {
    const index = view.indexAt(r);
    const line = view.lineAt(r);
    const isFirstError = index === firstError;
    const isMarker = index === facts.truncation;
    const tone = isMarker
      ? "bg-amber-950 text-amber-200"
      : isFirstError
        ? "bg-rose-950 text-rose-100"
        : "bg-black";
    rows.push(
      <div
        key={line.seq}
        data-seq={line.seq}
        data-first-error={isFirstError || undefined}
        data-truncated={isMarker || undefined}
        className={`flex h-5 ${tone} ${isFirstError && jumped === line.seq ? "outline -outline-offset-1 outline-rose-400" : ""}`}
      >
        <span className={`sticky left-0 shrink-0 select-none pl-2 pr-3 text-right ${tone} ${isFirstError ? "text-rose-300" : "text-slate-600"}`} style={{ width: gutter }}>
          {line.seq}
        </span>
        <span className="whitespace-pre pr-6">
          {line.drv !== null && <span className="text-sky-300/60">{line.drv}&gt; </span>}
          {isMarker ? (
            <span className="font-semibold">{stripAnsi(line.text)}</span>
          ) : (
            <span className={styles.ansi} dangerouslySetInnerHTML={{ __html: lineHtml(line) }} />
          )}
        </span>
      </div>,
    );
  }

  const drvs = [...facts.drvs];
  return (
    <section className="flex flex-col gap-2" aria-label="Build log">
      <div className="flex flex-wrap items-center justify-between gap-x-4 gap-y-2">
        <h3 className="font-semibold text-slate-200">
          Log{" "}
          <span className="font-normal text-slate-400" data-testid="log-count">
            {view.rows ? `${fmt(count)} of ${fmt(lines.length)} lines` : `${fmt(lines.length)} lines`}
          </span>
        </h3>
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <label className="flex items-center gap-2 text-slate-400">
            <span>Derivation</span>
            <select
              value={filter}
              onChange={(e) => changeFilter(e.target.value)}
              className="max-w-64 rounded-lg bg-slate-800 px-2 py-1 text-slate-100 ring-1 ring-slate-700 focus:outline-none focus:ring-nix"
            >
              <option value={ALL}>all lines</option>
              {drvs.map(([drv, n]) => (
                <option key={drv} value={drvFilter(drv)}>
                  {drv} ({fmt(n)})
                </option>
              ))}
              {facts.nixLines > 0 && drvs.length > 0 && <option value={NIX}>nix itself ({fmt(facts.nixLines)})</option>}
            </select>
          </label>
          <button
            type="button"
            disabled={firstError === null}
            onClick={() => {
              if (firstError === null) return;
              setJumped(firstErrorSeq);
              scrollToLine(firstError);
            }}
            className="rounded-lg bg-rose-500/15 px-3 py-1 font-medium text-rose-200 ring-1 ring-rose-400/40 hover:bg-rose-500/25 disabled:cursor-not-allowed disabled:bg-transparent disabled:text-slate-500 disabled:ring-slate-700"
          >
            {firstErrorSeq === null ? "No error lines" : `Jump to first error (line ${fmt(firstErrorSeq)})`}
          </button>
          <button
            type="button"
            aria-pressed={follow}
            onClick={() => setFollow((f) => !f)}
            title={follow ? "Showing new lines as they arrive; scroll up or press to stop" : "Jump to the end and show new lines as they arrive"}
            className={`flex items-center gap-2 rounded-lg px-3 py-1 font-medium ring-1 ${follow ? "bg-nix/20 text-nix ring-nix/60" : "text-slate-300 ring-slate-700 hover:ring-slate-500"}`}
          >
            <span aria-hidden="true" className={`h-2 w-2 rounded-full ${follow ? "bg-nix" : "ring-1 ring-slate-500"}`} />
            Follow
          </button>
          <a
            className="rounded-lg px-3 py-1 font-medium text-nix ring-1 ring-slate-700 hover:ring-nix/60"
            href={`/api/builds/${buildId}/log?format=raw`}
            download
          >
            Download raw log
          </a>
        </div>
      </div>
      {facts.truncation !== null && (
        <p data-testid="log-truncated" className="flex flex-wrap items-center gap-x-3 rounded-lg bg-amber-400/10 px-3 py-2 text-sm text-amber-200 ring-1 ring-amber-300/30">
          <span>
            ⚠ This log was cut short at line {fmt(lines[facts.truncation]!.seq)}: the build wrote more than the show keeps. The lines after
            the marker are the build&apos;s last ones.
          </span>
          <button type="button" className="font-medium underline underline-offset-2" onClick={() => scrollToLine(facts.truncation!)}>
            show the cut
          </button>
        </p>
      )}
      <div
        ref={scroller}
        data-testid="log"
        tabIndex={0}
        role="region"
        aria-label={`Log of build ${buildId}`}
        onScroll={onScroll}
        className="relative min-h-24 overflow-auto rounded-xl [overflow-anchor:none] bg-black font-mono text-[13px] leading-5 text-slate-300 ring-1 ring-slate-800 focus:outline-none focus-visible:ring-nix"
        style={{ height: contentHeight, maxHeight: fit ?? "70vh" }}
      >
        {count === 0 ? (
          <p className="p-3 text-slate-500">{lines.length === 0 ? "No log lines yet." : "No lines from this derivation."}</p>
        ) : (
          <div className="relative min-w-full" style={{ height: contentHeight, width: `calc(${gutter} + ${facts.widest}ch + 2rem)` }}>
            <div className="absolute inset-x-0" style={{ top: PAD + first * ROW }}>
              {rows}
            </div>
          </div>
        )}
      </div>
    </section>
  );
}
