"use client";

import { useCallback, useEffect, useState } from "react";
import type { QueueItemView } from "@/server/show/views";
import { StatusBadge } from "./status-badge";
import { deviceToken, useShow } from "./use-show";
import { postJson } from "./post-json";
import { Podium } from "./podium";

interface Feedback {
  kind: "ok" | "error";
  text: string;
}

interface Me {
  deviceToken: string;
  nickname: string;
  remote: boolean;
}

interface MySubmission {
  id: number;
  rawText: string;
  prNumber: number | null;
  outcome: string;
  reason: string | null;
  state: string | null;
}

function PredictButtons({ item, guess, onPredict }: { item: QueueItemView; guess: Guess | undefined; onPredict: (g: Guess) => void }) {
  const base = "flex-1 rounded-lg px-2 py-1.5 text-sm font-semibold ring-1 disabled:opacity-50";
  return (
    <div className="flex gap-2" role="group" aria-label={`Predict #${item.prNumber}`}>
      <button
        type="button"
        disabled={item.predictionsLocked}
        aria-pressed={guess === "builds"}
        onClick={() => onPredict("builds")}
        className={`${base} ${guess === "builds" ? "bg-emerald-500/30 text-emerald-100 ring-emerald-300" : "text-emerald-200 ring-emerald-400/40"}`}
      >
        ✔ It builds · {item.predictions.builds}
      </button>
      <button
        type="button"
        disabled={item.predictionsLocked}
        aria-pressed={guess === "fails"}
        onClick={() => onPredict("fails")}
        className={`${base} ${guess === "fails" ? "bg-rose-500/30 text-rose-100 ring-rose-300" : "text-rose-200 ring-rose-400/40"}`}
      >
        ✘ Hydra failure · {item.predictions.fails}
      </button>
    </div>
  );
}

function QueueItem({ item, voted, onVote, guess, onPredict }: { item: QueueItemView; voted: boolean; onVote: () => void; guess: Guess | undefined; onPredict: (g: Guess) => void }) {
  const canPredict = item.state === "queued" || item.state === "building";
  return (
    <li data-testid={`phone-queue-${item.prNumber}`} className="flex flex-col gap-2 rounded-xl bg-slate-900 px-3 py-2 ring-1 ring-slate-800">
    <div className="flex items-center gap-3">
      <button
        type="button"
        onClick={onVote}
        disabled={voted || item.state !== "queued"}
        aria-label={`Upvote #${item.prNumber}`}
        className="flex w-12 flex-col items-center rounded-lg bg-slate-800 py-1 text-sm font-bold ring-1 ring-slate-700 disabled:opacity-60 aria-pressed:bg-nix-deep"
        aria-pressed={voted}
      >
        <span aria-hidden="true">▲</span>
        <span data-testid={`votes-${item.prNumber}`}>{item.votes}</span>
      </button>
      <div className="min-w-0 flex-1">
        <p className="font-bold">#{item.prNumber}</p>
        <p className="truncate text-sm text-slate-400">{item.title ?? "fetching title…"}</p>
      </div>
      <StatusBadge status={item.state} />
    </div>
    {canPredict && <PredictButtons item={item} guess={guess} onPredict={onPredict} />}
    </li>
  );
}

type Guess = "builds" | "fails";

interface Standing {
  rank: number | null;
  points: number;
  players: number;
}

function useCountdownText(endsAt: string | null | undefined): string | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!endsAt) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [endsAt]);
  if (!endsAt) return null;
  const left = Math.max(0, Math.round((Date.parse(endsAt) - now) / 1000));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

/** The audience's phone: join, name a PR, upvote, see what became of what you sent. */
export function PhoneApp() {
  const { snapshot, connected } = useShow();
  const [me, setMe] = useState<Me | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);
  const [pr, setPr] = useState("");
  const [nickname, setNickname] = useState("");
  const [roomCode, setRoomCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const [voted, setVoted] = useState<Set<number>>(new Set());
  const [mine, setMine] = useState<MySubmission[]>([]);
  const [guesses, setGuesses] = useState<Record<number, Guess>>({});
  const [standing, setStanding] = useState<Standing | null>(null);

  const join = useCallback(async (name: string | null, code: string | null, via: "qr" | "code" | "web") => {
    const res = await postJson<Me>("/api/devices", { deviceToken: deviceToken(), nickname: name, roomCode: code, via });
    if (res.ok) {
      setMe(res.body);
      setNickname(res.body.nickname);
      localStorage.setItem("mafhf.nickname", res.body.nickname);
      if (code) localStorage.setItem("mafhf.room", code);
      setJoinError(null);
    } else {
      setJoinError(res.error);
    }
    return res.ok;
  }, []);

  const loadMine = useCallback(async () => {
    const res = await fetch("/api/devices/me/submissions", { headers: { "x-device-token": deviceToken() } });
    if (res.ok) setMine(((await res.json()) as { submissions: MySubmission[] }).submissions);
  }, []);

  useEffect(() => {
    const code = localStorage.getItem("mafhf.room");
    const via = (localStorage.getItem("mafhf.via") as "qr" | null) ?? "web";
    setRoomCode(code ?? "");
    setVoted(new Set(JSON.parse(localStorage.getItem("mafhf.voted") ?? "[]") as number[]));
    const name = localStorage.getItem("mafhf.nickname");
    void join(name, code, via)
      .then(async (ok) => {
        // A code from an old QR scan (the host changed it): join as a remote viewer instead.
        if (!ok && code) {
          localStorage.removeItem("mafhf.room");
          localStorage.removeItem("mafhf.via");
          setRoomCode("");
          await join(name, null, "web");
        }
      })
      .then(() => loadMine());
  }, [join, loadMine]);

  useEffect(() => {
    void loadMine();
  }, [snapshot?.queue, loadMine]);

  useEffect(() => {
    setGuesses(JSON.parse(localStorage.getItem("mafhf.guesses") ?? "{}") as Record<number, Guess>);
  }, []);

  useEffect(() => {
    void fetch("/api/devices/me/standing", { headers: { "x-device-token": deviceToken() } })
      .then((r) => (r.ok ? r.json() : null))
      .then((s: Standing | null) => s && setStanding(s));
  }, [snapshot?.leaderboard]);

  async function predictPr(prNumber: number, guess: Guess) {
    const res = await postJson("/api/predictions", { deviceToken: deviceToken(), prNumber, guess });
    if (!res.ok) return setFeedback({ kind: "error", text: res.error });
    setGuesses((prev) => {
      const next = { ...prev, [prNumber]: guess };
      localStorage.setItem("mafhf.guesses", JSON.stringify(next));
      return next;
    });
  }

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setFeedback(null);
    const res = await postJson<{ message: string; warning: string | null; prNumber: number }>("/api/submissions", {
      pr,
      nickname,
      deviceToken: deviceToken(),
      roomCode: roomCode || undefined,
    });
    if (res.ok) {
      setFeedback({ kind: "ok", text: [res.body.message, res.body.warning].filter(Boolean).join(" ") });
      rememberVote(res.body.prNumber);
      setPr("");
    } else {
      setFeedback({ kind: "error", text: res.error });
    }
    setBusy(false);
    void loadMine();
  }

  function rememberVote(prNumber: number) {
    setVoted((prev) => {
      const next = new Set(prev).add(prNumber);
      localStorage.setItem("mafhf.voted", JSON.stringify([...next]));
      return next;
    });
  }

  async function vote(prNumber: number) {
    const res = await postJson("/api/votes", { deviceToken: deviceToken(), prNumber });
    if (res.ok) rememberVote(prNumber);
    else setFeedback({ kind: "error", text: res.error });
  }

  async function saveNickname() {
    if (nickname.trim() && nickname !== me?.nickname) await join(nickname, roomCode || null, "web");
  }

  const queue = snapshot?.queue ?? [];
  const show = snapshot?.show;
  const needsCode = Boolean(me?.remote && show?.requireRoomCodeForRemote);
  const countdown = useCountdownText(show?.roundEndsAt);
  return (
    <main className="mx-auto flex min-h-dvh max-w-md flex-col gap-5 px-5 py-6">
      <header>
        <p className="text-sm font-semibold uppercase tracking-widest text-nix">Live on stage</p>
        <h1 className="text-3xl font-black leading-tight">Maybe A Few Hydra Failures</h1>
        <p className="mt-1 text-slate-400">Name a nixpkgs pull request. We build it live. Will it pass?</p>
        {me && (
          <p className="mt-2 text-sm text-slate-400" data-testid="whoami">
            Playing as <span className="font-semibold text-slate-200">{me.nickname}</span>
            {me.remote ? " · watching remotely" : " · in the room"}
          </p>
        )}
        {standing && (
          <p className="mt-1 text-sm text-slate-300" data-testid="standing">
            {standing.rank ? `#${standing.rank} of ${standing.players}` : "Not on the board yet"} · <span className="font-bold text-nix">{standing.points} points</span>
            {countdown && <span className="text-amber-200"> · round ends in {countdown}</span>}
          </p>
        )}
        {joinError && <p role="alert" className="mt-2 rounded-lg bg-rose-500/15 px-3 py-2 text-sm text-rose-200">{joinError}</p>}
      </header>

      {show?.podium && snapshot && <Podium leaders={snapshot.leaderboard} />}

      {show?.submissionsLocked && (
        <p className="rounded-xl bg-amber-400/15 px-3 py-2 text-amber-200">Submissions are closed for now. You can still upvote.</p>
      )}

      <form onSubmit={submit} className="flex flex-col gap-3 rounded-2xl bg-slate-900 p-4 ring-1 ring-slate-800">
        <label className="flex flex-col gap-1">
          <span className="text-sm font-medium text-slate-300">Pull request</span>
          <input
            name="pr"
            value={pr}
            onChange={(e) => setPr(e.target.value)}
            placeholder="#427048 or a GitHub link"
            autoComplete="off"
            required
            className="rounded-xl bg-slate-950 px-4 py-3 text-xl font-semibold ring-1 ring-slate-700 outline-none focus:ring-2 focus:ring-nix"
          />
        </label>
        <label className="flex flex-col gap-1">
          <span className="text-sm font-medium text-slate-300">Your name on the scoreboard</span>
          <input
            name="nickname"
            value={nickname}
            onChange={(e) => setNickname(e.target.value)}
            onBlur={saveNickname}
            maxLength={24}
            className="rounded-xl bg-slate-950 px-4 py-2.5 ring-1 ring-slate-700 outline-none focus:ring-2 focus:ring-nix"
          />
        </label>
        {(needsCode || roomCode) && (
          <label className="flex flex-col gap-1">
            <span className="text-sm font-medium text-slate-300">Room code (on the stage screen)</span>
            <input
              name="roomCode"
              value={roomCode}
              onChange={(e) => setRoomCode(e.target.value.toUpperCase())}
              maxLength={8}
              autoCapitalize="characters"
              className="rounded-xl bg-slate-950 px-4 py-2.5 font-mono text-lg tracking-[0.3em] ring-1 ring-slate-700 outline-none focus:ring-2 focus:ring-nix"
            />
          </label>
        )}
        <button
          type="submit"
          disabled={busy || !pr.trim()}
          className="rounded-xl bg-nix-deep px-4 py-3 text-lg font-bold text-white transition hover:bg-nix disabled:opacity-50"
        >
          {busy ? "Sending…" : "Build it!"}
        </button>
        {feedback && (
          <p
            role="status"
            data-testid="submit-feedback"
            className={`rounded-xl px-3 py-2 text-sm ${feedback.kind === "ok" ? "bg-emerald-500/15 text-emerald-200" : "bg-rose-500/15 text-rose-200"}`}
          >
            {feedback.kind === "ok" ? "✔ " : "✘ "}
            {feedback.text}
          </p>
        )}
      </form>

      <section className="flex flex-col gap-2">
        <h2 className="flex items-center justify-between text-lg font-bold">
          Queue
          <span className={`text-xs font-medium ${connected ? "text-emerald-400" : "text-amber-400"}`}>
            {connected ? "● live" : "○ reconnecting…"}
          </span>
        </h2>
        {queue.length === 0 && <p className="text-slate-500">Nothing yet. Be the first!</p>}
        <ul className="flex flex-col gap-2">
          {queue.map((item) => (
            <QueueItem
              key={item.prNumber}
              item={item}
              voted={voted.has(item.prNumber)}
              onVote={() => vote(item.prNumber)}
              guess={guesses[item.prNumber]}
              onPredict={(g) => predictPr(item.prNumber, g)}
            />
          ))}
        </ul>
      </section>

      {mine.length > 0 && (
        <section className="flex flex-col gap-2">
          <h2 className="text-lg font-bold">What you sent</h2>
          <ul className="flex flex-col gap-1 text-sm" data-testid="my-submissions">
            {mine.map((s) => (
              <li key={s.id} className="rounded-lg bg-slate-900/60 px-3 py-2">
                <span className="font-mono text-slate-300">{s.rawText}</span>
                <span className="text-slate-500"> · </span>
                {s.state === "rejected" || s.outcome === "refused" ? (
                  <span className="text-rose-300">✘ {s.reason}</span>
                ) : (
                  <span className="text-slate-300">{s.state ?? s.outcome}</span>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
