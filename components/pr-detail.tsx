"use client";

import { useEffect, useState } from "react";
import type { BuildView } from "@/server/show/views";
import { StatusBadge } from "./status-badge";
import { elapsed, machineLabel, shortSha, stripAnsi } from "./format";
import { LogViewer } from "./log-viewer";
import { showSocket, useBuildLog } from "./use-show";

interface PrInfo {
  prNumber: number;
  title: string | null;
  author: string | null;
  state: string;
  builds: BuildView[];
}

/** Keyed by build: a different build starts with an empty log and the viewer's defaults. */
function BuildLog({ buildId }: { buildId: number }) {
  const lines = useBuildLog(buildId);
  return <LogViewer buildId={buildId} lines={lines} />;
}

/** One PR: what was built, each derivation's state and phase, and the full live log. */
export function PrDetail({ prNumber }: { prNumber: number }) {
  const [info, setInfo] = useState<PrInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);

  useEffect(() => {
    const load = async () => {
      const res = await fetch(`/api/prs/${prNumber}`);
      const body = await res.json();
      if (res.ok) setInfo(body as PrInfo);
      else setError((body as { error?: { message?: string } }).error?.message ?? `The server answered ${res.status}.`);
    };
    void load();
    const socket = showSocket();
    const onBuild = (b: BuildView) => {
      if (b.prNumber !== prNumber) return;
      setInfo((prev) => {
        if (!prev) return prev;
        const builds = prev.builds.some((x) => x.id === b.id) ? prev.builds.map((x) => (x.id === b.id ? b : x)) : [b, ...prev.builds];
        return { ...prev, builds };
      });
    };
    socket.on("build", onBuild);
    socket.on("connect", load);
    return () => {
      socket.off("build", onBuild);
      socket.off("connect", load);
    };
  }, [prNumber]);

  if (error) return <p className="p-8 text-rose-300">{error}</p>;
  if (!info) return <p className="p-8 text-slate-400">Loading PR #{prNumber}…</p>;
  const build = info.builds.find((b) => b.id === selected) ?? info.builds[0] ?? null;

  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-5 p-4 sm:p-6">
      <header>
        <p className="text-sm text-slate-400"><a href="/stage" className="hover:underline">stage</a> / PR</p>
        <h1 className="text-3xl font-black [overflow-wrap:anywhere]">#{info.prNumber} <span className="font-semibold text-slate-300">{info.title}</span></h1>
        <p className="text-slate-400">{info.author ? `by ${info.author}` : ""}</p>
      </header>
      {info.builds.length === 0 && <p className="text-slate-500">Not built yet.</p>}
      {info.builds.length > 1 && (
        <nav className="flex flex-wrap gap-2">
          {info.builds.map((b) => (
            <button key={b.id} type="button" onClick={() => setSelected(b.id)} className={`rounded-lg px-3 py-1 text-sm ring-1 ${b.id === build?.id ? "ring-nix" : "ring-slate-700"}`}>
              build {b.id} · {b.system} · {b.status}
            </button>
          ))}
        </nav>
      )}
      {build && (
        <section data-testid="pr-build" className="flex flex-col gap-4 rounded-2xl bg-slate-900 p-4 ring-1 ring-slate-800 sm:p-5">
          <div className="flex flex-wrap items-center gap-3">
            <StatusBadge status={build.status} />
            <span className="text-slate-400">{build.system} · {build.checkoutMode} checkout · head {shortSha(build.headSha)} · {elapsed(build.startedAt, build.finishedAt)}</span>
          </div>
          {build.error && <p data-testid="pr-build-error" className="rounded-lg bg-rose-500/10 px-3 py-2 text-rose-200 [overflow-wrap:anywhere]">{build.error}</p>}
          {build.failedDrv && (
            <p className="font-semibold text-rose-300">✘ {build.failedDrv}{build.failedPhase ? ` failed in ${build.failedPhase}` : " failed"}</p>
          )}
          <p className="text-sm text-slate-400">
            {build.targets.map((t) => `${t.attr} (${t.source})`).join(", ") || build.targetNote}
          </p>
          <ul className="text-sm">
            {build.derivations.map((d) => (
              <li key={d.drvPath} className="flex flex-wrap items-center gap-x-4 gap-y-1 border-t border-slate-800 py-1.5">
                <span className="font-mono">{d.name}</span>
                <StatusBadge status={d.state} />
                {d.phase && <span className="text-slate-400">{d.phase}</span>}
                {d.startedAt && <span className="text-slate-500">{d.drvPath.endsWith(".drv") ? "on" : "from"} {machineLabel(d.machine)}</span>}
                {d.error && <span className="min-w-0 basis-full text-slate-400 [overflow-wrap:anywhere] md:basis-0 md:grow">{stripAnsi(d.error)}</span>}
              </li>
            ))}
          </ul>
          <BuildLog key={build.id} buildId={build.id} />
        </section>
      )}
    </main>
  );
}
