import type { LeaderView } from "@/server/show/views";

const PLACES = [
  { place: 2, height: "h-24", className: "bg-slate-300 text-slate-900" },
  { place: 1, height: "h-36", className: "bg-amber-300 text-slate-900" },
  { place: 3, height: "h-16", className: "bg-orange-400 text-slate-900" },
];

/** The end of the show: the top three on a podium, ties sharing a place. */
export function Podium({ leaders, size = "md" }: { leaders: LeaderView[]; size?: "md" | "xl" }) {
  const big = size === "xl";
  return (
    <section data-testid="podium" className="flex flex-col items-center gap-3 rounded-3xl bg-slate-900/80 p-4 ring-1 ring-amber-300/40">
      <h2 className={`font-black uppercase tracking-widest text-amber-200 ${big ? "text-5xl" : "text-xl"}`}>Podium</h2>
      <div className="flex items-end gap-3">
        {PLACES.map(({ place, height, className }) => {
          const leader = leaders[place - 1];
          return (
            <div key={place} className="flex w-28 flex-col items-center gap-1" style={big ? { width: "16rem" } : undefined}>
              <p className={`truncate text-center font-bold ${big ? "text-3xl" : "text-sm"}`}>{leader?.nickname ?? "—"}</p>
              <p className={`text-slate-300 ${big ? "text-2xl" : "text-xs"}`}>{leader ? `${leader.points} pts` : ""}</p>
              <div className={`flex w-full items-start justify-center rounded-t-xl pt-2 font-black ${height} ${className} ${big ? "text-5xl" : "text-2xl"}`} style={big ? { height: `${place === 1 ? 14 : place === 2 ? 10 : 7}rem` } : undefined}>
                {leader ? leader.rank : place}
              </div>
            </div>
          );
        })}
      </div>
    </section>
  );
}
