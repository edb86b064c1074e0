import type { ShowExport } from "./show-export-schema";

/**
 * The results as one static HTML file to publish after the show: self-contained (inline CSS, no
 * scripts, no requests), every text escaped. Only what the audience already saw on the projector:
 * nicknames, PRs, verdicts with the failed derivation and phase, the podium and the merges. No
 * device tokens, pseudonyms, IP addresses or raw chat text.
 */
function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const esc = escapeHtml;
const REPO_RE = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

const CSS = `
:root{color-scheme:dark;--bg:#0b1020;--panel:#131a2e;--line:#26304d;--text:#e6ebf5;--dim:#9aa6c1;--nix:#7eb7e2;--pass:#3ddc84;--fail:#ff5c5c;--gold:#fcd34d;--silver:#cbd5e1;--bronze:#fb923c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:64rem;margin:0 auto;padding:2rem 1rem 4rem}
h1{font-size:2.2rem;margin:0 0 .25rem}
h2{font-size:1.3rem;margin:2.5rem 0 .75rem;color:var(--nix)}
a{color:var(--nix)}
.dim{color:var(--dim)}
.stats{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.25rem 0 0;padding:0;list-style:none}
.stats li{background:var(--panel);border:1px solid var(--line);border-radius:.75rem;padding:.5rem .9rem}
.stats b{font-size:1.3rem;display:block}
.podium{display:flex;align-items:flex-end;justify-content:center;gap:.75rem;margin:1rem 0}
.step{width:11rem;text-align:center}
.step .name{font-weight:700;overflow-wrap:anywhere}
.step .block{border-radius:.75rem .75rem 0 0;color:#111827;font-size:2rem;font-weight:900;padding-top:.4rem}
.p1 .block{background:var(--gold);height:9rem}.p2 .block{background:var(--silver);height:6.5rem}.p3 .block{background:var(--bronze);height:4.5rem}
ol.rest{columns:2;max-width:40rem;margin:1rem auto}
table{width:100%;border-collapse:collapse;background:var(--panel);border-radius:.75rem;overflow:hidden}
th,td{padding:.55rem .7rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{color:var(--dim);font-weight:600;font-size:.85rem;text-transform:uppercase;letter-spacing:.04em}
td{overflow-wrap:anywhere}
td.pr{white-space:nowrap;overflow-wrap:normal}
.pass{color:var(--pass);font-weight:700}.fail{color:var(--fail);font-weight:700}.other{color:var(--dim);font-weight:700}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace}
footer{margin-top:3rem;color:var(--dim);font-size:.85rem}
`;

function prLink(repo: string, prNumber: number): string {
  const label = `#${prNumber}`;
  return REPO_RE.test(repo) ? `<a href="https://github.com/${esc(repo)}/pull/${prNumber}">${label}</a>` : label;
}

function verdictCell(v: ShowExport["verdicts"][number]): string {
  if (v.verdict === "passed") return `<span class="pass">✔ builds</span>`;
  if (v.verdict === "failed") {
    const where = [v.failedDrv ? `<code>${esc(v.failedDrv)}</code>` : null, v.failedPhase ? `in <code>${esc(v.failedPhase)}</code>` : null]
      .filter(Boolean)
      .join(" ");
    return `<span class="fail">✘ Hydra failure</span>${where ? `<br>${where}` : ""}`;
  }
  return `<span class="other">${esc(v.verdict.replace(/-/g, " "))}</span>`;
}

function podium(leaders: ShowExport["leaderboard"]): string {
  if (leaders.length === 0) return `<p class="dim">Nobody scored.</p>`;
  const step = (place: number) => {
    const l = leaders[place - 1];
    return `<div class="step p${place}"><div class="name">${l ? esc(l.nickname) : "—"}</div><div class="dim">${l ? `${l.points} pts` : "&nbsp;"}</div><div class="block">${l ? l.rank : place}</div></div>`;
  };
  const rest = leaders.slice(3, 10);
  return `<div class="podium">${[2, 1, 3].map(step).join("")}</div>${
    rest.length ? `<ol class="rest" start="4">${rest.map((l) => `<li>${esc(l.nickname)} · ${l.points} pts</li>`).join("")}</ol>` : ""
  }`;
}

export function renderResultsPage(data: ShowExport, opts: { title?: string } = {}): string {
  const title = opts.title ?? "Maybe A Few Hydra Failures";
  const entries = new Map(data.queue.map((q) => [q.prNumber, q]));
  const submitters = new Map<number, string[]>();
  for (const s of data.submissions) {
    if (s.prNumber === null || (s.outcome !== "queued" && s.outcome !== "duplicate")) continue;
    const names = submitters.get(s.prNumber) ?? [];
    if (!names.includes(s.nickname)) names.push(s.nickname);
    submitters.set(s.prNumber, names);
  }
  // The host's turned-down and unapproved PRs were never on the projector; they are not published.
  const shown = (prNumber: number) => !["pending", "rejected"].includes(entries.get(prNumber)?.state ?? "queued");
  const verdicts = data.verdicts.filter((v) => shown(v.prNumber));
  const passed = verdicts.filter((v) => v.verdict === "passed").length;
  const failed = verdicts.filter((v) => v.verdict === "failed").length;
  const latestMerge = new Map(data.merges.filter((m) => m.outcome === "ok" && shown(m.prNumber)).map((m) => [m.prNumber, m]));
  const merges = [...latestMerge.values()];
  const mergedPrs = new Set(data.queue.filter((q) => q.state === "merged").map((q) => q.prNumber));
  const comments = new Map(data.comments.filter((c) => c.url?.startsWith("https://")).map((c) => [c.prNumber, c.url!]));
  // Who played this show: devices stay across resets, so joining alone does not count.
  const players = new Set([...data.submissions.map((s) => s.player), ...data.predictions.map((p) => p.player), ...data.votes.map((v) => v.player)].filter(Boolean)).size;
  const firstDay = [...data.submissions.map((s) => s.createdAt), ...data.builds.map((b) => b.createdAt)].sort()[0] ?? data.exportedAt;

  const verdictRows = verdicts
    .map((v) => {
      const q = entries.get(v.prNumber);
      const comment = comments.get(v.prNumber);
      return `<tr><td class="pr">${prLink(data.repo, v.prNumber)}</td><td>${esc(q?.title ?? "")}${q?.author ? `<br><span class="dim">by ${esc(q.author)}</span>` : ""}</td><td>${esc(
        (submitters.get(v.prNumber) ?? []).join(", "),
      )}</td><td>${verdictCell(v)}${comment ? `<br><a href="${esc(comment)}">review comment</a>` : ""}</td><td>${esc(v.systems.join(", "))}</td><td>${
        q ? `${q.predictedBuilds} / ${q.predictedFails}` : ""
      }</td></tr>`;
    })
    .join("\n");
  const mergeRows = merges
    .map((m) => {
      const q = entries.get(m.prNumber);
      const state = mergedPrs.has(m.prNumber) ? `<span class="pass">merged</span>` : esc(m.method === "enqueue" ? "in the merge queue" : m.method.replace(/-/g, " "));
      return `<tr><td class="pr">${prLink(data.repo, m.prNumber)}</td><td>${esc(q?.title ?? "")}</td><td>${esc(m.maintainer)}</td><td>${state}</td><td><code>${esc(m.headSha.slice(0, 12))}</code></td></tr>`;
    })
    .join("\n");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · results</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p class="dim">Results of the show of ${esc(firstDay.slice(0, 10))} · PRs from ${esc(data.repo)}, built live with Nix</p>
<ul class="stats">
<li><b>${entries.size}</b> PRs named</li>
<li><b>${players}</b> players</li>
<li><b>${verdicts.length}</b> PRs built on stage</li>
<li><b class="pass">${passed}</b> ✔ it builds</li>
<li><b class="fail">${failed}</b> ✘ Hydra failures</li>
<li><b>${merges.length}</b> merged on stage</li>
</ul>

<h2>Podium</h2>
${podium(data.leaderboard)}

<h2>Verdicts</h2>
${
  verdicts.length
    ? `<table>
<thead><tr><th>PR</th><th>Title</th><th>Named by</th><th>Verdict</th><th>Systems</th><th>Predicted ✔ / ✘</th></tr></thead>
<tbody>
${verdictRows}
</tbody>
</table>`
    : `<p class="dim">Nothing was built.</p>`
}

<h2>Merged on stage</h2>
${
  merges.length
    ? `<table>
<thead><tr><th>PR</th><th>Title</th><th>Maintainer</th><th>State</th><th>Built commit</th></tr></thead>
<tbody>
${mergeRows}
</tbody>
</table>`
    : `<p class="dim">No PR was merged on stage.</p>`
}

<footer>Exported ${esc(data.exportedAt.replace("T", " ").slice(0, 16))} UTC by Maybe A Few Hydra Failures.</footer>
</main>
</body>
</html>
`;
}
