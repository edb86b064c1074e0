"use client";

import { useState } from "react";
import type { PreflightCheck, PreflightReport, PreflightStatus } from "@/server/preflight/preflight-check";

/**
 * The host console's show-day checklist: one button runs every preflight check on the server
 * (nix, store, disk, warm clone, builders, GitHub, Owncast, database) and lists them ✅ / ⚠ / ❌,
 * each problem with what to do. Same checks as `npm run preflight`.
 */
const STYLE: Record<PreflightStatus, { label: string; ring: string; path: string }> = {
  ok: { label: "✅", ring: "bg-emerald-500/25 text-emerald-300", path: "M3.5 8.5l3 3L12.5 5" },
  warn: { label: "⚠", ring: "bg-amber-400/25 text-amber-200", path: "M8 4v5M8 12v.2" },
  fail: { label: "❌", ring: "bg-rose-500/25 text-rose-300", path: "M4.5 4.5l7 7M11.5 4.5l-7 7" },
};

/** Drawn, not typed: not every console machine has an emoji font. */
function Mark({ status }: { status: PreflightStatus }) {
  const s = STYLE[status];
  return (
    <span role="img" aria-label={s.label} className={`inline-flex h-5 w-5 shrink-0 items-center justify-center rounded-full ${s.ring}`}>
      <svg viewBox="0 0 16 16" aria-hidden="true" className="h-3.5 w-3.5">
        <path d={s.path} fill="none" stroke="currentColor" strokeWidth={2.2} strokeLinecap="round" strokeLinejoin="round" />
      </svg>
    </span>
  );
}

function Line({ check }: { check: PreflightCheck }) {
  return (
    <li data-testid={`preflight-${check.id}`} data-status={check.status} className="flex gap-3 border-t border-slate-800 py-2 first:border-t-0">
      <Mark status={check.status} />
      <div className="flex min-w-0 flex-col">
        <span className="font-semibold text-slate-200">{check.label}</span>
        <span className="break-words text-sm text-slate-400">{check.detail}</span>
        {check.fix && <span className={`break-words text-sm ${check.status === "fail" ? "text-rose-200" : "text-amber-200"}`}>→ {check.fix}</span>}
      </div>
    </li>
  );
}

export function PreflightPanel({ onUnauthorized }: { onUnauthorized?: () => void }) {
  const [report, setReport] = useState<PreflightReport | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setRunning(true);
    setError(null);
    try {
      const res = await fetch("/api/host/preflight", { cache: "no-store" });
      const body = (await res.json().catch(() => null)) as (PreflightReport & { error?: { message?: string } }) | null;
      if (res.status === 401) onUnauthorized?.();
      if (res.ok && body) setReport(body);
      else setError(body?.error?.message ?? `The server answered ${res.status}.`);
    } catch {
      setError("No connection to the show server.");
    } finally {
      setRunning(false);
    }
  }

  const counts = report ? (["fail", "warn"] as const).map((s) => report.checks.filter((c) => c.status === s).length) : null;
  return (
    <section data-testid="preflight-panel" className="flex flex-col gap-3 rounded-2xl bg-slate-900 p-4 ring-1 ring-slate-800">
      <header className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h2 className="text-lg font-semibold text-slate-300">Preflight</h2>
          <p className="text-sm text-slate-500">
            {report && counts
              ? `${counts[0] ? `${counts[0]} to fix` : "Ready"}${counts[1] ? `, ${counts[1]} to look at` : ""} · checked ${new Date(report.ranAt).toLocaleTimeString()}`
              : "Nix, store, disk, warm clone, builders, GitHub, Owncast and the database, checked now."}
          </p>
        </div>
        <button
          type="button"
          onClick={() => void run()}
          disabled={running}
          className="rounded-lg bg-nix-deep px-3 py-2 font-semibold hover:bg-nix disabled:cursor-wait disabled:opacity-60"
        >
          {running ? "Checking…" : report ? "Run again" : "Run preflight"}
        </button>
      </header>
      {error && (
        <p role="alert" className="text-sm text-rose-300">
          {error}
        </p>
      )}
      {report && (
        <ul aria-live="polite" className="flex flex-col">
          {report.checks.map((c) => (
            <Line key={c.id} check={c} />
          ))}
        </ul>
      )}
    </section>
  );
}
