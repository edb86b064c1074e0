"use client";

import { useCallback, useEffect, useState } from "react";
import { FINISHED_BUILD_STATUSES } from "@/server/show/views";
import { StatusBadge } from "./status-badge";
import { shortSha } from "./format";
import { useShow } from "./use-show";

type Session = { signedIn: false } | { signedIn: true; csrfToken: string };

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

  const act = useCallback(
    async (url: string, body: unknown, done: string) => {
      if (!session?.signedIn) return;
      setMessage(null);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": session.csrfToken },
        body: JSON.stringify(body),
      });
      if (res.ok) setMessage({ kind: "ok", text: done });
      else if (res.status === 401) setSession({ signedIn: false });
      else setMessage({ kind: "error", text: await readError(res) });
    },
    [session],
  );

  if (session === null) return <p className="p-8 text-slate-400">Loading…</p>;
  if (!session.signedIn) return <SignIn onSignedIn={setSession} />;

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

      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold text-slate-300">Queue</h2>
        {(snapshot?.queue ?? []).length === 0 && <p className="text-slate-500">No submissions yet.</p>}
        <table className="w-full text-left">
          <tbody>
            {(snapshot?.queue ?? []).map((q) => (
              <tr key={q.prNumber} data-testid={`host-queue-${q.prNumber}`} className="border-t border-slate-800">
                <td className="py-2 pr-3 font-bold">
                  <a href={`/pr/${q.prNumber}`} className="hover:underline">#{q.prNumber}</a>
                </td>
                <td className="max-w-md truncate py-2 pr-3 text-slate-300">{q.title ?? "—"}</td>
                <td className="py-2 pr-3 text-sm text-slate-400">{q.submitters.join(", ")} ({q.submissionCount})</td>
                <td className="py-2 pr-3"><StatusBadge status={q.state} /></td>
                <td className="py-2 text-right">
                  <button
                    type="button"
                    disabled={q.state === "building"}
                    onClick={() => act("/api/host/builds", { pr: q.prNumber }, `Build of #${q.prNumber} started.`)}
                    className="rounded-lg bg-nix-deep px-3 py-1.5 font-semibold hover:bg-nix disabled:opacity-40"
                  >
                    Build #{q.prNumber}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
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
    </main>
  );
}
