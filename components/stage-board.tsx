"use client";

import { useEffect, useState } from "react";
import { FINISHED_BUILD_STATUSES, type BuildView } from "@/server/show/views";
import { StatusBadge } from "./status-badge";
import { elapsed, stripAnsi } from "./format";
import { useShow } from "./use-show";
import { JoinPanel } from "./join-panel";

function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

function Progress({ build }: { build: BuildView }) {
  const { done, expected, failed } = build.totals;
  const pct = expected > 0 ? Math.round(((done + failed) / expected) * 100) : 0;
  return (
    <div className="flex items-center gap-4">
      <div className="h-4 flex-1 overflow-hidden rounded-full bg-slate-800">
        <div className="h-full rounded-full bg-amber-300 transition-all duration-500" style={{ width: `${pct}%` }} />
      </div>
      <span className="w-40 text-right text-2xl font-semibold tabular-nums text-slate-300">
        {done}/{expected || "?"} drv{failed ? ` · ${failed}✘` : ""}
      </span>
    </div>
  );
}

function RunningBuild({ build, now }: { build: BuildView; now: number }) {
  return (
    <article data-testid={`stage-build-${build.prNumber}`} className="flex flex-col gap-3 rounded-3xl bg-slate-900 p-6 ring-2 ring-amber-300/40">
      <div className="flex items-start justify-between gap-6">
        <div className="min-w-0">
          <p className="text-5xl font-black tabular-nums">#{build.prNumber}</p>
          <p className="mt-1 truncate text-3xl text-slate-200">{build.title ?? ""}</p>
        </div>
        <div className="flex flex-col items-end gap-2">
          <StatusBadge status={build.status} size="xl" />
          <span className="text-3xl font-semibold tabular-nums text-slate-300">{elapsed(build.startedAt ?? build.createdAt, null, now)}</span>
        </div>
      </div>
      <p className="text-2xl text-slate-400">
        {build.targets.length > 0 ? build.targets.map((t) => t.attr).join(", ") : (build.targetNote ?? "choosing what to build…")}
        <span className="text-slate-500"> · {build.system}</span>
        {build.submitters.length > 0 && <span className="text-slate-500"> · by {build.submitters.join(", ")}</span>}
      </p>
      {build.currentPhase && <p className="text-2xl font-semibold text-amber-200">⚙ {build.currentPhase}</p>}
      <Progress build={build} />
      <p className="truncate rounded-xl bg-black/60 px-4 py-2 font-mono text-xl text-slate-300">{build.lastLine ? stripAnsi(build.lastLine) : " "}</p>
    </article>
  );
}

function Verdict({ build }: { build: BuildView }) {
  const failedAt = build.failedDrv ? `${build.failedDrv}${build.failedPhase ? ` in ${build.failedPhase}` : ""}` : null;
  return (
    <li data-testid={`verdict-${build.prNumber}`} className="flex items-center gap-4 rounded-2xl bg-slate-900 px-5 py-3">
      <StatusBadge status={build.status} size="xl" />
      <div className="min-w-0 flex-1">
        <p className="truncate text-3xl font-bold">
          #{build.prNumber} <span className="font-normal text-slate-300">{build.title ?? ""}</span>
        </p>
        <p className="truncate text-xl text-slate-400">
          {failedAt ?? build.error ?? build.targets.map((t) => t.attr).join(", ")}
          <span className="text-slate-500"> · {elapsed(build.startedAt ?? build.createdAt, build.finishedAt)}</span>
        </p>
      </div>
    </li>
  );
}

/** The projector: 1920×1080, no interaction, rebuilt from the snapshot after any reload. */
export function StageBoard() {
  const { snapshot, connected } = useShow();
  const now = useNow();
  const builds = snapshot?.builds ?? [];
  const running = builds.filter((b) => !FINISHED_BUILD_STATUSES.includes(b.status));
  const verdicts = builds.filter((b) => FINISHED_BUILD_STATUSES.includes(b.status)).slice(0, 6);
  const queue = (snapshot?.queue ?? []).filter((q) => q.state === "queued").slice(0, 8);

  return (
    <main className="flex h-dvh flex-col gap-6 overflow-hidden p-10">
      <header className="flex items-end justify-between">
        <div>
          <h1 className="text-6xl font-black tracking-tight">
            Maybe A Few <span className="text-rose-400">Hydra Failures</span>
          </h1>
          <p className="mt-2 text-3xl text-slate-400">Live nixpkgs builds · shout a PR number!</p>
        </div>
        <div className="flex flex-col items-end gap-2">
          <JoinPanel />
          {!connected && <p className="text-2xl text-amber-300">○ reconnecting…</p>}
        </div>
      </header>

      <div className="grid min-h-0 flex-1 grid-cols-3 gap-8">
        <section className="col-span-2 flex min-h-0 flex-col gap-5">
          <h2 className="text-3xl font-bold uppercase tracking-widest text-slate-400">Building now</h2>
          {running.length === 0 && (
            <p className="rounded-3xl border-4 border-dashed border-slate-800 p-10 text-4xl text-slate-500">
              Waiting for the host to press Build…
            </p>
          )}
          {running.slice(0, 3).map((b) => (
            <RunningBuild key={b.id} build={b} now={now} />
          ))}
        </section>

        <section className="flex min-h-0 flex-col gap-8">
          <div className="flex flex-col gap-3">
            <h2 className="text-3xl font-bold uppercase tracking-widest text-slate-400">Queue</h2>
            {queue.length === 0 && <p className="text-2xl text-slate-500">Empty: send a PR from your phone.</p>}
            <ol className="flex flex-col gap-2">
              {queue.map((q) => (
                <li key={q.prNumber} data-testid={`stage-queue-${q.prNumber}`} className="rounded-2xl bg-slate-900 px-5 py-3">
                  <p className="flex items-baseline justify-between text-3xl font-bold tabular-nums">
                    #{q.prNumber}
                    <span className="text-2xl text-slate-400">▲ {q.votes}</span>
                  </p>
                  <p className="truncate text-xl text-slate-400">{q.title ?? "…"}</p>
                  <p className="truncate text-lg text-slate-500">{q.submitters.join(", ")}</p>
                </li>
              ))}
            </ol>
          </div>
          <div className="flex min-h-0 flex-col gap-3">
            <h2 className="text-3xl font-bold uppercase tracking-widest text-slate-400">Verdicts</h2>
            <ul className="flex flex-col gap-2">
              {verdicts.map((b) => (
                <Verdict key={b.id} build={b} />
              ))}
            </ul>
          </div>
        </section>
      </div>
    </main>
  );
}
