"use client";

import { useEffect, useRef, useState } from "react";
import type { BuildView } from "@/server/show/views";
import { StatusBadge } from "./status-badge";
import { elapsed, shortSha, stripAnsi } from "./format";
import { showSocket, useBuildLog } from "./use-show";

interface PrInfo {
  prNumber: number;
  title: string | null;
  author: string | null;
  state: string;
  builds: BuildView[];
}

// Rendering is capped until the virtualised viewer lands; the download has every line.
const MAX_RENDERED_LINES = 3000;

function LogView({ build }: { build: BuildView }) {
  const lines = useBuildLog(build.id);
  const [follow, setFollow] = useState(true);
  const bottom = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (follow) bottom.current?.scrollIntoView({ block: "end" });
  }, [lines, follow]);
  const shown = lines.slice(-MAX_RENDERED_LINES);
  return (
    <section className="flex flex-col gap-2">
      <div className="flex items-center justify-between">
        <h3 className="font-semibold text-slate-300">
          Log <span className="text-slate-500" data-testid="log-count">{lines.length} lines</span>
        </h3>
        <div className="flex gap-3 text-sm">
          <label className="flex items-center gap-1">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
          </label>
          <a className="text-nix hover:underline" href={`/api/builds/${build.id}/log?format=raw`}>download raw log</a>
        </div>
      </div>
      <div data-testid="log" className="max-h-[60vh] overflow-auto rounded-xl bg-black p-3 font-mono text-xs leading-5 text-slate-300">
        {lines.length > shown.length && <p className="text-slate-500">… {lines.length - shown.length} earlier lines (download the raw log)</p>}
        {shown.map((l) => (
          <div key={l.seq} className="whitespace-pre-wrap break-all">
            {l.drv && <span className="text-nix/80">{l.drv}&gt; </span>}
            {stripAnsi(l.text)}
          </div>
        ))}
        <div ref={bottom} />
      </div>
    </section>
  );
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
    <main className="mx-auto flex max-w-6xl flex-col gap-5 p-6">
      <header>
        <p className="text-sm text-slate-400"><a href="/stage" className="hover:underline">stage</a> / PR</p>
        <h1 className="text-3xl font-black">#{info.prNumber} <span className="font-semibold text-slate-300">{info.title}</span></h1>
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
        <section data-testid="pr-build" className="flex flex-col gap-4 rounded-2xl bg-slate-900 p-5 ring-1 ring-slate-800">
          <div className="flex flex-wrap items-center gap-3">
            <StatusBadge status={build.status} />
            <span className="text-slate-400">{build.system} · {build.checkoutMode} checkout · head {shortSha(build.headSha)} · {elapsed(build.startedAt, build.finishedAt)}</span>
          </div>
          {build.error && <p data-testid="pr-build-error" className="rounded-lg bg-rose-500/10 px-3 py-2 text-rose-200">{build.error}</p>}
          {build.failedDrv && (
            <p className="font-semibold text-rose-300">✘ {build.failedDrv}{build.failedPhase ? ` failed in ${build.failedPhase}` : " failed"}</p>
          )}
          <p className="text-sm text-slate-400">
            {build.targets.map((t) => `${t.attr} (${t.source})`).join(", ") || build.targetNote}
          </p>
          <table className="w-full text-left text-sm">
            <tbody>
              {build.derivations.map((d) => (
                <tr key={d.drvPath} className="border-t border-slate-800">
                  <td className="py-1.5 pr-3 font-mono">{d.name}</td>
                  <td className="py-1.5 pr-3"><StatusBadge status={d.state} /></td>
                  <td className="py-1.5 pr-3 text-slate-400">{d.phase ?? ""}</td>
                  <td className="py-1.5 text-slate-400">{d.error ? stripAnsi(d.error) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <LogView build={build} />
        </section>
      )}
    </main>
  );
}
