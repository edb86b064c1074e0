"use client";

import { useEffect, useState } from "react";
import { StatusBadge } from "./status-badge";
import { useShow } from "./use-show";

interface Feedback {
  kind: "ok" | "error";
  text: string;
}

function storedIdentity(): { deviceToken: string; nickname: string } {
  let deviceToken = localStorage.getItem("mafhf.device");
  if (!deviceToken) {
    deviceToken = crypto.randomUUID();
    localStorage.setItem("mafhf.device", deviceToken);
  }
  return { deviceToken, nickname: localStorage.getItem("mafhf.nickname") ?? "" };
}

/** The audience's phone: name a PR, see the queue. */
export function PhoneApp() {
  const { snapshot, connected } = useShow();
  const [pr, setPr] = useState("");
  const [nickname, setNickname] = useState("");
  const [deviceToken, setDeviceToken] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback | null>(null);

  useEffect(() => {
    const identity = storedIdentity();
    setDeviceToken(identity.deviceToken);
    setNickname(identity.nickname);
  }, []);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setFeedback(null);
    localStorage.setItem("mafhf.nickname", nickname);
    try {
      const res = await fetch("/api/submissions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ pr, nickname, deviceToken }),
      });
      const body = (await res.json()) as { message?: string; warning?: string | null; error?: { message: string } };
      if (res.ok) {
        setFeedback({ kind: "ok", text: [body.message, body.warning].filter(Boolean).join(" ") });
        setPr("");
      } else {
        setFeedback({ kind: "error", text: body.error?.message ?? `The server answered ${res.status}.` });
      }
    } catch {
      setFeedback({ kind: "error", text: "No connection to the show. Check the Wi-Fi and try again." });
    } finally {
      setBusy(false);
    }
  }

  const queue = snapshot?.queue ?? [];
  return (
    <main className="mx-auto flex min-h-dvh max-w-md flex-col gap-6 px-5 py-6">
      <header>
        <p className="text-sm font-semibold uppercase tracking-widest text-nix">Live on stage</p>
        <h1 className="text-3xl font-black leading-tight">Maybe A Few Hydra Failures</h1>
        <p className="mt-1 text-slate-400">Name a nixpkgs pull request. We build it live. Will it pass?</p>
      </header>

      <form onSubmit={submit} className="flex flex-col gap-3 rounded-2xl bg-slate-900 p-4 ring-1 ring-slate-800">
        <label className="flex flex-col gap-1">
          <span className="text-sm font-medium text-slate-300">Pull request</span>
          <input
            name="pr"
            value={pr}
            onChange={(e) => setPr(e.target.value)}
            placeholder="#427048 or a GitHub link"
            autoComplete="off"
            inputMode="text"
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
            placeholder="leave empty for a random one"
            maxLength={24}
            className="rounded-xl bg-slate-950 px-4 py-2.5 ring-1 ring-slate-700 outline-none focus:ring-2 focus:ring-nix"
          />
        </label>
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
            <li key={item.prNumber} className="flex items-center justify-between gap-3 rounded-xl bg-slate-900 px-3 py-2 ring-1 ring-slate-800">
              <div className="min-w-0">
                <p className="font-bold">#{item.prNumber}</p>
                <p className="truncate text-sm text-slate-400">{item.title ?? "fetching title…"}</p>
              </div>
              <StatusBadge status={item.state} />
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
