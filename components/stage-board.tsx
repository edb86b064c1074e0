"use client";

import { useEffect, useRef, useState } from "react";
import { FINISHED_BUILD_STATUSES, type BuildView, type LeaderView, type QueueItemView } from "@/server/show/views";
import { StatusBadge } from "./status-badge";
import { elapsed, machineLabel, stripAnsi } from "./format";
import { useBuildLog, useShow } from "./use-show";
import { JoinPanel } from "./join-panel";
import { Podium } from "./podium";
import { BigMoment, useBigMoments } from "./big-moment";
import { SoundToggle, useStageSound } from "./stage-sound";
import { MergeCelebration } from "./merge-celebration";

function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

function Countdown({ endsAt, now }: { endsAt: string; now: number }) {
  const left = Math.max(0, Math.round((Date.parse(endsAt) - now) / 1000));
  const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  return (
    <div data-testid="round-timer" className={`rounded-2xl px-6 py-2 text-center ${left === 0 ? "bg-rose-500/20 text-rose-200" : "bg-slate-900 text-slate-100"}`}>
      <p className="text-xl uppercase tracking-widest text-slate-400">{left === 0 ? "Time!" : "Round ends in"}</p>
      <p className="text-6xl font-black tabular-nums">{text}</p>
    </div>
  );
}

function PredictionBar({ item }: { item: QueueItemView | undefined }) {
  if (!item) return null;
  const { builds, fails } = item.predictions;
  const total = builds + fails;
  if (total === 0) return <p className="text-xl text-slate-500">No predictions yet</p>;
  const pct = Math.round((builds / total) * 100);
  return (
    <div className="flex items-center gap-3 text-xl font-semibold">
      <span className="text-emerald-300">✔ {builds}</span>
      <div className="flex h-3 flex-1 overflow-hidden rounded-full bg-rose-500/60" aria-label={`${builds} predict it builds, ${fails} predict a Hydra failure`}>
        <div className="h-full bg-emerald-400" style={{ width: `${pct}%` }} />
      </div>
      <span className="text-rose-300">{fails} ✘</span>
    </div>
  );
}

function Progress({ build }: { build: BuildView }) {
  const { done, expected, failed } = build.totals;
  const pct = expected > 0 ? Math.round(((done + failed) / expected) * 100) : 0;
  return (
    <div className="flex items-center gap-4">
      <div className="h-4 flex-1 overflow-hidden rounded-full bg-slate-800" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div className="h-full rounded-full bg-amber-300 transition-all duration-500" style={{ width: `${pct}%` }} />
      </div>
      <span className="w-44 text-right text-2xl font-semibold tabular-nums text-slate-300">
        {done}/{expected || "?"} drv{failed ? ` · ${failed}✘` : ""}
      </span>
    </div>
  );
}

function LastLines({ buildId }: { buildId: number }) {
  const lines = useBuildLog(buildId);
  const tail = lines.slice(-3);
  return (
    <div data-testid={`stage-log-${buildId}`} data-lines={lines.length} className="rounded-xl bg-black/70 px-4 py-2 font-mono text-xl leading-8 text-slate-300">
      {tail.length === 0 && <p className="text-slate-600">waiting for nix…</p>}
      {tail.map((l) => (
        <p key={l.seq} className="truncate">
          {l.drv && <span className="text-nix/80">{l.drv.replace(/-[\d.]+$/, "")}&gt; </span>}
          {stripAnsi(l.text)}
        </p>
      ))}
    </div>
  );
}

/** Where each running derivation builds: nix's build activity names the machine ("" = this box). */
function BuildMachines({ build }: { build: BuildView }) {
  const running = build.derivations.filter((d) => d.state === "running" && d.drvPath.endsWith(".drv"));
  if (running.length === 0) return null;
  return (
    <ul data-testid={`stage-machines-${build.prNumber}`} className="flex flex-wrap gap-x-6 text-2xl text-slate-400">
      {running.slice(0, 3).map((d) => (
        <li key={d.drvPath} className="truncate">
          {d.name} <span className="text-slate-500">on</span> <span className="font-semibold text-sky-200">{machineLabel(d.machine)}</span>
        </li>
      ))}
      {running.length > 3 && <li>+ {running.length - 3} more</li>}
    </ul>
  );
}

function RunningBuild({ build, item, now }: { build: BuildView; item: QueueItemView | undefined; now: number }) {
  return (
    <article data-testid={`stage-build-${build.prNumber}`} className="flex flex-col gap-3 rounded-3xl bg-slate-900 p-6 ring-2 ring-amber-300/40">
      <div className="flex items-start justify-between gap-6">
        <div className="min-w-0">
          <p className="text-5xl font-black tabular-nums">
            #{build.prNumber} <span className="text-4xl font-semibold text-slate-200">{build.title ?? ""}</span>
          </p>
          <p className="mt-2 truncate text-2xl text-slate-400">
            {build.targets.length > 0 ? build.targets.map((t) => t.attr).join(", ") : (build.targetNote ?? "choosing what to build…")}
            <span className="text-slate-500"> · {build.system}</span>
            {build.submitters.length > 0 && <span className="text-slate-500"> · by {build.submitters.join(", ")}</span>}
          </p>
        </div>
        <div className="flex shrink-0 flex-col items-end gap-2">
          <StatusBadge status={build.status} size="xl" />
          <span className="text-3xl font-semibold tabular-nums text-slate-300">{elapsed(build.startedAt ?? build.createdAt, null, now)}</span>
        </div>
      </div>
      <p className="text-2xl font-semibold text-amber-200">{build.currentPhase ? `⚙ ${build.currentPhase}` : " "}</p>
      <BuildMachines build={build} />
      <Progress build={build} />
      <LastLines buildId={build.id} />
      <PredictionBar item={item} />
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
        <p className="truncate text-2xl text-slate-400">
          {failedAt ?? build.error ?? build.targets.map((t) => t.attr).join(", ")}
          <span className="text-slate-500"> · {elapsed(build.startedAt ?? build.createdAt, build.finishedAt)}</span>
        </p>
      </div>
    </li>
  );
}

function Leaderboard({ leaders }: { leaders: LeaderView[] }) {
  return (
    <div className="flex flex-col gap-3">
      <h2 className="text-3xl font-bold uppercase tracking-widest text-slate-400">Leaderboard</h2>
      {leaders.length === 0 && <p className="text-2xl text-slate-500">Predict on your phone to score!</p>}
      <ol className="flex flex-col gap-1" data-testid="leaderboard">
        {leaders.slice(0, 5).map((l) => (
          <li key={`${l.rank}-${l.nickname}`} className="flex items-baseline gap-3 text-3xl">
            <span className="w-10 text-right font-black text-amber-200 tabular-nums">{l.rank}</span>
            <span className="min-w-0 flex-1 truncate font-semibold">{l.nickname}</span>
            <span className="tabular-nums text-slate-300">{l.points}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/**
 * The projector: 1920×1080, no interaction, rebuilt from the snapshot after any reload. With
 * `overlay` it is the OBS variant: a transparent page with only the builds and the big moments.
 */
export function StageBoard({ overlay = false }: { overlay?: boolean }) {
  const { snapshot, connected } = useShow();
  const now = useNow();
  const builds = snapshot?.builds ?? [];
  const moments = useBigMoments(builds);
  const sound = useStageSound(snapshot?.show.muted ?? false);
  const lastMoment = useRef<number | null>(null);
  useEffect(() => {
    const moment = moments[0];
    if (!moment || lastMoment.current === moment.id) return;
    lastMoment.current = moment.id;
    sound.play(moment.kind);
  }, [moments, sound]);

  const running = builds.filter((b) => !FINISHED_BUILD_STATUSES.includes(b.status));
  const verdicts = builds.filter((b) => FINISHED_BUILD_STATUSES.includes(b.status)).slice(0, running.length > 1 ? 2 : 3);
  const queueAll = snapshot?.queue ?? [];
  const queue = queueAll.filter((q) => q.state === "queued").slice(0, 5);
  const byPr = new Map(queueAll.map((q) => [q.prNumber, q]));

  if (overlay) {
    return (
      <main className="flex h-dvh flex-col justify-end gap-4 overflow-hidden p-10" data-testid="stage-overlay">
        {running.slice(0, 2).map((b) => (
          <RunningBuild key={b.id} build={b} item={byPr.get(b.prNumber)} now={now} />
        ))}
        <BigMoment moment={moments[0] ?? null} />
      </main>
    );
  }

  return (
    <main className="flex h-dvh flex-col gap-6 overflow-hidden bg-slate-950 p-10">
      <header className="flex items-center justify-between gap-8">
        <div>
          <h1 className="text-6xl font-black tracking-tight">
            Maybe A Few <span className="text-rose-400">Hydra Failures</span>
          </h1>
          <p className="mt-2 text-3xl text-slate-400">Live nixpkgs builds · name a PR, predict, score</p>
          {!connected && <p className="mt-2 text-2xl text-amber-300">○ reconnecting…</p>}
        </div>
        {snapshot?.show.roundEndsAt && <Countdown endsAt={snapshot.show.roundEndsAt} now={now} />}
        <JoinPanel />
      </header>

      <div className="grid min-h-0 flex-1 grid-cols-3 gap-8">
        <section className="col-span-2 flex min-h-0 flex-col gap-5">
          <h2 className="text-3xl font-bold uppercase tracking-widest text-slate-400">Building now</h2>
          {running.length === 0 && (
            <p className="rounded-3xl border-4 border-dashed border-slate-800 p-10 text-4xl text-slate-500">Waiting for the host to press Build…</p>
          )}
          {running.slice(0, 2).map((b) => (
            <RunningBuild key={b.id} build={b} item={byPr.get(b.prNumber)} now={now} />
          ))}
          {running.length > 2 && <p className="text-2xl text-slate-400">+ {running.length - 2} more building</p>}
          {verdicts.length > 0 && (
            <div className="mt-auto flex flex-col gap-3">
              <h2 className="text-3xl font-bold uppercase tracking-widest text-slate-400">Verdicts</h2>
              <ul className="flex flex-col gap-3">
                {verdicts.map((b) => (
                  <Verdict key={b.id} build={b} />
                ))}
              </ul>
            </div>
          )}
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
                    <span className="text-2xl text-slate-300">▲ {q.votes}</span>
                  </p>
                  <p className="truncate text-2xl text-slate-300">{q.title ?? "…"}</p>
                  <p className="truncate text-xl text-slate-500">
                    {q.submitters.join(", ")} · ✔ {q.predictions.builds} / ✘ {q.predictions.fails}
                  </p>
                </li>
              ))}
            </ol>
          </div>
          <Leaderboard leaders={snapshot?.leaderboard ?? []} />
        </section>
      </div>

      {snapshot?.show.podium && (
        <div className="fixed inset-0 z-40 flex items-center justify-center bg-slate-950/90">
          <Podium leaders={snapshot.leaderboard} size="xl" />
        </div>
      )}
      <BigMoment moment={moments[0] ?? null} />
      <MergeCelebration />
      <SoundToggle sound={sound} muted={snapshot?.show.muted ?? false} />
    </main>
  );
}
