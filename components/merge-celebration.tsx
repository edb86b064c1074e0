"use client";

import { useEffect, useState } from "react";
import type { MergeView } from "@/server/merge/views";
import { showSocket } from "./use-show";

/**
 * The projector's merge moment: while GitHub's merge queue works on a PR a strip shows where it is;
 * when GitHub reports it merged, the whole screen says so for a while. Driven by the `merge`
 * socket event (the show's `merge-updated` domain event).
 */
const CELEBRATION_MS = 12_000;

export function MergeCelebration() {
  const [inFlight, setInFlight] = useState<MergeView[]>([]);
  const [moment, setMoment] = useState<MergeView | null>(null);

  useEffect(() => {
    const socket = showSocket();
    const onMerge = (view: MergeView) => {
      setInFlight((list) => {
        const others = list.filter((m) => m.prNumber !== view.prNumber);
        return view.state === "queued" || view.state === "auto-merge" ? [...others, view] : others;
      });
      if (view.state === "merged") setMoment(view);
    };
    socket.on("merge", onMerge);
    return () => {
      socket.off("merge", onMerge);
    };
  }, []);

  useEffect(() => {
    if (!moment) return;
    const t = setTimeout(() => setMoment(null), CELEBRATION_MS);
    return () => clearTimeout(t);
  }, [moment]);

  return (
    <>
      {inFlight.length > 0 && (
        <ul data-testid="merge-queue-strip" className="fixed inset-x-10 bottom-6 flex flex-wrap gap-4">
          {inFlight.map((m) => (
            <li key={m.prNumber} className="rounded-2xl bg-violet-950/90 px-5 py-2 text-2xl text-violet-100 ring-2 ring-violet-400/50">
              <span className="font-black">#{m.prNumber}</span>{" "}
              {m.state === "auto-merge"
                ? "waits for CI, then joins the merge queue"
                : m.queuePosition !== null
                  ? `merge queue · position ${m.queuePosition}`
                  : "in the merge queue"}
            </li>
          ))}
        </ul>
      )}
      {moment && (
        <div
          role="status"
          aria-live="polite"
          data-testid={`merge-celebration-${moment.prNumber}`}
          className="fixed inset-0 z-50 flex flex-col items-center justify-center gap-8 bg-violet-950/95 p-16 text-center"
        >
          <p className="text-[11rem] leading-none font-black tracking-tight text-white">
            LGTM <span className="text-violet-300">·</span> merged
          </p>
          <p className="max-w-[80%] truncate text-6xl font-bold text-violet-100">
            #{moment.prNumber} {moment.title ?? ""}
          </p>
          <p className="text-4xl text-violet-200">
            built on stage · approved by @{moment.maintainer} · now in {moment.baseRef}
          </p>
          {moment.submitters.length > 0 && <p className="text-4xl text-emerald-300">+ points for {moment.submitters.join(", ")}</p>}
        </div>
      )}
    </>
  );
}
