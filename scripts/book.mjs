#!/usr/bin/env node
// npm run book: a static site in build/book/ from the executed notebooks (their committed outputs):
// an index, one page per notebook (markdown with KaTeX equations, code, outputs, live plotly charts
// from the figures' JSON), and a scorecard of every claim, read from the claim records the
// notebooks' assert cells write as they run. Everything it needs is copied into build/book/assets:
// it works offline, from any folder, with no CDN and no links to system paths.
// npm run book:serve serves it on 127.0.0.1 (TA_BOOK_PORT, default 8123).
// Exercises: the notebooks hold one solution cell per exercise (tagged "solution", answers marked
// /* answer */ … /* end */); the book shows the student's exercise cell derived from it
// (scripts/course.mjs, exerciseFromSolution) and then the solution with its outputs.
import * as fs from "node:fs";
import * as http from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
// marked is ESM-only: imported, not require()d (require of an ES module needs Node ≥ 20.19).
import { Marked } from "marked";
import { exerciseFromSolution } from "./course.mjs";

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BOOK_DIR = path.join(ROOT, "build", "book");
const NOTEBOOKS = path.join(ROOT, "notebooks");
const CLAIM_MIME = "application/vnd.transformer-anatomy.claim+json";
const RUN_STAMP_MIME = "application/vnd.transformer-anatomy.run-stamp+json";
/** A figure's plotly JSON (lib/notebook/plot.ts): drawn here as a live chart in place of its PNG. */
const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** @type {typeof import("katex")} */
const katex = require("katex");

/**
 * Notebook JSON (nbformat 4), as far as the book reads it. Multi-line text is a string or a list of lines.
 * @typedef {string | string[]} MultilineText
 * @typedef {{ id: string, claim: string, paper: string, ours: string, caveat?: string, verdict: string, smoke?: boolean }} ClaimRecordV1
 *   format 1 (notebooks not yet redone)
 * @typedef {{ format: 2, id: string, claim: string, paper: { citation: string, where: string }, paperFigure: string,
 *   criterion: { kind: string, source: string }, criterionText: string, statistic: { name: string, value: number, unit?: string },
 *   uncertainty?: { low: number, high: number, level: number, method: string }, n: number,
 *   control?: { description: string, value: number, outcome: string }, gates?: { name: string, passed: boolean, detail: string }[],
 *   verdict: string, reason?: string, criterionChanged?: string, smoke: boolean, required: boolean }} ClaimRecordV2
 *   format 2: what lib/notebook/claims.ts writes under CLAIM_MIME
 * @typedef {ClaimRecordV1 | ClaimRecordV2} ClaimRecord
 * @typedef {{ kind: "library", sha256: string, backend?: string, threads?: number } | { kind: "checkpoint", name: string, step: number | null, file: string, sha256: string, smoke: boolean }} RunStamp
 *   backend and threads: in stamps written since 2026-12
 * @typedef {{ "text/html"?: MultilineText, "text/plain"?: MultilineText, "image/png"?: MultilineText,
 *   "application/vnd.plotly.v1+json"?: { data: unknown[], layout?: object, config?: object },
 *   "application/vnd.transformer-anatomy.claim+json"?: ClaimRecord, "application/vnd.transformer-anatomy.run-stamp+json"?: RunStamp }} MimeBundle
 * @typedef {{ output_type: string, name?: string, text?: MultilineText, ename?: string, evalue?: string, data?: MimeBundle }} Output
 * @typedef {{ cell_type: string, source: MultilineText, metadata?: { tags?: string[] }, outputs?: Output[] }} Cell
 * @typedef {{ cells: Cell[] }} Notebook
 * @typedef {{ file: string, id: string, page: string, title: string, nb: Notebook, stamps: RunStamp[] }} Entry a notebook, its page and its run stamps
 * @typedef {ClaimRecord & { notebook: Entry }} Claim a claim record and the notebook it came from
 * @typedef {{ id: string, figure: string }} Plot a plot element's id and its figure's JSON
 */

/** @param {unknown} s */
const escapeHtml = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => /** @type {Record<string, string>} */ ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
/** @param {MultilineText | undefined} x */
const joined = (x) => (Array.isArray(x) ? x.join("") : (x ?? ""));

/** Markdown with $…$ and $$…$$ rendered by KaTeX (code spans are lexed first, so `${x}` is safe). */
const markdown = new Marked({
  extensions: [
    {
      name: "math",
      level: "inline",
      start: (src) => src.indexOf("$"),
      tokenizer(src) {
        const m = /^\$\$([\s\S]+?)\$\$/.exec(src) ?? /^\$((?:\\.|[^\\$\n])+?)\$/.exec(src);
        if (m) return { type: "math", raw: m[0], text: m[1], display: m[0].startsWith("$$") };
        return undefined;
      },
      renderer: (token) => katex.renderToString(token.text, { displayMode: token.display, throwOnError: false, output: "html" }),
    },
  ],
});

/**
 * Notebooks in order, with their title (first heading) and page name.
 * @param {string} dir
 * @returns {Entry[]}
 */
function listNotebooks(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .sort()
    .map((file) => {
      /** @type {Notebook} */
      const nb = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
      const firstMd = nb.cells.find((c) => c.cell_type === "markdown");
      const heading = /^#\s+(.+)$/m.exec(joined(firstMd?.source))?.[1] ?? file;
      return { file, id: file.slice(0, 2), page: file.replace(/\.ipynb$/, ".html"), title: heading.replace(/[*_`]/g, ""), nb, stamps: [] };
    });
}

/**
 * A figure's JSON from the live-chart HTML output lib/notebook/plot.ts wrote before 2026-12 (the
 * figure in a `script.ta-figure` tag after the PNG; now the figure is the PNG's own output's plotly JSON).
 * @param {string} html
 * @returns {string | null}
 */
function figureJson(html) {
  const m = /<script type="application\/json" class="ta-figure"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  return m ? m[1] : null;
}

/** @type {Record<string, string | undefined>} */
const VERDICT_CLASS = {
  reproduced: "held",
  inconclusive: "partly",
  held: "held",
  partly: "partly",
  "not reproduced": "not",
  "smoke run": "smoke",
};

/** @param {ClaimRecord} r @returns {r is ClaimRecordV2} */
const isV2 = (r) => "format" in r && r.format === 2;

/** @param {number} x */
const num = (x) =>
  Number.isFinite(x) && x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5) ? x.toExponential(3) : String(Number(x.toPrecision(4)));

/** The statistic with its interval and n, as text. @param {ClaimRecordV2} r */
function statisticText(r) {
  const u = r.uncertainty;
  return `${r.statistic.name} = ${num(r.statistic.value)}${r.statistic.unit ? ` ${r.statistic.unit}` : ""}${u ? ` [${num(u.low)}, ${num(u.high)}] (${Math.round(100 * u.level)}%, ${u.method})` : ""}, n = ${r.n}`;
}

/** @param {ClaimRecord} record */
function renderClaim(record) {
  if (!isV2(record)) {
    return `<div class="claim ${VERDICT_CLASS[record.verdict] ?? ""}" id="claim-${escapeHtml(record.id)}">
<span class="verdict">${escapeHtml(record.verdict)}</span> ${escapeHtml(record.claim)}
<div class="claim-figures"><b>Paper:</b> ${escapeHtml(record.paper)}<br><b>Ours:</b> ${escapeHtml(record.ours)}${record.caveat ? `<br><b>Caveat:</b> ${escapeHtml(record.caveat)}` : ""}</div></div>`;
  }
  const control = record.control
    ? `<br><b>Control:</b> ${escapeHtml(record.control.description)} = ${escapeHtml(num(record.control.value))} (${escapeHtml(record.control.outcome)})`
    : "";
  const gates = record.gates?.length
    ? `<br><b>Gates:</b> ${record.gates.map((g) => `${g.passed ? "✔" : "✘"} ${escapeHtml(g.name)} (${escapeHtml(g.detail)})`).join("; ")}`
    : "";
  return `<div class="claim ${VERDICT_CLASS[record.verdict] ?? ""}" id="claim-${escapeHtml(record.id)}">
<span class="verdict">${escapeHtml(record.smoke ? "smoke run" : record.verdict)}</span> ${escapeHtml(record.claim)}
<div class="claim-figures"><b>Paper</b> (${escapeHtml(record.paper.citation)}, ${escapeHtml(record.paper.where)}): ${escapeHtml(record.paperFigure)}
<br><b>Criterion:</b> ${escapeHtml(record.criterionText)} (${escapeHtml(record.criterion.source)})${record.criterionChanged ? ` <span class="changed">criterion changed: ${escapeHtml(record.criterionChanged)}</span>` : ""}
<br><b>Ours:</b> ${escapeHtml(statisticText(record))}${control}${gates}${record.reason ? `<br><b>Reason:</b> ${escapeHtml(record.reason)}` : ""}</div></div>`;
}

/**
 * One output of a code cell; `plots` collects the figures to draw on load.
 * @param {Output} output
 * @param {Output | undefined} next the output after it
 * @param {Plot[]} plots
 * @param {Claim[]} claims collects the claim records
 * @param {Entry} notebook
 * @returns {string} HTML
 */
function renderOutput(output, next, plots, claims, notebook) {
  if (output.output_type === "stream") return `<pre class="stream ${output.name}">${escapeHtml(joined(output.text))}</pre>`;
  if (output.output_type === "error") return `<pre class="error">${escapeHtml(`${output.ename}: ${output.evalue}`)}</pre>`;
  const data = output.data ?? {};
  const stamp = data[RUN_STAMP_MIME];
  if (stamp) {
    notebook.stamps.push(stamp);
    return `<pre class="result stamp">${escapeHtml(joined(data["text/plain"]))}</pre>`;
  }
  const record = data[CLAIM_MIME];
  if (record) {
    claims.push({ ...record, notebook });
    return renderClaim(record);
  }
  const html = joined(data["text/html"]);
  // A figure: its plotly JSON (beside its PNG), or the older live-chart HTML after the PNG.
  const figure = data[PLOTLY_MIME] ? JSON.stringify(data[PLOTLY_MIME]) : html ? figureJson(html) : null;
  if (figure) {
    const id = `plot-${plots.length}`;
    plots.push({ id, figure });
    return `<div class="ta-plot" id="${id}"></div>`;
  }
  // Classic Notebook's loader for the figure above (no figure of its own): nothing to show here.
  if (/^<div id="[^"]*" class="ta-live-plot"/.test(html)) return "";
  if (data["image/png"]) {
    // A PNG followed by its live chart is the chart's static copy: the chart replaces it.
    if (next && figureJson(joined(next.data?.["text/html"]))) return "";
    return `<img class="figure" alt="figure" src="data:image/png;base64,${joined(data["image/png"]).replace(/\s/g, "")}">`;
  }
  if (html) return `<div class="html-output">${html}</div>`;
  if (data["text/plain"] !== undefined) {
    const text = joined(data["text/plain"]);
    return text.trim() ? `<pre class="result">${escapeHtml(text)}</pre>` : "";
  }
  return "";
}

/**
 * A whole HTML page.
 * @param {{ title: string, body: string, nav: string, plots?: Plot[], depth?: string }} parts
 *   depth: the path from the page up to the book's folder ("" or "../"…)
 */
function page({ title, body, nav, plots = [], depth = "" }) {
  const plotScript = plots.length
    ? `<script src="${depth}assets/plotly.min.js"></script>
<script>
for (const { id, figure } of ${JSON.stringify(plots).replace(/</g, "\\u003c")}) {
  const fig = JSON.parse(figure);
  Plotly.newPlot(document.getElementById(id), fig.data, fig.layout, { ...fig.config, responsive: true, displaylogo: false });
}
</script>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · transformer-anatomy</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="${depth}assets/katex/katex.min.css"><link rel="stylesheet" href="${depth}assets/book.css">
</head><body>
<nav class="top">${nav}</nav>
<main>
${body}
</main>
${plotScript}
</body></html>
`;
}

/**
 * @param {Entry[]} notebooks
 * @param {number} i the page's notebook
 */
function navFor(notebooks, i) {
  /** @param {Entry | undefined} nb @param {string} label */
  const link = (nb, label) => (nb ? `<a href="${nb.page}">${label}</a>` : `<span></span>`);
  return `${link(notebooks[i - 1], `← ${notebooks[i - 1]?.id ?? ""}`)} <a href="index.html">contents</a> · <a href="scorecard.html">scorecard</a> ${link(notebooks[i + 1], `${notebooks[i + 1]?.id ?? ""} →`)}`;
}

/**
 * @param {Entry} entry
 * @param {Entry[]} notebooks
 * @param {number} i entry's index in notebooks
 * @param {Claim[]} claims collects the notebook's claim records
 */
function renderNotebook(entry, notebooks, i, claims) {
  /** @type {Plot[]} */
  const plots = [];
  const parts = [];
  for (const [index, cell] of entry.nb.cells.entries()) {
    const anchor = `cell-${index}`;
    if (cell.cell_type === "markdown") {
      parts.push(`<section class="markdown" id="${anchor}">${markdown.parse(joined(cell.source))}</section>`);
    } else if (cell.cell_type === "code") {
      const outputs = cell.outputs ?? [];
      const rendered = outputs.map((o, k) => renderOutput(o, outputs[k + 1], plots, claims, entry)).join("\n");
      const solution = (cell.metadata?.tags ?? []).includes("solution");
      if (solution) {
        // The student's cell, derived from the solution (no outputs: it has not been run).
        const exercise = exerciseFromSolution(cell, `${entry.file}, cell ${index}`);
        parts.push(
          `<section class="code exercise" id="${anchor}-exercise"><div class="cell-label">exercise cell (student copy)</div>` +
            `<pre class="source"><code>${escapeHtml(joined(exercise.source))}</code></pre></section>`,
        );
      }
      const label = solution ? `<div class="cell-label">solution (instructor copy)</div>` : "";
      parts.push(`<section class="code${solution ? " solution" : ""}" id="${anchor}">${label}<pre class="source"><code>${escapeHtml(joined(cell.source))}</code></pre>
${rendered ? `<div class="outputs">${rendered}</div>` : ""}</section>`);
    }
  }
  return page({ title: entry.title, body: parts.join("\n"), nav: navFor(notebooks, i), plots });
}

/**
 * Whether a notebook's committed outputs came from the current library sources and checkpoints.
 * @param {Entry} entry
 * @returns {{ status: "current" | "stale" | "no stamp", detail: string }}
 */
export function freshness(entry) {
  const library = entry.stamps.find((s) => s.kind === "library");
  if (!library) return { status: "no stamp", detail: "outputs from a run before run stamps existed" };
  const problems = [];
  if (library.sha256 !== currentLibraryHash())
    problems.push(`library sources changed since the run (${library.sha256.slice(0, 12)} → ${currentLibraryHash().slice(0, 12)})`);
  for (const s of entry.stamps) {
    if (s.kind !== "checkpoint") continue;
    if (s.smoke) {
      problems.push(`checkpoint ${s.name} was a smoke stand-in`);
      continue;
    }
    const manifestFile = path.join(ROOT, "data", "checkpoints", s.name, "manifest.json");
    const manifest = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, "utf8")) : null;
    const file = manifest?.files?.find((/** @type {{ file: string }} */ f) => f.file === s.file);
    if (!file || file.sha256 !== s.sha256) problems.push(`checkpoint ${s.name}/${s.file} changed since the run`);
  }
  return problems.length
    ? { status: "stale", detail: problems.join("; ") }
    : { status: "current", detail: "library and checkpoints as committed" };
}

/** @type {string | undefined} */
let libraryHash;
/** SHA-256 of lib/**\/*.ts, by the library's own function (dist/notebook/stamp.js). */
function currentLibraryHash() {
  libraryHash ??= /** @type {{ librarySourceHash(): string }} */ (
    require(path.join(ROOT, "dist", "notebook", "stamp.js"))
  ).librarySourceHash();
  return libraryHash;
}

/** Verdict counts of some claims: format 2 by verdict, format 1 together as "old format". @param {Claim[]} claims */
function verdictCounts(claims) {
  const v2 = claims.filter((c) => isV2(c) && !c.smoke);
  /** @param {string} v */
  const count = (v) => v2.filter((c) => c.verdict === v).length;
  return {
    reproduced: count("reproduced"),
    inconclusive: count("inconclusive"),
    notReproduced: count("not reproduced"),
    smoke: claims.filter((c) => isV2(c) && c.smoke).length,
    oldFormat: claims.filter((c) => !isV2(c)).length,
    changed: claims.filter((c) => isV2(c) && c.criterionChanged).length,
  };
}

/** @param {ReturnType<typeof verdictCounts>} k */
const countsText = (k) =>
  `${k.reproduced} reproduced, ${k.inconclusive} inconclusive, ${k.notReproduced} not reproduced${k.oldFormat ? `, ${k.oldFormat} in the old format (not yet redone)` : ""}${k.smoke ? `, ${k.smoke} from smoke runs (not judged)` : ""}`;

/**
 * @param {Entry[]} notebooks
 * @param {Claim[]} claims
 */
function renderIndex(notebooks, claims) {
  const rows = notebooks.map((nb) => {
    const mine = claims.filter((c) => c.notebook === nb);
    const exercises = nb.nb.cells.filter((c) => (c.metadata?.tags ?? []).includes("solution")).length; // one solution cell per exercise
    const fresh = freshness(nb);
    return `<li><a href="${nb.page}">${escapeHtml(nb.id)} · ${escapeHtml(nb.title)}</a>
<span class="counts">${mine.length} claims: ${countsText(verdictCounts(mine))} · ${exercises} exercises${fresh.status === "current" ? "" : ` · <span class="stale">outputs ${escapeHtml(fresh.status)}: ${escapeHtml(fresh.detail)}</span>`}</span></li>`;
  });
  const body = `<h1>transformer-anatomy</h1>
<p>Ten papers about how transformers work inside, reproduced step by step at laptop scale. Each page is a
notebook as it last ran in full: its narrative, code, outputs and live charts. The
<a href="scorecard.html">scorecard</a> lists every claim with its criterion, our statistic and its uncertainty, and the verdict.</p>
<ol class="contents">${rows.join("\n")}</ol>`;
  return page({ title: "Contents", body, nav: `<a href="index.html">contents</a> · <a href="scorecard.html">scorecard</a>` });
}

/**
 * @param {Entry[]} notebooks
 * @param {Claim[]} claims
 */
function renderScorecard(notebooks, claims) {
  const rows = claims.map((c) => {
    const where = `<td><a href="${c.notebook.page}">${escapeHtml(c.notebook.id)}</a></td>`;
    const cell = `<td><a href="${c.notebook.page}#claim-${escapeHtml(c.id)}">cell</a></td>`;
    if (!isV2(c)) {
      return `<tr class="old">${where}<td>${escapeHtml(c.claim)}</td><td>${escapeHtml(c.paper)}</td><td colspan="3">${escapeHtml(c.ours)}</td>
<td class="verdict-cell">old format<div class="caveat">recorded as “${escapeHtml(c.verdict)}”</div></td><td></td>${cell}</tr>`;
    }
    const verdict = c.smoke ? "smoke run" : c.verdict;
    const control = c.control
      ? `${escapeHtml(c.control.description)}: ${escapeHtml(num(c.control.value))} (${escapeHtml(c.control.outcome)})`
      : "—";
    return `<tr class="${VERDICT_CLASS[verdict] ?? ""}">${where}<td>${escapeHtml(c.claim)}</td>
<td>${escapeHtml(c.paper.citation)}, ${escapeHtml(c.paper.where)}: ${escapeHtml(c.paperFigure)}</td>
<td>${escapeHtml(c.criterionText)}<div class="caveat">${escapeHtml(c.criterion.source)}</div>${c.criterionChanged ? `<div class="changed">criterion changed: ${escapeHtml(c.criterionChanged)}</div>` : ""}</td>
<td>${escapeHtml(statisticText(c))}</td><td>${control}</td>
<td class="verdict-cell">${escapeHtml(verdict)}</td><td>${escapeHtml(c.reason ?? "")}</td>${cell}</tr>`;
  });
  const all = verdictCounts(claims);
  const perNotebook = notebooks.map((nb) => {
    const k = verdictCounts(claims.filter((c) => c.notebook === nb));
    const fresh = freshness(nb);
    return `<tr><td><a href="${nb.page}">${escapeHtml(nb.id)}</a></td><td>${k.reproduced}</td><td>${k.inconclusive}</td><td>${k.notReproduced}</td><td>${k.oldFormat}</td><td class="${fresh.status === "current" ? "" : "stale"}">${escapeHtml(fresh.status)}${fresh.status === "current" ? "" : `: ${escapeHtml(fresh.detail)}`}</td></tr>`;
  });
  const body = `<h1>Scorecard</h1>
<p class="summary"><b>${claims.length}</b> claims from ${new Set(claims.map((c) => c.notebook)).size} notebooks: ${countsText(all)}${all.changed ? `; ${all.changed} with a changed criterion (marked)` : ""}.
A verdict is computed from the criterion fixed in the claim's code, the interval of our statistic, the control and the training gates:
<span class="held">reproduced</span> when the whole interval meets the criterion and the control fails it,
<span class="not">not reproduced</span> when the whole interval misses it,
<span class="partly">inconclusive</span> when it straddles the criterion, the control also passes, or an arm failed its gate.
Each row is read from the record the notebook's own claim cell wrote when it last ran.</p>
<table class="scorecard summary-table"><thead><tr><th>#</th><th>reproduced</th><th>inconclusive</th><th>not reproduced</th><th>old format</th><th>outputs</th></tr></thead>
<tbody>${perNotebook.join("\n")}</tbody></table>
<table class="scorecard claims"><thead><tr><th>#</th><th>claim</th><th>paper's figure</th><th>criterion</th><th>our statistic ± uncertainty (n)</th><th>control</th><th>verdict</th><th>reason</th><th></th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`;
  return page({ title: "Scorecard", body, nav: `<a href="index.html">contents</a> · <a href="scorecard.html">scorecard</a>` });
}

const CSS = `
body { font: 16px/1.55 "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fff; }
nav.top { position: sticky; top: 0; background: #f6f6f8; border-bottom: 1px solid #ddd; padding: 8px 24px; display: flex; gap: 16px; justify-content: center; z-index: 10; }
nav.top a { color: #0b5cad; text-decoration: none; }
main { max-width: 980px; margin: 0 auto; padding: 16px 24px 64px; }
section.code { margin: 18px 0; }
pre { overflow-x: auto; padding: 10px 12px; border-radius: 6px; font: 13px/1.45 "DejaVu Sans Mono", monospace; }
pre.source { background: #f3f5f8; border-left: 3px solid #8aa4c8; }
pre.stream, pre.result { background: #fff; border: 1px solid #eee; margin: 6px 0; }
pre.stderr { color: #8a4b00; }
pre.error { background: #fff0f0; color: #a00; }
.outputs { margin-left: 12px; }
.ta-plot { width: 100%; min-height: 380px; }
img.figure { max-width: 100%; }
.html-output table, table.scorecard { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
.html-output td, .html-output th, table.scorecard td, table.scorecard th { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; }
table.scorecard th { background: #f3f5f8; position: sticky; top: 42px; }
.claim { border-left: 4px solid #999; padding: 6px 10px; margin: 8px 0; background: #fafafa; }
.claim.held { border-color: #2e7d32; } .claim.partly { border-color: #e0a000; } .claim.not { border-color: #c62828; }
.claim .verdict { font-weight: bold; text-transform: uppercase; font-size: 12px; margin-right: 6px; }
.claim-figures { font-size: 14px; margin-top: 4px; }
tr.held .verdict-cell, span.held { color: #2e7d32; font-weight: bold; }
tr.partly .verdict-cell, span.partly { color: #a57500; font-weight: bold; }
tr.not .verdict-cell, span.not { color: #c62828; font-weight: bold; }
tr.old .verdict-cell { color: #777; }
.changed { color: #8a4b00; font-size: 12px; font-weight: bold; }
.stale { color: #8a4b00; }
pre.stamp { color: #777; font-size: 11px; }
.caveat { color: #666; font-size: 12px; margin-top: 4px; }
ol.contents li { margin: 8px 0; } .counts { display: block; color: #666; font-size: 13px; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
.cell-label { font-size: 12px; color: #5b7fb5; text-transform: uppercase; letter-spacing: 0.04em; }
section.solution pre.source { border-left-color: #2e7d32; background: #f3f8f3; }
`;

/**
 * Builds the book from the notebooks in `notebooksDir` (the project's by default); returns what it
 * wrote (for the tests and the summary line).
 */
export function buildBook(outDir = BOOK_DIR, notebooksDir = NOTEBOOKS) {
  const notebooks = listNotebooks(notebooksDir);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(outDir, "assets"), { recursive: true });
  fs.copyFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), path.join(outDir, "assets", "plotly.min.js"));
  fs.cpSync(path.dirname(require.resolve("katex/dist/katex.min.css")), path.join(outDir, "assets", "katex"), {
    recursive: true,
    filter: (src) => fs.statSync(src).isDirectory() || /katex\.min\.css$|\.woff2$/.test(src),
  });
  fs.writeFileSync(path.join(outDir, "assets", "book.css"), CSS);
  /** @type {Claim[]} */
  const claims = [];
  notebooks.forEach((nb, i) => fs.writeFileSync(path.join(outDir, nb.page), renderNotebook(nb, notebooks, i, claims)));
  fs.writeFileSync(path.join(outDir, "index.html"), renderIndex(notebooks, claims));
  fs.writeFileSync(path.join(outDir, "scorecard.html"), renderScorecard(notebooks, claims));
  const scorecard = claims.map((c) => ({
    notebook: c.notebook.id,
    format: isV2(c) ? 2 : 1,
    id: c.id,
    claim: c.claim,
    ...(isV2(c)
      ? {
          paper: c.paper,
          paperFigure: c.paperFigure,
          criterion: c.criterionText,
          statistic: c.statistic,
          uncertainty: c.uncertainty,
          n: c.n,
          control: c.control,
          reason: c.reason,
          criterionChanged: c.criterionChanged,
        }
      : { paper: c.paper, ours: c.ours }),
    verdict: isV2(c) ? (c.smoke ? "smoke run" : c.verdict) : "old format",
    cell: `${c.notebook.page}#claim-${c.id}`,
  }));
  fs.writeFileSync(path.join(outDir, "scorecard.json"), `${JSON.stringify(scorecard, null, 2)}\n`);
  return { outDir, pages: notebooks.map((nb) => nb.page), claims: scorecard };
}

/** @type {Record<string, string | undefined>} */
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".png": "image/png",
};

/**
 * Serves a folder on 127.0.0.1; resolves to the server once listening (port 0 = any free port).
 * A request it cannot answer (a malformed %-escape: 400; outside the folder or missing: 404) gets
 * its status, and the server goes on serving.
 * @returns {Promise<http.Server>}
 */
export function serve(dir = BOOK_DIR, port = 8123) {
  const server = http.createServer((req, res) => {
    let url;
    try {
      url = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    } catch {
      // A malformed %-escape (e.g. "/%E0%A4%A"): URIError here would be uncaught and stop the server.
      res.writeHead(400, { "content-type": "text/plain" }).end("bad request");
      return;
    }
    const file = path.join(dir, url.endsWith("/") ? `${url}index.html` : url);
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    // A read error (the file removed or rebuilt meanwhile) ends this response, not the server.
    fs.createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--serve")) {
    if (!fs.existsSync(path.join(BOOK_DIR, "index.html"))) buildBook();
    const port = Number(process.env.TA_BOOK_PORT ?? 8123);
    const server = await serve(BOOK_DIR, port).catch((err) => {
      console.error(`[book] cannot listen on 127.0.0.1:${port}: ${err.message} (set TA_BOOK_PORT to another port)`);
      process.exit(1);
    });
    const { port: actual } = /** @type {import("node:net").AddressInfo} */ (server.address());
    console.log(`[book] serving ${path.relative(ROOT, BOOK_DIR)} at http://127.0.0.1:${actual}/ (Ctrl-C to stop)`);
  } else {
    const t0 = performance.now();
    const { pages, claims } = buildBook();
    /** @param {string} v a verdict */
    const count = (v) => claims.filter((c) => c.verdict === v).length;
    console.log(
      `[book] ${pages.length} notebook pages, scorecard of ${claims.length} claims (${count("held")} held, ${count("partly")} partly, ` +
        `${count("not reproduced")} not reproduced) in ${path.relative(ROOT, BOOK_DIR)}/ (${((performance.now() - t0) / 1000).toFixed(1)} s); ` +
        "open build/book/index.html or run npm run book:serve",
    );
  }
}
