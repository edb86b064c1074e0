"use client";

import { useCallback, useEffect, useState } from "react";
import { FINISHED_BUILD_STATUSES, type QueueItemView, type ShowStatus } from "@/server/show/views";
import { postJson } from "./post-json";
import { MergePanel } from "./merge-panel";
import { PreflightPanel } from "./preflight-panel";
import { ExportPanel } from "./export-panel";
import { StatusBadge } from "./status-badge";
import { shortSha } from "./format";
import { showSocket, useShow } from "./use-show";

type Session = { signedIn: false } | { signedIn: true; csrfToken: string };

/** Sends one host action (with the session's CSRF token); shows its outcome; true when it worked. */
export type Act = (url: string, body: unknown, done: string) => Promise<boolean>;

const SWITCHES: Array<{ key: keyof ShowStatus & string; label: string }> = [
  { key: "submissionsLocked", label: "Lock submissions" },
  { key: "joinsLocked", label: "Lock joins" },
  { key: "approveBeforeShown", label: "Approve before shown" },
  { key: "requireRoomCodeForRemote", label: "Room code for remote" },
  { key: "muted", label: "Mute stage sound" },
  { key: "podium", label: "Reveal podium" },
];

function RoundTimer({ endsAt, act }: { endsAt: string | null; act: Act }) {
  return (
    <section className="flex flex-wrap items-center gap-2" aria-label="Round timer">
      <span className="text-sm text-slate-400">Round timer{endsAt ? ` · ends ${new Date(endsAt).toLocaleTimeString()}` : ""}</span>
      {[2, 5, 10].map((m) => (
        <button key={m} type="button" onClick={() => act("/api/host/timer", { minutes: m }, `Round timer: ${m} minutes.`)} className="rounded-full px-3 py-1 text-sm ring-1 ring-slate-700">
          {m} min
        </button>
      ))}
      {endsAt && (
        <button type="button" onClick={() => act("/api/host/timer", { minutes: null }, "Round timer stopped.")} className="rounded-full px-3 py-1 text-sm ring-1 ring-slate-700">
          Stop timer
        </button>
      )}
    </section>
  );
}

function ResetShow({ act }: { act: Act }) {
  const [confirm, setConfirm] = useState("");
  return (
    <form
      className="flex items-center gap-2 text-sm"
      onSubmit={(e) => {
        e.preventDefault();
        void act("/api/host/reset", { confirm }, "The show was reset.").then((ok) => ok && setConfirm(""));
      }}
    >
      <label className="text-slate-400">
        Reset the show: type RESET{" "}
        <input aria-label="Type RESET to confirm" value={confirm} onChange={(e) => setConfirm(e.target.value)} className="w-24 rounded bg-slate-950 px-2 py-1 ring-1 ring-slate-700" />
      </label>
      <button type="submit" disabled={confirm !== "RESET"} className="rounded bg-rose-700 px-3 py-1 font-semibold disabled:opacity-40">
        Reset show
      </button>
    </form>
  );
}

function BuildOptions({ prNumber, act, systems }: { prNumber: number; act: Act; systems: string[] }) {
  const [attrs, setAttrs] = useState("");
  const [mode, setMode] = useState<"merge" | "head">("merge");
  const [chosen, setChosen] = useState<string[]>(systems);
  const [tests, setTests] = useState(false);
  return (
    <form
      className="flex flex-wrap items-center gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        const list = attrs.split(/[\s,]+/).filter(Boolean);
        void act("/api/host/builds", { pr: prNumber, mode, systems: chosen, tests, ...(list.length ? { attrs: list } : {}) }, `Build of #${prNumber} started.`);
      }}
    >
      <input aria-label={`Attrs to build for #${prNumber}`} value={attrs} onChange={(e) => setAttrs(e.target.value)} placeholder="attrs (empty: automatic)" className="flex-1 rounded bg-slate-950 px-2 py-1 ring-1 ring-slate-700" />
      <select aria-label="Checkout mode" value={mode} onChange={(e) => setMode(e.target.value as "merge" | "head")} className="rounded bg-slate-950 px-2 py-1 ring-1 ring-slate-700">
        <option value="merge">merge commit</option>
        <option value="head">PR head</option>
      </select>
      {systems.map((system) => (
        <label key={system} className="flex items-center gap-1">
          <input
            type="checkbox"
            checked={chosen.includes(system)}
            onChange={(e) => setChosen((c) => (e.target.checked ? [...c, system] : c.filter((x) => x !== system)))}
          />
          {system}
        </label>
      ))}
      <label className="flex items-center gap-1">
        <input type="checkbox" checked={tests} onChange={(e) => setTests(e.target.checked)} /> passthru.tests
      </label>
      <button type="submit" disabled={chosen.length === 0} className="rounded bg-nix-deep px-3 py-1 font-semibold disabled:opacity-40">
        Build with these
      </button>
    </form>
  );
}

function ShowSwitches({ show, act }: { show: ShowStatus; act: Act }) {
  return (
    <section className="flex flex-wrap items-center gap-2" aria-label="Show switches">
      {SWITCHES.map(({ key, label }) => {
        const on = Boolean(show[key]);
        return (
          <button
            key={key}
            type="button"
            aria-pressed={on}
            onClick={() => act("/api/host/settings", { key, value: !on }, `${label}: ${on ? "off" : "on"}.`)}
            className={`rounded-full px-3 py-1.5 text-sm font-semibold ring-1 ${on ? "bg-amber-400/20 text-amber-200 ring-amber-300/60" : "text-slate-300 ring-slate-700"}`}
          >
            {on ? "● " : "○ "}
            {label}
          </button>
        );
      })}
      <button type="button" onClick={() => act("/api/host/settings/room-code", {}, "New room code on the stage.")} className="rounded-full px-3 py-1.5 text-sm text-slate-300 ring-1 ring-slate-700">
        New room code
      </button>
    </section>
  );
}

interface HostSubmission {
  id: number;
  source: string;
  remote: boolean;
  nickname: string;
  deviceToken: string | null;
  rawText: string;
  outcome: string;
}

function QueueRow({ item, act, systems }: { item: QueueItemView; act: Act; systems: string[] }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [subs, setSubs] = useState<HostSubmission[]>([]);
  useEffect(() => {
    if (!open) return;
    void fetch(`/api/host/queue/${item.prNumber}/submissions`)
      .then((r) => (r.ok ? r.json() : { submissions: [] }))
      .then((b: { submissions: HostSubmission[] }) => setSubs(b.submissions));
  }, [open, item.prNumber, item.submissionCount]);
  return (
    <li data-testid={`host-queue-${item.prNumber}`} className="flex flex-col gap-2 border-t border-slate-800 py-2">
      <div className="flex items-center gap-3">
        <a href={`/pr/${item.prNumber}`} className="font-bold hover:underline">#{item.prNumber}</a>
        <span className="min-w-0 flex-1 truncate text-slate-300">{item.title ?? "—"}</span>
        <span className="text-sm text-slate-400">▲ {item.votes} · {item.submitters.join(", ")}</span>
        <StatusBadge status={item.state} />
        {item.state === "pending" || item.state === "rejected" ? (
          <button type="button" onClick={() => act(`/api/host/queue/${item.prNumber}/approve`, {}, `#${item.prNumber} approved.`)} className="rounded-lg bg-emerald-600/80 px-3 py-1.5 font-semibold hover:bg-emerald-500">
            Approve #{item.prNumber}
          </button>
        ) : (
          <button
            type="button"
            disabled={item.state === "building"}
            onClick={() => act("/api/host/builds", { pr: item.prNumber }, `Build of #${item.prNumber} started.`)}
            className="rounded-lg bg-nix-deep px-3 py-1.5 font-semibold hover:bg-nix disabled:opacity-40"
          >
            Build #{item.prNumber}
          </button>
        )}
        <button type="button" onClick={() => setOpen(!open)} aria-expanded={open} className="rounded-lg px-2 py-1.5 text-sm text-slate-300 ring-1 ring-slate-700">
          Moderate
        </button>
      </div>
      {item.eligibility && <p className="text-sm text-amber-300">⚠ {item.eligibility}</p>}
      {item.rejectReason && <p className="text-sm text-rose-300">Rejected: {item.rejectReason}</p>}
      {open && (
        <div className="ml-6 flex flex-col gap-2 rounded-lg bg-slate-900 p-3 text-sm">
          <BuildOptions prNumber={item.prNumber} act={act} systems={systems} />
          <div className="flex items-center gap-2 text-slate-400">
            Predictions: ✔ {item.predictions.builds} / ✘ {item.predictions.fails}
            {!item.predictionsLocked && (
              <button type="button" onClick={() => act(`/api/host/queue/${item.prNumber}/lock-predictions`, {}, `Predictions for #${item.prNumber} locked.`)} className="rounded px-2 py-0.5 ring-1 ring-slate-700">
                Lock predictions
              </button>
            )}
          </div>
          <form
            className="flex gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              void act(`/api/host/queue/${item.prNumber}/reject`, { reason }, `#${item.prNumber} rejected.`);
            }}
          >
            <input
              aria-label={`Reason to reject #${item.prNumber}`}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              placeholder="reason the submitters will see"
              className="flex-1 rounded bg-slate-950 px-2 py-1 ring-1 ring-slate-700"
            />
            <button type="submit" className="rounded bg-rose-600/80 px-3 py-1 font-semibold">Reject</button>
          </form>
          <ul className="flex flex-col gap-1">
            {subs.map((s) => (
              <li key={s.id} className="flex items-center gap-2">
                <span className="font-semibold">{s.nickname}</span>
                <span className="text-slate-500">{s.source}{s.remote ? " · remote" : ""} · {s.outcome}</span>
                <span className="truncate font-mono text-slate-400">{s.rawText}</span>
                {s.deviceToken && (
                  <button type="button" onClick={() => act("/api/host/devices/ban", { deviceToken: s.deviceToken, reason: "spam" }, `${s.nickname} is banned.`)} className="ml-auto rounded px-2 py-0.5 text-rose-300 ring-1 ring-rose-400/40">
                    Ban {s.nickname}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </li>
  );
}

async function readError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `The server answered ${res.status}.`;
  } catch {
    return `The server answered ${res.status}.`;
  }
}

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    const res = await fetch("/api/host/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password }),
    });
    if (res.ok) onSignedIn((await res.json()) as Session);
    else setError(await readError(res));
  }
  return (
    <form onSubmit={submit} className="mx-auto mt-24 flex w-96 flex-col gap-3 rounded-2xl bg-slate-900 p-6 ring-1 ring-slate-800">
      <h1 className="text-2xl font-bold">Host console</h1>
      <label className="flex flex-col gap-1">
        <span className="text-sm text-slate-400">Host password</span>
        <input
          type="password"
          name="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoFocus
          className="rounded-lg bg-slate-950 px-3 py-2 ring-1 ring-slate-700 outline-none focus:ring-2 focus:ring-nix"
        />
      </label>
      <button type="submit" className="rounded-lg bg-nix-deep px-3 py-2 font-semibold hover:bg-nix">
        Sign in
      </button>
      {error && <p role="alert" className="text-sm text-rose-300">{error}</p>}
    </form>
  );
}

/** The host runs the show from here: pick a PR from the queue, press Build, cancel if needed. */
export function HostConsole() {
  const [session, setSession] = useState<Session | null>(null);
  const { snapshot, connected } = useShow();
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  useEffect(() => {
    void fetch("/api/host/session").then(async (res) => setSession((await res.json()) as Session));
  }, []);

  const act: Act = useCallback(
    async (url, body, done) => {
      if (!session?.signedIn) return false;
      setMessage(null);
      const res = await postJson(url, body, { "x-csrf-token": session.csrfToken });
      if (res.ok) setMessage({ kind: "ok", text: done });
      else if (res.status === 401) setSession({ signedIn: false });
      else setMessage({ kind: "error", text: res.error });
      return res.ok;
    },
    [session],
  );

  if (session === null) return <p className="p-8 text-slate-400">Loading…</p>;
  if (!session.signedIn) {
    return (
      <SignIn
        onSignedIn={(s) => {
          setSession(s);
          // Reconnect so the socket's handshake carries the new session cookie and joins the host room.
          showSocket().disconnect().connect();
        }}
      />
    );
  }

  const builds = snapshot?.builds ?? [];
  const active = builds.filter((b) => !FINISHED_BUILD_STATUSES.includes(b.status));
  return (
    <main className="mx-auto flex max-w-6xl flex-col gap-6 p-6">
      <header className="flex items-center justify-between">
        <h1 className="text-2xl font-bold">Host console</h1>
        <span className={`text-sm ${connected ? "text-emerald-400" : "text-amber-400"}`}>{connected ? "● live" : "○ reconnecting…"}</span>
      </header>
      {message && (
        <p role="status" data-testid="host-message" className={`rounded-lg px-3 py-2 ${message.kind === "ok" ? "bg-emerald-500/15 text-emerald-200" : "bg-rose-500/15 text-rose-200"}`}>
          {message.text}
        </p>
      )}

      {snapshot && !snapshot.show.githubAuthenticated && (
        <p role="alert" className="rounded-lg bg-amber-400/15 px-3 py-2 text-amber-200">
          ⚠ No GITHUB_TOKEN: GitHub allows 60 requests an hour and no CI artifacts. Set GITHUB_TOKEN before the show.
        </p>
      )}
      {snapshot && <ShowSwitches show={snapshot.show} act={act} />}
      {snapshot && <RoundTimer endsAt={snapshot.show.roundEndsAt} act={act} />}
      <PreflightPanel onUnauthorized={() => setSession({ signedIn: false })} />

      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold text-slate-300">Queue</h2>
        {(snapshot?.queue ?? []).length === 0 && <p className="text-slate-500">No submissions yet.</p>}
        <ul className="flex flex-col">
          {(snapshot?.queue ?? []).map((q) => (
            <QueueRow key={q.prNumber} item={q} act={act} systems={snapshot?.show.systems ?? []} />
          ))}
        </ul>
      </section>

      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold text-slate-300">Builds</h2>
        <table className="w-full text-left text-sm">
          <tbody>
            {builds.map((b) => (
              <tr key={b.id} data-testid={`host-build-${b.id}`} className="border-t border-slate-800">
                <td className="py-2 pr-3 font-bold"><a href={`/pr/${b.prNumber}`} className="hover:underline">#{b.prNumber}</a></td>
                <td className="py-2 pr-3"><StatusBadge status={b.status} /></td>
                <td className="py-2 pr-3 text-slate-400">{b.system} · {shortSha(b.headSha)}</td>
                <td className="max-w-md truncate py-2 pr-3 text-slate-300">
                  {b.error ?? (b.targets.length ? b.targets.map((t) => `${t.attr} (${t.source})`).join(", ") : b.targetNote)}
                </td>
                <td className="py-2 text-right">
                  {active.includes(b) && (
                    <button
                      type="button"
                      onClick={() => act(`/api/host/builds/${b.id}/cancel`, {}, `Cancelling build ${b.id}.`)}
                      className="rounded-lg bg-rose-600/80 px-3 py-1 font-semibold hover:bg-rose-500"
                    >
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="flex flex-col gap-2 border-t border-slate-800 pt-4">
        <h2 className="text-lg font-semibold text-slate-300">Leaderboard</h2>
        <ol className="text-sm text-slate-300">
          {(snapshot?.leaderboard ?? []).map((l) => (
            <li key={`${l.rank}-${l.nickname}`}>
              {l.rank}. {l.nickname} · {l.points}
            </li>
          ))}
        </ol>
        <ExportPanel />
        <ResetShow act={act} />
      </section>

      <MergePanel csrfToken={session.csrfToken} />
    </main>
  );
}
