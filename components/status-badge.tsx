import type { BuildStatus, DerivationState, QueueState } from "@/server/show/views";

type AnyStatus = BuildStatus | DerivationState | QueueState;

type Shape = "check" | "cross" | "play" | "pause" | "down" | "warn" | "slash" | "stop" | "empty";

// Drawn, not typed: projector machines do not all have fonts with ⏵ or ⏸.
const PATHS: Record<Shape, string> = {
  check: "M3 8.5l3.2 3.2L13 4.8",
  cross: "M4 4l8 8M12 4l-8 8",
  play: "M5 3.5v9l7.5-4.5z",
  pause: "M5 3.5v9M11 3.5v9",
  down: "M8 3v9M4.5 8.5L8 12l3.5-3.5",
  warn: "M8 2.5l6 11H2zM8 7v3M8 12v.2",
  slash: "M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 1 0 0-11zM4.2 4.2l7.6 7.6",
  stop: "M4 4h8v8H4z",
  empty: "M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 1 0 0-11zM12.5 3.5l-9 9",
};

function Icon({ shape }: { shape: Shape }) {
  const filled = shape === "play" || shape === "stop";
  return (
    <svg viewBox="0 0 16 16" aria-hidden="true" className="h-[1em] w-[1em] shrink-0">
      <path d={PATHS[shape]} fill={filled ? "currentColor" : "none"} stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/** Status by colour and by shape, so it reads on a washed-out projector and for colour-blind eyes. */
const LOOK: Record<AnyStatus, { icon: Shape; label: string; className: string }> = {
  pending: { icon: "pause", label: "awaiting host", className: "bg-slate-500/15 text-slate-300 ring-slate-400/40" },
  merged: { icon: "check", label: "merged", className: "bg-violet-500/20 text-violet-200 ring-violet-400/60" },
  queued: { icon: "pause", label: "queued", className: "bg-sky-500/15 text-sky-300 ring-sky-400/40" },
  planned: { icon: "pause", label: "planned", className: "bg-sky-500/15 text-sky-300 ring-sky-400/40" },
  fetching: { icon: "down", label: "fetching", className: "bg-sky-500/15 text-sky-200 ring-sky-400/40" },
  building: { icon: "play", label: "building", className: "bg-amber-400/15 text-amber-200 ring-amber-300/50" },
  running: { icon: "play", label: "building", className: "bg-amber-400/15 text-amber-200 ring-amber-300/50" },
  passed: { icon: "check", label: "builds", className: "bg-emerald-500/15 text-emerald-300 ring-emerald-400/50" },
  built: { icon: "check", label: "built", className: "bg-emerald-500/15 text-emerald-300 ring-emerald-400/50" },
  substituted: { icon: "down", label: "cached", className: "bg-emerald-500/10 text-emerald-200 ring-emerald-400/30" },
  failed: { icon: "cross", label: "Hydra failure", className: "bg-rose-500/15 text-rose-300 ring-rose-400/60" },
  "dependency-failed": { icon: "slash", label: "dependency failed", className: "bg-rose-500/10 text-rose-200 ring-rose-400/40" },
  rejected: { icon: "slash", label: "rejected", className: "bg-slate-500/15 text-slate-300 ring-slate-400/40" },
  cancelled: { icon: "stop", label: "cancelled", className: "bg-slate-500/15 text-slate-300 ring-slate-400/40" },
  interrupted: { icon: "warn", label: "interrupted", className: "bg-orange-500/15 text-orange-200 ring-orange-400/50" },
  error: { icon: "warn", label: "could not build", className: "bg-orange-500/15 text-orange-200 ring-orange-400/50" },
  "nothing-to-build": { icon: "empty", label: "nothing to build", className: "bg-slate-500/15 text-slate-300 ring-slate-400/40" },
};

export function StatusBadge({ status, size = "md" }: { status: AnyStatus; size?: "md" | "xl" }) {
  const look = LOOK[status];
  const sizing = size === "xl" ? "px-4 py-1.5 text-2xl gap-2" : "px-2 py-0.5 text-sm gap-1";
  return (
    <span
      data-status={status}
      className={`inline-flex items-center whitespace-nowrap rounded-full font-semibold ring-1 ring-inset ${sizing} ${look.className}`}
    >
      <Icon shape={look.icon} />
      {look.label}
    </span>
  );
}
