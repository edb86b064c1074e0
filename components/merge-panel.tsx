"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import type {
  ChecklistView,
  DeviceLoginView,
  MaintainerView,
  MergeAttemptView,
  MergeMethod,
  MergePanelView,
  MergeView,
} from "@/server/merge/views";
import type { QueueItemView } from "@/server/show/views";
import { shortSha } from "./format";
import { useShow } from "./use-show";

/**
 * The host console's approve-and-merge panel: maintainers sign in with GitHub's device flow, the
 * host picks a PR and a maintainer, the checklist shows every condition with its reason, and the
 * button merges only when every line is ✅ (the server checks again at the click). Below: merges
 * GitHub is working on, and the audit of every attempt. The browser only ever sees logins and
 * permissions; tokens stay on the server.
 */
type Answer<T> = { ok: true; body: T } | { ok: false; status: number; error: string };

async function request<T>(csrfToken: string, method: string, url: string, body?: unknown): Promise<Answer<T>> {
  try {
    const res = await fetch(url, {
      method,
      headers: { "x-csrf-token": csrfToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = (await res.json().catch(() => null)) as (T & { error?: { message?: string } }) | null;
    if (res.ok) return { ok: true, body: data as T };
    return { ok: false, status: res.status, error: data?.error?.message ?? `The server answered ${res.status}.` };
  } catch {
    return { ok: false, status: 0, error: "No connection to the show server." };
  }
}

const METHOD_HINT: Record<MergeMethod, string> = {
  enqueue: "adds it to GitHub's merge queue, pinned to the built commit",
  "auto-merge": "turns on auto-merge: GitHub queues it once “no PR failures” is green",
  "rest-merge": "merges it directly (this branch has no merge queue), pinned to the built commit",
};

const MERGEABLE_STATES = new Set(["passed", "failed", "merged"]);

/** ✅ / ❌ drawn, not typed: not every console machine has an emoji font. */
function Mark({ ok }: { ok: boolean | null }) {
  const label = ok ? "✅" : ok === false ? "❌" : "❔";
  return (
    <span role="img" aria-label={label} className={`inline-flex h-5 w-5 shrink-0 items-center justify-center rounded-full ${ok ? "bg-emerald-500/25 text-emerald-300" : ok === false ? "bg-rose-500/25 text-rose-300" : "bg-slate-500/25 text-slate-300"}`}>
      <svg viewBox="0 0 16 16" aria-hidden="true" className="h-3.5 w-3.5">
        <path d={ok ? "M3.5 8.5l3 3L12.5 5" : ok === false ? "M4.5 4.5l7 7M11.5 4.5l-7 7" : "M6 6a2 2 0 1 1 2.5 1.9V9.5M8 12v.2"} fill="none" stroke="currentColor" strokeWidth={2.2} strokeLinecap="round" strokeLinejoin="round" />
      </svg>
    </span>
  );
}

function secondsLeft(iso: string, now: number): string {
  const s = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function DeviceLogin({ login, now }: { login: DeviceLoginView; now: number }) {
  if (login.status !== "pending") {
    return (
      <p data-testid="device-login-result" className={`text-sm ${login.status === "signed-in" ? "text-emerald-300" : "text-amber-300"}`}>
        {login.message}
      </p>
    );
  }
  return (
    <div className="flex flex-wrap items-center gap-4 rounded-xl bg-slate-950 p-4 ring-1 ring-nix-deep">
      <p className="text-sm text-slate-300">
        On a phone or laptop, open{" "}
        <a href={login.verificationUri} target="_blank" rel="noreferrer" className="font-semibold text-nix underline">
          {login.verificationUri}
        </a>{" "}
        and enter
      </p>
      <p data-testid="device-code" className="font-mono text-4xl font-black tracking-widest text-white">
        {login.userCode}
      </p>
      <p className="text-sm text-slate-400">
        expires in {secondsLeft(login.expiresAt, now)} · {login.message}
      </p>
    </div>
  );
}

function Maintainers({
  panel,
  selected,
  onSelect,
  onSignIn,
  onSignOut,
}: {
  panel: MergePanelView;
  selected: string | null;
  onSelect: (login: string) => void;
  onSignIn: () => void;
  onSignOut: (login: string) => void;
}) {
  return (
    <div className="flex flex-col gap-2">
      <h3 className="text-sm font-semibold uppercase tracking-wider text-slate-400">Maintainers</h3>
      {panel.maintainers.length === 0 && <p className="text-sm text-slate-500">Nobody is signed in yet.</p>}
      <ul className="flex flex-col gap-1">
        {panel.maintainers.map((m: MaintainerView) => (
          <li key={m.login} data-testid={`maintainer-${m.login}`} className="flex flex-wrap items-center gap-3 text-sm">
            <label className="flex items-center gap-2">
              <input type="radio" name="maintainer" checked={selected === m.login} onChange={() => onSelect(m.login)} />
              <span className="font-semibold">@{m.login}</span>
              {m.name && <span className="text-slate-400">{m.name}</span>}
            </label>
            <span className={`inline-flex items-center gap-1 ${m.canPush ? "text-emerald-300" : "text-rose-300"}`}>
              <Mark ok={m.canPush} />
              {m.canPush ? `can push to ${panel.repo}` : m.canPush === false ? `cannot push to ${panel.repo}` : "push access unknown"}
            </span>
            <span className="text-slate-500">
              {m.source === "environment" ? "GITHUB_MAINTAINER_TOKEN" : "GitHub sign-in"}
              {m.scopes ? ` · scopes: ${m.scopes.join(", ") || "none"}` : " · fine-grained token"}
            </span>
            {m.note && <span className="text-amber-300">{m.note}</span>}
            {m.source === "device-flow" && (
              <button type="button" onClick={() => onSignOut(m.login)} className="rounded px-2 py-0.5 text-slate-300 ring-1 ring-slate-700">
                Sign out @{m.login}
              </button>
            )}
          </li>
        ))}
      </ul>
      <div className="flex flex-wrap items-center gap-3">
        <button
          type="button"
          disabled={!panel.deviceFlowEnabled}
          onClick={onSignIn}
          className="rounded-lg bg-slate-100 px-3 py-1.5 font-semibold text-slate-900 hover:bg-white disabled:opacity-40"
        >
          Sign in a maintainer with GitHub
        </button>
        {panel.deviceFlowNote && <p className="text-sm text-amber-300">{panel.deviceFlowNote}</p>}
      </div>
    </div>
  );
}

function Checklist({ checklist }: { checklist: ChecklistView }) {
  return (
    <ul data-testid="merge-checklist" className="flex flex-col gap-1 text-sm">
      {checklist.lines.map((line) => (
        <li key={line.key} data-testid={`check-${line.key}`} data-ok={line.ok} className="flex items-start gap-2">
          <Mark ok={line.ok} />
          <span className="font-semibold">{line.label}</span>
          <span className={line.ok ? "text-slate-400" : "text-rose-200"}>{line.reason}</span>
        </li>
      ))}
    </ul>
  );
}

function MergeRow({ merge }: { merge: MergeView }) {
  const done = merge.state === "merged";
  return (
    <li data-testid={`merge-${merge.prNumber}`} data-state={merge.state} className="flex flex-wrap items-center gap-3 text-sm">
      <span className={`rounded-full px-2 py-0.5 font-semibold ${done ? "bg-violet-500/20 text-violet-200" : merge.state === "dequeued" ? "bg-rose-500/15 text-rose-200" : "bg-amber-400/15 text-amber-200"}`}>
        {merge.state === "queued" && merge.queuePosition !== null ? `queue #${merge.queuePosition}` : merge.state}
      </span>
      <span className="font-bold">#{merge.prNumber}</span>
      <span className="max-w-md truncate text-slate-300">{merge.title}</span>
      <span className="text-slate-400">{merge.message}</span>
      {merge.resultCommentUrl && (
        <a href={merge.resultCommentUrl} target="_blank" rel="noreferrer" className="text-nix underline">
          result comment
        </a>
      )}
    </li>
  );
}

function Audit({ attempts }: { attempts: MergeAttemptView[] }) {
  if (attempts.length === 0) return <p className="text-sm text-slate-500">No merge attempts yet.</p>;
  return (
    <table data-testid="merge-audit" className="w-full text-left text-xs">
      <thead className="text-slate-500">
        <tr>
          <th className="py-1 pr-2 font-normal">time</th>
          <th className="py-1 pr-2 font-normal">PR</th>
          <th className="py-1 pr-2 font-normal">who</th>
          <th className="py-1 pr-2 font-normal">SHA</th>
          <th className="py-1 pr-2 font-normal">method</th>
          <th className="py-1 pr-2 font-normal">outcome</th>
          <th className="py-1 font-normal">GitHub's answer</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.id} className="border-t border-slate-800 align-top">
            <td className="py-1 pr-2 tabular-nums text-slate-400">{new Date(a.createdAt).toLocaleTimeString()}</td>
            <td className="py-1 pr-2 font-semibold">#{a.prNumber}</td>
            <td className="py-1 pr-2">@{a.maintainer}</td>
            <td className="py-1 pr-2 font-mono text-slate-400">{shortSha(a.headSha)}</td>
            <td className="py-1 pr-2">{a.method}</td>
            <td className={`py-1 pr-2 ${a.outcome === "ok" ? "text-emerald-300" : "text-rose-300"}`}>{a.outcome}</td>
            <td className="py-1 text-slate-300">
              {a.githubStatus !== null && <span className="font-mono text-slate-500">{a.githubStatus} </span>}
              {a.message}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function MergePanel({ csrfToken }: { csrfToken: string }) {
  const { snapshot } = useShow();
  const [panel, setPanel] = useState<MergePanelView | null>(null);
  const [pr, setPr] = useState<number | null>(null);
  const [maintainer, setMaintainer] = useState<string | null>(null);
  const [approve, setApprove] = useState(true);
  const [checklist, setChecklist] = useState<ChecklistView | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const checkSeq = useRef(0);

  const call = useCallback(<T,>(method: string, url: string, body?: unknown) => request<T>(csrfToken, method, url, body), [csrfToken]);

  const refresh = useCallback(async () => {
    const answer = await call<MergePanelView>("GET", "/api/host/merge");
    if (answer.ok) setPanel(answer.body);
  }, [call]);

  const pendingLogin = panel?.deviceLogins.find((l) => l.status === "pending") ?? null;
  const following = panel?.merges.some((m) => m.state === "queued" || m.state === "auto-merge") ?? false;

  // The panel is rebuilt from the server: quickly while GitHub is working on something, slowly otherwise.
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), following ? 2000 : 10_000);
    return () => clearInterval(t);
  }, [refresh, following]);

  // A pending sign-in is polled at the interval GitHub asked for (the server enforces it too).
  const pendingId = pendingLogin?.id ?? null;
  const pendingInterval = pendingLogin?.intervalSeconds ?? 0;
  const [polls, setPolls] = useState(0);
  useEffect(() => {
    if (pendingId === null) return;
    const t = setTimeout(async () => {
      await call<{ login: DeviceLoginView }>("POST", `/api/host/maintainers/device/${pendingId}`);
      await refresh();
      setPolls((n) => n + 1);
    }, Math.max(1, pendingInterval) * 1000);
    return () => clearTimeout(t);
  }, [pendingId, pendingInterval, polls, call, refresh]);

  useEffect(() => {
    if (pendingId === null) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [pendingId]);

  // The first maintainer who can push is the sensible default.
  useEffect(() => {
    if (!panel) return;
    if (maintainer && panel.maintainers.some((m) => m.login === maintainer)) return;
    setMaintainer(panel.maintainers.find((m) => m.canPush)?.login ?? panel.maintainers[0]?.login ?? null);
  }, [panel, maintainer]);

  const check = useCallback(async () => {
    if (pr === null || maintainer === null) return;
    const seq = ++checkSeq.current;
    setBusy("check");
    const answer = await call<{ checklist: ChecklistView }>("POST", "/api/host/merge/checklist", { pr, maintainer });
    if (seq !== checkSeq.current) return;
    setBusy(null);
    if (answer.ok) setChecklist(answer.body.checklist);
    else {
      setChecklist(null);
      setMessage({ kind: "error", text: answer.error });
    }
  }, [pr, maintainer, call]);

  useEffect(() => {
    setChecklist(null);
    void check();
  }, [check]);

  // Once GitHub moves the selected PR along (queued, merged…), its checklist is stale: ask again.
  const selectedMergeState = panel?.merges.find((m) => m.prNumber === pr)?.state ?? null;
  useEffect(() => {
    if (selectedMergeState !== null) void check();
  }, [selectedMergeState, check]);

  const signIn = async () => {
    setMessage(null);
    const answer = await call<{ login: DeviceLoginView }>("POST", "/api/host/maintainers/device");
    if (!answer.ok) setMessage({ kind: "error", text: answer.error });
    await refresh();
  };

  const signOut = async (login: string) => {
    const answer = await call("DELETE", "/api/host/maintainers", { login });
    setMessage(answer.ok ? { kind: "ok", text: `@${login} is signed out; their token is forgotten.` } : { kind: "error", text: answer.error });
    await refresh();
  };

  const merge = async () => {
    if (pr === null || maintainer === null) return;
    setBusy("merge");
    setMessage(null);
    const answer = await call<{ merge: MergeView }>("POST", "/api/host/merge", { pr, maintainer, approve });
    setBusy(null);
    setMessage(answer.ok ? { kind: "ok", text: `#${pr}: ${answer.body.merge.message}` } : { kind: "error", text: answer.error });
    await Promise.all([refresh(), check()]);
  };

  const postResult = async () => {
    if (pr === null || maintainer === null) return;
    setBusy("comment");
    const answer = await call<{ comment: { url: string; edited: boolean } }>("POST", "/api/host/merge/comment", { pr, maintainer });
    setBusy(null);
    setMessage(answer.ok ? { kind: "ok", text: `Result ${answer.body.comment.edited ? "updated" : "posted"} on #${pr}: ${answer.body.comment.url}` } : { kind: "error", text: answer.error });
    await refresh();
  };

  const rebuild = async () => {
    if (pr === null) return;
    const answer = await call("POST", "/api/host/builds", { pr });
    setMessage(answer.ok ? { kind: "ok", text: `Rebuilding #${pr} at GitHub's new head.` } : { kind: "error", text: answer.error });
  };

  const candidates = (snapshot?.queue ?? []).filter((q: QueueItemView) => MERGEABLE_STATES.has(q.state));
  const ready = checklist !== null && checklist.ready && checklist.prNumber === pr && checklist.maintainer === maintainer && busy === null;
  const needsRebuild = checklist?.lines.some((l) => l.action === "rebuild") ?? false;

  return (
    <section data-testid="merge-panel" aria-label="Approve and merge" className="flex flex-col gap-4 rounded-2xl bg-slate-900/60 p-4 ring-1 ring-slate-800">
      <h2 className="text-lg font-semibold text-slate-300">Approve &amp; merge</h2>
      {!panel && <p className="text-sm text-slate-500">Loading…</p>}
      {panel && (
        <>
          <Maintainers panel={panel} selected={maintainer} onSelect={setMaintainer} onSignIn={() => void signIn()} onSignOut={(l) => void signOut(l)} />
          {panel.deviceLogins.map((l) => (
            <DeviceLogin key={l.id} login={l} now={now} />
          ))}

          <div className="flex flex-col gap-2">
            <h3 className="text-sm font-semibold uppercase tracking-wider text-slate-400">Pull request</h3>
            {candidates.length === 0 && <p className="text-sm text-slate-500">No PR has a verdict yet.</p>}
            <div className="flex flex-wrap gap-2">
              {candidates.map((q) => (
                <button
                  key={q.prNumber}
                  type="button"
                  aria-pressed={pr === q.prNumber}
                  onClick={() => setPr(q.prNumber)}
                  className={`rounded-lg px-3 py-1 text-sm font-semibold ring-1 ${pr === q.prNumber ? "bg-nix-deep ring-nix" : "ring-slate-700"}`}
                >
                  Check #{q.prNumber}
                </button>
              ))}
            </div>
          </div>

          {pr !== null && maintainer === null && <p className="text-sm text-amber-300">Sign in a maintainer to check #{pr}.</p>}
          {busy === "check" && <p className="text-sm text-slate-400">Asking GitHub about #{pr}…</p>}
          {checklist && checklist.prNumber === pr && (
            <div className="flex flex-col gap-3">
              <p className="text-sm text-slate-400">
                #{checklist.prNumber} {checklist.title} · built {shortSha(checklist.builtSha)} · GitHub head {shortSha(checklist.githubHeadSha)} · as @{checklist.maintainer}
              </p>
              <Checklist checklist={checklist} />
              {checklist.ready && checklist.method && <p className="text-sm text-slate-300">Pressing the button {METHOD_HINT[checklist.method]}.</p>}
              <div className="flex flex-wrap items-center gap-3">
                <label className="flex items-center gap-2 text-sm">
                  <input type="checkbox" checked={approve} onChange={(e) => setApprove(e.target.checked)} />
                  Approve with a review first
                </label>
                <button
                  type="button"
                  disabled={!ready}
                  onClick={() => void merge()}
                  className="rounded-lg bg-violet-600 px-4 py-2 font-bold hover:bg-violet-500 disabled:opacity-40"
                >
                  Approve &amp; merge #{checklist.prNumber}
                </button>
                <button type="button" disabled={busy !== null} onClick={() => void check()} className="rounded-lg px-3 py-1.5 text-sm ring-1 ring-slate-700 disabled:opacity-40">
                  Check again
                </button>
                <button type="button" disabled={busy !== null} onClick={() => void postResult()} className="rounded-lg px-3 py-1.5 text-sm ring-1 ring-slate-700 disabled:opacity-40">
                  Post result comment
                </button>
                {needsRebuild && (
                  <button type="button" onClick={() => void rebuild()} className="rounded-lg bg-nix-deep px-3 py-1.5 text-sm font-semibold">
                    Rebuild #{checklist.prNumber}
                  </button>
                )}
              </div>
            </div>
          )}
          {message && (
            <p role={message.kind === "error" ? "alert" : "status"} data-testid="merge-message" className={`rounded-lg px-3 py-2 text-sm ${message.kind === "ok" ? "bg-emerald-500/15 text-emerald-200" : "bg-rose-500/15 text-rose-200"}`}>
              {message.text}
            </p>
          )}

          {panel.merges.length > 0 && (
            <div className="flex flex-col gap-2">
              <h3 className="text-sm font-semibold uppercase tracking-wider text-slate-400">On the way in</h3>
              <ul className="flex flex-col gap-1">
                {panel.merges.map((m) => (
                  <MergeRow key={m.prNumber} merge={m} />
                ))}
              </ul>
            </div>
          )}
          <div className="flex flex-col gap-2">
            <h3 className="text-sm font-semibold uppercase tracking-wider text-slate-400">Audit</h3>
            <Audit attempts={panel.attempts} />
          </div>
        </>
      )}
    </section>
  );
}
