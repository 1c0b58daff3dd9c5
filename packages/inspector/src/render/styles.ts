/** The stylesheet of every page (the console serves it as a file, `replay --html` inlines it). */
export const CSS = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#6b7280;--bg:#fff;--line:#d9dde5;--stale:#fff4d6;--dup:#f1f2f5;--changed:#eaf4ff;--accent:#1c7ed6;--ok:#2f9e44;--warn:#f08c00;--bad:#e03131}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#14171c;--line:#323844;--stale:#3a3218;--dup:#22262d;--changed:#16283d}}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:1.5rem 2rem}
h1{font-size:1.3rem;margin:0 0 .5rem}h1 .log{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:normal}
h2{font-size:1.1rem;margin:2rem 0 .5rem;border-top:1px solid var(--line);padding-top:1rem}h3{font-size:.95rem;margin:1.2rem 0 .4rem;color:var(--muted)}
section.call>h1{font-size:1.2rem}section.call>h2{border-top:0;padding-top:0;margin-top:1.4rem;font-size:.95rem;color:var(--muted)}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}pre{white-space:pre-wrap;max-height:20rem;overflow:auto;margin:.3rem 0;padding:.4rem;background:var(--dup);border-radius:.3rem}
a{color:var(--accent)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0 1rem}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85rem}td{overflow-wrap:anywhere}
table.timeline td:nth-child(-n+4),table.roster td:nth-child(-n+2){white-space:nowrap;overflow-wrap:normal}
tr.changed{background:var(--changed)}tr.stale{background:var(--stale)}tr.duplicate{background:var(--dup);color:var(--muted);font-style:italic}
ol.path{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem;padding:0;margin:.4rem 0}ol.path li+li::before{content:"\\2192";margin-right:.3rem;color:var(--muted)}
.state{display:inline-block;border:1px solid var(--line);border-radius:.7rem;padding:0 .5rem;font-size:.88em;white-space:nowrap}
.s-established{border-color:var(--ok)}.s-terminated{border-color:#868e96;font-weight:600}.s-hold{border-color:var(--warn)}.s-transferring,.s-transferAccepted,.s-redirecting{border-color:var(--accent)}.s-incoming,.s-ringing{border-color:#ae3ec9}
.badge{display:inline-block;border-radius:.3rem;padding:0 .35rem;font-size:.8em;font-style:normal;font-weight:600}
.badge.stale{background:#f59f00;color:#1d2330}.badge.dup{background:var(--line)}.badge.resync{background:var(--bad);color:#fff}
.none,.flag,.hint,.note{color:var(--muted)}ul.notes,ul.participants{margin:.3rem 0;padding-left:1.2rem}
details summary{cursor:pointer}details[open] summary{margin-bottom:.2rem}
.picture{margin:.5rem 0 1rem;overflow-x:auto}svg.machine{width:100%;min-width:720px;max-width:1120px;height:auto;display:block}
.m-node rect{fill:var(--bg);stroke:var(--line);stroke-width:1.2}.m-node text{font:13px system-ui,sans-serif;text-anchor:middle;fill:var(--muted)}
.m-node.start rect{stroke-dasharray:4 3}.m-node.visited rect{fill:var(--changed);stroke:var(--accent);stroke-width:1.8}.m-node.visited text{fill:var(--fg);font-weight:600}
.m-node.final rect{stroke-width:3.2}.m-node.final.visited[data-state=terminated] rect{stroke:#868e96}
.m-edge{fill:none;stroke:var(--line);stroke-width:1.1}.m-head{fill:var(--line)}
.m-edge.taken{stroke:var(--accent);stroke-width:2.4}.m-head.taken{fill:var(--accent)}.m-edge.skipped{stroke-dasharray:7 4}
.m-label{font:600 12px system-ui,sans-serif;fill:var(--accent);text-anchor:middle;paint-order:stroke;stroke:var(--bg);stroke-width:4px}
figure.roster-chart{margin:.4rem 0 .6rem}figure.roster-chart svg{width:100%;max-width:720px;height:90px;display:block;border-bottom:1px solid var(--line)}
figure.roster-chart path{fill:none;stroke-width:1.6}figure.roster-chart path.present,.key.present{stroke:var(--ok);color:var(--ok)}figure.roster-chart path.lobby,.key.lobby{stroke:var(--warn);color:var(--warn)}
figcaption{color:var(--muted);font-size:.85em}.key{font-weight:600}
.outcome.succeeded{color:var(--ok)}.outcome.failed{color:var(--bad)}.outcome.ambiguous{color:var(--warn)}
a.button{display:inline-block;border:1px solid var(--accent);border-radius:.35rem;padding:.15rem .6rem;text-decoration:none}
.pager a{margin-left:.5rem}
header.console{display:flex;align-items:baseline;gap:1rem;flex-wrap:wrap}header.console .live{font-size:.85em;color:var(--muted)}header.console .live.on{color:var(--ok)}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0 1rem}form.filters label{display:flex;flex-direction:column;font-size:.85em;color:var(--muted)}
form.filters input,form.filters select,form.filters button{font:inherit;padding:.15rem .3rem}
table.calls td.id code{font-size:.85em}tr.live td:first-child{box-shadow:inset 3px 0 var(--ok)}
`.trim();
