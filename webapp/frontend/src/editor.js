// The SPARQL editor of partnergraph's web app: CodeMirror 6 with the SPARQL mode, prefix
// completion, and results drawn as a table or a bar chart. Bundled by esbuild at setup; the page
// loads it from /static/vendor/ (no CDN). Everything from the server is set as text, never as HTML.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { StreamLanguage } from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { autocompletion } from "@codemirror/autocomplete";

const config = JSON.parse(document.getElementById("editor-config").textContent);
const form = document.getElementById("query-form");
const textarea = document.getElementById("query");
const status = document.getElementById("status");
const results = document.getElementById("results");
const chart = document.getElementById("chart");
const section = document.getElementById("results-section");
const download = document.getElementById("download");
const share = document.getElementById("share");
const formatSelect = document.getElementById("format");

function prefixCompletion(context) {
  const line = context.state.doc.lineAt(context.pos);
  const before = line.text.slice(0, context.pos - line.from);
  const entries = Object.entries(config.prefixes);
  const decl = /PREFIX\s+([\w-]*)$/i.exec(before);
  if (decl) {
    const typed = decl[1];
    return {
      from: context.pos - typed.length, filter: false,
      options: entries.filter(([p]) => p.startsWith(typed)).map(([p, iri]) => ({
        label: `${p}:`, detail: iri, type: "namespace", apply: `${p}: <${iri}>`,
      })),
    };
  }
  const word = /(?:^|[\s({.;,/|^])([a-z][\w-]*)$/.exec(before);
  if (!word || (!context.explicit && word[1].length < 1)) return null;
  const typed = word[1];
  const options = entries.filter(([p]) => p.startsWith(typed)).map(([p, iri]) => ({
    label: `${p}:`, detail: iri, type: "namespace",
    apply: (view, completion, from, to) => {
      const doc = view.state.doc.toString();
      const changes = [{ from, to, insert: `${p}:` }];
      if (!new RegExp(`PREFIX\\s+${p}:`, "i").test(doc)) changes.push({ from: 0, insert: `PREFIX ${p}: <${iri}>\n` });
      view.dispatch({ changes });
    },
  }));
  return options.length ? { from: context.pos - typed.length, options, filter: false } : null;
}

// The editor lives in a shadow root: CodeMirror then styles it with constructed style sheets
// (adoptedStyleSheets) instead of a <style> element, which the page's CSP (style-src 'self') forbids.
const host = document.createElement("div");
host.id = "editor";
textarea.insertAdjacentElement("afterend", host);
const shadow = host.attachShadow({ mode: "open" });
const theme = EditorView.theme({
  "&": { border: "1px solid #dde1e8", fontSize: "14px", backgroundColor: "#fff" },
  ".cm-scroller": { minHeight: "14rem", fontFamily: "ui-monospace, monospace" },
  ".cm-content, .cm-gutter": { minHeight: "14rem" },
});
const view = new EditorView({
  doc: textarea.value,
  root: shadow,
  parent: shadow,
  extensions: [
    theme,
    basicSetup,
    StreamLanguage.define(sparql),
    autocompletion({ override: [prefixCompletion] }),
    Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { run(); return true; } }])),
    EditorView.lineWrapping,
  ],
});
textarea.hidden = true;

function queryText() { return view.state.doc.toString(); }

function endpointUrl(format) {
  const url = new URL(config.endpoint, location.href);
  url.searchParams.set("query", queryText());
  if (format) url.searchParams.set("format", format);
  return url.toString();
}

function termText(term) {
  if (!term) return "";
  if (term.type === "uri") return term.value;
  if (term.type === "bnode") return `_:${term.value}`;
  return term.value;
}

function cell(term) {
  const td = document.createElement("td");
  if (term && term.type === "uri" && /^https?:\/\//.test(term.value)) {
    const a = document.createElement("a");
    a.href = term.value;
    a.rel = "noopener";
    a.textContent = shorten(term.value);
    a.title = term.value;
    td.append(a);
  } else {
    td.textContent = termText(term);
    if (term && term["xml:lang"]) {
      const lang = document.createElement("span");
      lang.className = "muted";
      lang.textContent = `@${term["xml:lang"]}`;
      td.append(" ", lang);
    }
  }
  return td;
}

function shorten(iri) {
  for (const [p, ns] of Object.entries(config.prefixes)) {
    if (iri.startsWith(ns) && /^[\w.-]*$/.test(iri.slice(ns.length))) return `${p}:${iri.slice(ns.length)}`;
  }
  return iri;
}

let last = null;

function table(vars, rows) {
  const t = document.createElement("table");
  t.className = "rank results";
  const head = t.createTHead().insertRow();
  for (const v of vars) {
    const th = document.createElement("th");
    th.textContent = v;
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const v of vars) tr.append(cell(row[v]));
  }
  return t;
}

const NUMERIC = /#(integer|decimal|double|float|int|long|short|nonNegativeInteger|positiveInteger)$/;

function drawChart(vars, rows) {
  chart.replaceChildren();
  const numeric = vars.find((v) => rows.some((r) => r[v] && r[v].datatype && NUMERIC.test(r[v].datatype)));
  if (!numeric) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No numeric column to chart.";
    chart.append(p);
    return;
  }
  const labelVar = vars.find((v) => v !== numeric && rows.some((r) => r[v] && r[v].type === "literal")) ||
    vars.find((v) => v !== numeric) || numeric;
  const shown = rows.slice(0, 40).map((r) => ({ label: termText(r[labelVar]), value: Number(r[numeric] ? r[numeric].value : 0) || 0 }));
  const max = Math.max(1e-9, ...shown.map((d) => Math.abs(d.value)));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const rowH = 20, labelW = 260, barW = 420;
  svg.setAttribute("width", String(labelW + barW + 80));
  svg.setAttribute("height", String(rowH * shown.length + 24));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${numeric} by ${labelVar}`);
  shown.forEach((d, i) => {
    const y = i * rowH + 18;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", String(labelW - 6));
    label.setAttribute("y", String(y + 12));
    label.setAttribute("text-anchor", "end");
    label.textContent = d.label.length > 38 ? `${d.label.slice(0, 37)}…` : d.label;
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", String(labelW));
    bar.setAttribute("y", String(y));
    bar.setAttribute("height", String(rowH - 4));
    bar.setAttribute("width", String((barW * Math.abs(d.value)) / max));
    bar.setAttribute("class", "chart-bar");
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", String(labelW + (barW * Math.abs(d.value)) / max + 4));
    value.setAttribute("y", String(y + 12));
    value.textContent = String(d.value);
    svg.append(label, bar, value);
  });
  const caption = document.createElementNS(ns, "text");
  caption.setAttribute("x", "0");
  caption.setAttribute("y", "12");
  caption.textContent = `${numeric} by ${labelVar}${rows.length > 40 ? " (first 40)" : ""}`;
  svg.append(caption);
  chart.append(svg);
}

function parseNTriples(text) {
  const rows = [];
  const term = /\s*(<[^>]*>|_:\S+|"(?:[^"\\]|\\.)*"(?:@[\w-]+|\^\^<[^>]*>)?)/y;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    term.lastIndex = 0;
    const parts = [];
    for (let i = 0; i < 3; i++) {
      const m = term.exec(line);
      if (!m) break;
      const raw = m[1];
      if (raw.startsWith("<")) parts.push({ type: "uri", value: raw.slice(1, -1) });
      else if (raw.startsWith("_:")) parts.push({ type: "bnode", value: raw.slice(2) });
      else parts.push({ type: "literal", value: JSON.parse(raw.slice(0, raw.lastIndexOf('"') + 1)) });
    }
    if (parts.length === 3) rows.push({ subject: parts[0], predicate: parts[1], object: parts[2] });
  }
  return rows;
}

async function run() {
  const text = queryText();
  status.textContent = "running…";
  const started = performance.now();
  const url = new URL(location.href);
  url.search = "";
  url.searchParams.set("query", text);
  history.replaceState(null, "", url.toString());
  share.href = url.toString();
  share.hidden = false;
  download.href = endpointUrl(formatSelect.value);
  download.hidden = false;
  let response;
  try {
    response = await fetch(config.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/sparql-results+json, application/n-triples;q=0.9" },
      body: new URLSearchParams({ query: text }),
    });
  } catch (err) {
    status.textContent = `the endpoint did not answer: ${err}`;
    return;
  }
  const body = await response.text();
  const ms = Math.round(performance.now() - started);
  section.hidden = false;
  if (!response.ok) {
    results.replaceChildren();
    const pre = document.createElement("pre");
    pre.className = "error";
    pre.textContent = body;
    results.append(pre);
    status.textContent = `error ${response.status} (${ms} ms)`;
    return;
  }
  let vars, rows;
  if ((response.headers.get("Content-Type") || "").startsWith("application/n-triples")) {
    vars = ["subject", "predicate", "object"];
    rows = parseNTriples(body);
  } else {
    const data = JSON.parse(body);
    if ("boolean" in data) {
      vars = ["answer"];
      rows = [{ answer: { type: "literal", value: String(data.boolean) } }];
    } else {
      vars = data.head.vars;
      rows = data.results.bindings;
    }
  }
  last = { vars, rows };
  results.replaceChildren(table(vars, rows));
  drawChart(vars, rows);
  const truncated = response.headers.get("X-Result-Truncated");
  status.textContent = `${rows.length} result${rows.length === 1 ? "" : "s"} in ${ms} ms${truncated ? ` — ${truncated}` : ""}`;
}

form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
formatSelect.addEventListener("change", () => { if (!download.hidden) download.href = endpointUrl(formatSelect.value); });
for (const [tab, panel, other, otherPanel] of [["tab-table", results, "tab-chart", chart], ["tab-chart", chart, "tab-table", results]]) {
  document.getElementById(tab).addEventListener("click", () => {
    panel.hidden = false;
    otherPanel.hidden = true;
    document.getElementById(tab).classList.add("active");
    document.getElementById(other).classList.remove("active");
  });
}
if (new URL(location.href).searchParams.get("run") === "1") run();
window.partnergraphEditor = { view, run, last: () => last };
