"use client";

import { useEffect, useRef, useState } from "react";
import { FINISHED_BUILD_STATUSES, type BuildView } from "@/server/show/views";

export type MomentKind = "pass" | "fail" | "merge";

export interface Moment {
  id: number;
  kind: MomentKind;
  prNumber: number;
  title: string | null;
  detail: string | null;
}

const SHOW_MS = 6000;

/**
 * Turns verdicts seen live into big moments (not the ones already in the snapshot at load, so a
 * reload does not replay the evening). Each stays on screen for a few seconds.
 */
export function useBigMoments(builds: BuildView[], extra: Moment | null = null): Moment[] {
  const seen = useRef<Map<number, string> | null>(null);
  const [moments, setMoments] = useState<Moment[]>([]);
  useEffect(() => {
    if (builds.length === 0 && seen.current === null) return;
    const first = seen.current === null;
    seen.current ??= new Map();
    const fresh: Moment[] = [];
    for (const b of builds) {
      const before = seen.current.get(b.id);
      seen.current.set(b.id, b.status);
      if (first || before === b.status) continue;
      const wasRunning = before === undefined || !FINISHED_BUILD_STATUSES.includes(before as BuildView["status"]);
      if (!wasRunning) continue;
      if (b.status === "passed") fresh.push({ id: b.id * 10, kind: "pass", prNumber: b.prNumber, title: b.title, detail: b.targets.map((t) => t.attr).join(", ") });
      if (b.status === "failed") {
        const detail = b.failedDrv ? `${b.failedDrv}${b.failedPhase ? ` failed in ${b.failedPhase}` : " failed"}` : b.error;
        fresh.push({ id: b.id * 10 + 1, kind: "fail", prNumber: b.prNumber, title: b.title, detail });
      }
    }
    if (fresh.length) setMoments((m) => [...fresh, ...m].slice(0, 5));
  }, [builds]);
  useEffect(() => {
    if (extra) setMoments((m) => (m.some((x) => x.id === extra.id) ? m : [extra, ...m].slice(0, 5)));
  }, [extra]);
  useEffect(() => {
    if (moments.length === 0) return;
    const t = setTimeout(() => setMoments((m) => m.slice(0, -1)), SHOW_MS);
    return () => clearTimeout(t);
  }, [moments]);
  return moments;
}

const LOOK: Record<MomentKind, { headline: string; className: string; icon: string }> = {
  pass: { headline: "IT BUILDS!", className: "bg-emerald-600/95 text-white", icon: "✔" },
  fail: { headline: "HYDRA FAILURE", className: "bg-rose-700/95 text-white", icon: "✘" },
  merge: { headline: "LGTM · MERGED", className: "bg-violet-700/95 text-white", icon: "★" },
};

/** A full-screen moment: the visual twin of every sound the stage plays. */
export function BigMoment({ moment }: { moment: Moment | null }) {
  if (!moment) return null;
  const look = LOOK[moment.kind];
  return (
    <div
      role="alert"
      data-testid={`moment-${moment.kind}`}
      className={`fixed inset-x-0 top-1/2 z-50 flex -translate-y-1/2 flex-col items-center gap-4 py-16 shadow-2xl motion-safe:animate-[moment-in_400ms_ease-out] ${look.className}`}
    >
      <p className="text-[10rem] font-black leading-none tracking-tight">
        <span aria-hidden="true">{look.icon} </span>
        {look.headline}
      </p>
      <p className="max-w-[90%] truncate text-6xl font-bold">
        #{moment.prNumber} {moment.title ?? ""}
      </p>
      {moment.detail && <p className="max-w-[90%] truncate font-mono text-4xl opacity-90">{moment.detail}</p>}
    </div>
  );
}
