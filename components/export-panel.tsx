/**
 * After the show: download links for the export. The results page is for publishing; the JSON and
 * CSV files are for the organisers (players appear by pseudonym; nicknames and chat text are the
 * audience's own words).
 */
const LINKS = [
  { href: "/api/host/export?format=html", label: "Results page", note: "HTML to publish: podium, verdicts, merges" },
  { href: "/api/host/export?format=json", label: "Everything (JSON)", note: "for the organisers" },
  { href: "/api/host/export?format=csv", label: "Tables (CSV, zipped)", note: "one file per table, for spreadsheets" },
];

export function ExportPanel() {
  return (
    <section data-testid="export-panel" className="flex flex-col gap-2 rounded-2xl bg-slate-900 p-4 ring-1 ring-slate-800">
      <h2 className="text-lg font-semibold text-slate-300">After the show</h2>
      <ul className="flex flex-wrap gap-3">
        {LINKS.map((l) => (
          <li key={l.href}>
            <a href={l.href} download className="flex flex-col rounded-lg bg-slate-950 px-3 py-2 ring-1 ring-slate-700 hover:ring-nix">
              <span className="font-semibold text-nix">{l.label}</span>
              <span className="text-xs text-slate-400">{l.note}</span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
