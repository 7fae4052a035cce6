"""The truth-table site's page template, style and script (plain text; ``site`` fills them in).

The script needs no library and no network: it reads the JSON embedded in the page, builds one
filter per key column listed in ``filters``, draws the table of what passes them (rows: scenario;
columns: flavour · api · mode; a chip per remaining cell), and on a chip's link (``#cell=<id>``)
draws that cell's intended, effective and reported LR per step as SVG.
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{css}</style></head>
<body>
<header><h1>{title}</h1>
<p>Measured on {versions}. Filter the table; pick a cell to see its learning rate per step, solved from the
weights, against the one intended and the one <code>optimizer.learning_rate</code> printed.
Also: <a href="{audit}">the audit</a> · <a href="{other}">{other_label}</a> · <a href="../README.md">the workshop</a>.</p>
<p class="legend">{legend}</p></header>
<form id="filters"></form>
<p id="count"></p>
<main><div id="table"></div><aside id="evidence"><p>Pick a cell in the table.</p></aside></main>
<script id="data" type="application/json">{data}</script>
<script>{js}</script>
</body></html>
"""

DOC = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{css}</style></head>
<body class="doc"><p><a href="index.html">← the truth table</a></p>
{body}
</body></html>
"""

CSS = """
body { font-family: system-ui, sans-serif; margin: 1rem 2rem; color: #111; font-size: 16px; }
h1 { font-size: 1.6rem; margin: 0.2rem 0; }
.legend { color: #333; }
#filters { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.6rem 0; }
#filters label { display: flex; flex-direction: column; font-weight: 600; font-size: 0.9rem; }
#filters select { font-size: 1rem; padding: 0.2rem; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 540px; gap: 1.5rem; align-items: start; }
#table { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ddd; padding: 2px 4px; text-align: center; }
th.scenario { text-align: right; white-space: nowrap; }
thead th { font-size: 0.8rem; }
a.chip { display: inline-block; min-width: 2.6em; margin: 1px; padding: 1px 3px; border-radius: 3px;
         color: #fff; text-decoration: none; font-size: 0.8rem; white-space: nowrap; }
a.chip.selected { outline: 3px solid #000; }
aside { position: sticky; top: 0.5rem; }
aside h2 { font-size: 1.1rem; word-break: break-all; }
aside table td { text-align: left; }
svg text { font-size: 12px; }
.doc table { margin: 0.5rem 0; } .doc td, .doc th { text-align: left; }
"""

JS = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const state = {};
const unique = (xs) => [...new Set(xs)];
const el = (tag, attrs = {}, text) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

function buildFilters() {
  const form = document.getElementById("filters");
  for (const f of D.filters) {
    const label = el("label", {}, f);
    const select = el("select", {name: f, id: "filter-" + f});
    select.appendChild(el("option", {value: ""}, "all"));
    for (const v of unique(D.cells.map((c) => c[f]))) select.appendChild(el("option", {value: v}, v));
    select.addEventListener("change", () => { state[f] = select.value; render(); });
    label.appendChild(select);
    form.appendChild(label);
  }
}

function visible() {
  return D.cells.filter((c) => D.filters.every((f) => !state[f] || c[f] === state[f]));
}

function lessonLinks(scenario) {
  const span = el("span");
  for (const [slug, title] of D.lessons[scenario] || []) {
    span.appendChild(document.createTextNode(" "));
    span.appendChild(el("a", {href: "../" + slug + ".md", title: title}, "lesson"));
    span.appendChild(document.createTextNode(" "));
    span.appendChild(el("a", {href: "../slides/" + slug + ".html", title: title + " (slides)"}, "slides"));
  }
  return span;
}

function render() {
  const cells = visible();
  document.getElementById("count").textContent = cells.length + " of " + D.cells.length + " cells shown";
  const col = (c) => c.flavour + " · " + c.api + " · " + c.mode;
  const cols = unique(cells.map(col)), rows = unique(cells.map((c) => c.scenario));
  const table = el("table", {id: "truth"});
  const head = el("tr");
  head.appendChild(el("th", {}, "scenario"));
  for (const c of cols) head.appendChild(el("th", {}, c));
  table.appendChild(el("thead")).appendChild(head);
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    const th = el("th", {class: "scenario"}, r);
    th.appendChild(lessonLinks(r));
    tr.appendChild(th);
    for (const c of cols) {
      const td = el("td");
      for (const cell of cells.filter((x) => x.scenario === r && col(x) === c)) {
        const v = D.verdicts[cell.verdict] || {colour: "#999", mark: cell.verdict};
        const rest = D.filters.filter((f) => !["scenario", "flavour", "api", "mode"].includes(f));
        const a = el("a", {class: "chip", href: "#cell=" + encodeURIComponent(cell.id),
                           title: cell.id + ": " + v.mark, "data-id": cell.id},
                     rest.map((f) => cell[f]).join(" ") + (cell.reported_ok ? "" : " " + D.misreported));
        a.style.background = v.colour;
        td.appendChild(a);
      }
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
  document.getElementById("table").replaceChildren(table);
  fromHash();
}

function svgCurves(curve) {
  const NS = "http://www.w3.org/2000/svg", W = 500, H = 260, L = 70, R = 10, T = 10, B = 40;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("id", "curves");
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  const values = ["intended", "effective", "reported"].flatMap((k) => curve[k]).filter((v) => v !== null);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) { hi = hi * 1.1 + 1e-12; lo = lo * 0.9; }
  const s0 = curve.step[0], s1 = curve.step[curve.step.length - 1];
  const x = (s) => L + (W - L - R) * (s - s0) / Math.max(1, s1 - s0);
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  add("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#999"});
  if (D.change !== null) add("line", {x1: x(D.change - 0.5), x2: x(D.change - 0.5), y1: T, y2: H - B, stroke: "#666"});
  const style = {intended: ["#000000", "6 4", 2], effective: ["#0072B2", "", 3], reported: ["#D55E00", "2 3", 2]};
  for (const [k, [colour, dash, width]] of Object.entries(style)) {
    let d = "";
    curve[k].forEach((v, i) => { if (v !== null) d += (d && curve[k][i - 1] !== null ? " L" : " M") + x(curve.step[i]) + "," + y(v); });
    if (d) add("path", {d: d.trim(), fill: "none", stroke: colour, "stroke-dasharray": dash, "stroke-width": width, class: k});
  }
  add("text", {x: L - 6, y: T + 10, "text-anchor": "end"}, hi.toPrecision(3));
  add("text", {x: L - 6, y: H - B, "text-anchor": "end"}, lo.toPrecision(3));
  add("text", {x: L, y: H - B + 16, "text-anchor": "middle"}, String(s0));
  add("text", {x: W - R, y: H - B + 16, "text-anchor": "end"}, String(s1));
  add("text", {x: (L + W) / 2, y: H - 6, "text-anchor": "middle"},
      "step · black dashed: intended · blue: effective · orange dotted: reported");
  if (curve.reported.every((v) => v === null)) add("text", {x: W - R - 4, y: T + 16, "text-anchor": "end", fill: "#D55E00"}, "print: not a number");
  return svg;
}

function showCell(id) {
  const cell = D.cells.find((c) => c.id === id);
  const aside = document.getElementById("evidence");
  if (!cell) return;
  document.querySelectorAll("a.chip.selected").forEach((a) => a.classList.remove("selected"));
  document.querySelectorAll("a.chip").forEach((a) => { if (a.dataset.id === id) a.classList.add("selected"); });
  const v = D.verdicts[cell.verdict] || {mark: cell.verdict};
  aside.replaceChildren(el("h2", {}, cell.id));
  const t = el("table");
  const rows = [["verdict", v.mark], ["printed LR", cell.reported_ok ? "matched the weights'" : D.misreported + " differed from the weights'"],
                ["tf.function traces", cell.traces], ["step time / bare static step", cell.ratio === null ? "not measured" : "×" + cell.ratio]];
  for (const [k, val] of rows) { const tr = el("tr"); tr.appendChild(el("td", {}, k)); tr.appendChild(el("td", {}, String(val))); t.appendChild(tr); }
  aside.appendChild(t);
  const curve = D.curves[id];
  aside.appendChild(curve ? svgCurves(curve) : el("p", {}, "No steps recorded for this cell."));
  const p = el("p", {}, "About this scenario:");
  p.appendChild(lessonLinks(cell.scenario));
  p.appendChild(document.createTextNode(" · "));
  p.appendChild(el("a", {href: D.audit}, "the audit"));
  aside.appendChild(p);
}

function fromHash() {
  const m = location.hash.match(/^#cell=(.+)$/);
  if (m) showCell(decodeURIComponent(m[1]));
}

window.addEventListener("hashchange", fromHash);
buildFilters();
render();
"""
