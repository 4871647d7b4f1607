/**
 * Figures: plotly JSON in, two outputs in the notebook, so that every front end shows exactly one chart:
 *   1. the figure: `application/vnd.plotly.v1+json` (the figure's JSON, its only copy) beside
 *      `image/png` (rendered in headless Chromium) and `text/plain`. Each front end shows the one type
 *      it prefers among those it can render: VS Code (its built-in renderers) and JupyterLab or
 *      Notebook 7 with the plotly renderer (`pip install plotly` brings it; it ranks above HTML and
 *      PNG) draw the live chart from the JSON, trusted or not; without that renderer they show the
 *      PNG, as do classic Notebook, GitHub, nbviewer and nbconvert (none of them renders the plotly
 *      type, and each skips a type it does not know).
 *   2. for classic Notebook only: a hidden `text/html` element with a small loader that, in a trusted
 *      notebook, draws the live chart from output 1's JSON and hides the PNG. It finds the figure and
 *      plotly through classic Notebook's own objects (`Jupyter.notebook`: its base URL and the
 *      notebook's path, where set-up copied `assets/plotly.min.js`; the cell's outputs), not from the
 *      page's URL, and does nothing anywhere else (JupyterLab, VS Code, nbconvert's HTML, the book),
 *      where the page has no classic `Jupyter.notebook` or the output sits in a JupyterLab output area.
 * The book (scripts/book.mjs) draws a live chart from output 1's JSON in place of the PNG and skips
 * output 2.
 *
 * Size per figure, measured on a typical one (3 series of 200 points at the default 760 × 420;
 * test/frontends.test.ts prints it and holds it under 120 / 20 / 2 KB): PNG 78.7 KB of base64, plotly
 * JSON 14.6 KB, loader 1.7 KB — 95 KB in all, the same as before the plotly type (the JSON used to sit
 * in the loader's HTML). The PNG is 40–80 KB for most figures here; the JSON is ≈ 1 KB of layout plus
 * 10–20 bytes per plotted number (most figures 1–10 KB; the largest, one of 04's with 7 curves of
 * 2,000 points, ≈ 230 KB); the loader's size does not depend on the figure.
 * In plain Node, `plot` writes the PNG to `options.file` if given, else prints a one-line summary.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderPng, plotlyBundlePath } from "./chromium";
import { createHash } from "node:crypto";
import { displayBundle, escapeHtml, inNotebook } from "./kernel";

/** The MIME type JupyterLab's plotly renderer and VS Code draw as a live chart. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

export interface Trace {
  type?: string;
  name?: string;
  x?: ArrayLike<number | string>;
  y?: ArrayLike<number | string>;
  z?: ArrayLike<ArrayLike<number>>;
  mode?: string;
  [key: string]: unknown;
}

export interface Figure {
  data: Trace[];
  layout?: Record<string, unknown>;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  /** Also write the PNG here (any mode). */
  file?: string;
}

/** One display output: its MIME bundle and metadata. */
export interface DisplayOutput {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

const BASE_LAYOUT = {
  font: { family: "DejaVu Sans, Arial, sans-serif", size: 13 },
  margin: { l: 64, r: 24, t: 48, b: 56 },
  paper_bgcolor: "white",
  plot_bgcolor: "white",
  xaxis: { gridcolor: "#e5e5e5", zerolinecolor: "#bbb" },
  yaxis: { gridcolor: "#e5e5e5", zerolinecolor: "#bbb" },
  legend: { bgcolor: "rgba(255,255,255,0.7)" },
};

/** Plain arrays (typed arrays become lists) so the figure survives JSON. */
function plainFigure(figure: Figure): Figure {
  return JSON.parse(JSON.stringify(figure, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)));
}

function withBaseLayout(figure: Figure): Figure {
  const layout = figure.layout ?? {};
  const merge = (key: "xaxis" | "yaxis") => ({ ...BASE_LAYOUT[key], ...(layout[key] as object | undefined) });
  return { data: figure.data, layout: { ...BASE_LAYOUT, ...layout, xaxis: merge("xaxis"), yaxis: merge("yaxis") } };
}

/** The figure `plot` renders and sends: plain arrays, the house layout under the figure's own. */
export function preparedFigure(figure: Figure): Figure {
  return withBaseLayout(plainFigure(figure));
}

/** Shows a figure (see module comment). Awaitable: the PNG is rendered before it returns. */
export async function plot(figure: Figure, options: PlotOptions = {}): Promise<void> {
  const width = options.width ?? 760;
  const height = options.height ?? 420;
  const fig = preparedFigure(figure);
  const notebook = inNotebook();
  if (!notebook && !options.file) {
    const title = fig.layout?.title as { text?: string } | string | undefined;
    const text = typeof title === "string" ? title : (title?.text ?? "untitled");
    console.log(`[figure: ${text} — ${fig.data.length} trace(s); rendered only in a notebook or with options.file]`);
    return;
  }
  const png = await renderPng(fig, width, height);
  if (options.file) {
    fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    fs.writeFileSync(options.file, png);
  }
  if (!notebook) return;
  ensureNotebookAssets();
  for (const output of figureOutputs(fig, png, { width, height })) displayBundle(output.data, { metadata: output.metadata });
}

/**
 * The two outputs `plot` sends for a figure (from `preparedFigure`) and its PNG:
 * the figure (plotly JSON, PNG, text) and classic Notebook's live-chart loader (see module comment).
 */
export function figureOutputs(figure: Figure, png: Uint8Array, size: { width: number; height: number }): DisplayOutput[] {
  // The live chart keeps the PNG's height; its width follows the output area.
  const live = { data: figure.data, layout: { height: size.height, ...figure.layout }, config: { responsive: true, displaylogo: false } };
  // Derived from the content, so re-running with the same results changes nothing in the file.
  const id = `ta-plot-${createHash("sha1").update(JSON.stringify(live)).digest("hex").slice(0, 12)}`;
  return [
    {
      data: { [PLOTLY_MIME]: live, "image/png": Buffer.from(png).toString("base64"), "text/plain": "<figure>" },
      metadata: { "image/png": { width: size.width, height: size.height } },
    },
    { data: { "text/html": classicLoaderHtml(id), "text/plain": "" }, metadata: {} },
  ];
}

/** Copies plotly.min.js to ./assets (the notebook's folder is the kernel's working directory). */
function ensureNotebookAssets(): void {
  const target = path.join(process.cwd(), "assets", "plotly.min.js");
  if (fs.existsSync(target)) return;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(plotlyBundlePath(), target);
  } catch {
    // Read-only folder: the PNG still shows; only the live chart is unavailable.
  }
}

/**
 * Classic Notebook's live-chart loader: a hidden element and a script that, run by classic Notebook
 * (trusted notebooks only), finds its cell through `Jupyter.notebook`, takes the figure from the
 * cell's last output holding plotly JSON (output 1; this output is not yet in the list while its
 * script runs), loads plotly from the notebook's folder (`files/<folder>/assets/plotly.min.js`, by
 * RequireJS as classic Notebook has it), draws the chart and hides the PNG. Anywhere else it stops at
 * the first check.
 */
function classicLoaderHtml(id: string): string {
  return `<div id="${escapeHtml(id)}" class="ta-live-plot" style="display:none"></div>
<script>
(function () {
  var el = document.getElementById(${JSON.stringify(id)});
  var J = window.Jupyter, $ = window.jQuery;
  if (!el || !J || !J.notebook || typeof J.notebook.base_url !== "string" || !$ || el.closest(".jp-OutputArea")) return;
  var cell = $(el).closest(".cell").data("cell");
  var outputs = cell && cell.output_area && cell.output_area.outputs;
  var fig = null;
  for (var i = outputs ? outputs.length - 1 : -1; i >= 0 && !fig; i--) fig = outputs[i].data && outputs[i].data[${JSON.stringify(PLOTLY_MIME)}];
  if (!fig) return;
  var folder = String(J.notebook.notebook_path || "").split("/").slice(0, -1).map(encodeURIComponent).join("/");
  var root = J.notebook.base_url.slice(-1) === "/" ? J.notebook.base_url : J.notebook.base_url + "/";
  var url = root + "files/" + (folder ? folder + "/" : "") + "assets/plotly.min";
  function draw(Plotly) {
    Plotly = Plotly || window.Plotly; // the bundle may set the global instead of returning an AMD module
    Plotly.newPlot(el, fig.data, fig.layout, fig.config).then(function () {
      el.style.display = "block";
      var area = el.closest(".output_area");
      var prev = area && area.previousElementSibling;
      if (prev && prev.querySelector("img")) prev.style.display = "none";
    });
  }
  if (window.Plotly) draw(window.Plotly);
  else if (window.requirejs) { window.requirejs.config({paths: {"ta-plotly": url}}); window.requirejs(["ta-plotly"], draw); }
  else { var s = document.createElement("script"); s.src = url + ".js"; s.onload = function () { draw(window.Plotly); }; document.head.appendChild(s); }
})();
</script>`;
}

// ---------------------------------------------------------------------------------------------
// Figure builders for the common cases; anything else is plain plotly JSON.

export interface Series {
  name: string;
  x?: ArrayLike<number>;
  y: ArrayLike<number>;
  dash?: "solid" | "dash" | "dot";
  color?: string;
  /** An interval around each y (e.g. 95% over seeds), drawn as error bars; both or neither. */
  low?: ArrayLike<number>;
  high?: ArrayLike<number>;
}

export interface AxesOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  /** Horizontal reference lines (e.g. a ceiling or a chance level). */
  hlines?: { y: number; name: string; color?: string }[];
}

function axes(o: AxesOptions): Record<string, unknown> {
  return {
    title: o.title ? { text: o.title } : undefined,
    xaxis: { title: { text: o.xTitle ?? "" }, type: o.logX ? "log" : "linear" },
    yaxis: { title: { text: o.yTitle ?? "" }, type: o.logY ? "log" : "linear" },
  };
}

/** Plotly error bars from a series' [low, high] around y (checked: same length, low ≤ y ≤ high). */
function errorBars(s: Series): { error_y?: Record<string, unknown> } {
  if (s.low === undefined && s.high === undefined) return {};
  if (s.low === undefined || s.high === undefined) throw new Error(`lineFigure: series "${s.name}" needs both low and high, or neither`);
  const n = s.y.length;
  if (s.low.length !== n || s.high.length !== n)
    throw new Error(`lineFigure: series "${s.name}" has ${n} points but ${s.low.length} lows and ${s.high.length} highs`);
  const above = Array.from(s.y, (y, i) => s.high![i] - y);
  const below = Array.from(s.y, (y, i) => y - s.low![i]);
  const bad = [...above, ...below].findIndex((d) => !(d >= -1e-9));
  if (bad >= 0) throw new Error(`lineFigure: series "${s.name}": point ${bad % n} is outside its interval`);
  return { error_y: { type: "data", symmetric: false, array: above, arrayminus: below, visible: true, thickness: 1.2, width: 3 } };
}

/** Line chart of several series (x defaults to 0, 1, 2, …). */
export function lineFigure(series: Series[], options: AxesOptions = {}): Figure {
  const data: Trace[] = series.map((s) => ({
    type: "scatter",
    mode: s.y.length > 40 ? "lines" : "lines+markers",
    name: s.name,
    x: s.x ?? Array.from({ length: s.y.length }, (_, i) => i),
    y: s.y,
    line: { dash: s.dash ?? "solid", ...(s.color ? { color: s.color } : {}) },
    ...errorBars(s),
  }));
  for (const h of options.hlines ?? []) {
    const xs = series.flatMap((s) => Array.from(s.x ?? Array.from({ length: s.y.length }, (_, i) => i)));
    data.push({
      type: "scatter",
      mode: "lines",
      name: h.name,
      x: [Math.min(...xs), Math.max(...xs)],
      y: [h.y, h.y],
      line: { dash: "dot", color: h.color ?? "#666" },
    });
  }
  return { data, layout: axes(options) };
}

/** Grouped bar chart: one bar group per category, one colour per series. */
/**
 * Estimates with their intervals, one per labelled row (a "forest plot" of differences), each with
 * an optional criterion drawn as a short dotted segment across its row, and a line at `reference`
 * (default 0). Checked like lineFigure's error bars.
 */
export function intervalFigure(
  rows: { label: string; estimate: number; low: number; high: number; threshold?: number }[],
  options: AxesOptions & { color?: string; reference?: number } = {},
): Figure {
  if (rows.length === 0) throw new Error("intervalFigure: no rows");
  const bad = rows.find((r) => !(r.low <= r.estimate + 1e-12 && r.estimate <= r.high + 1e-12));
  if (bad) throw new Error(`intervalFigure: row "${bad.label}": estimate ${bad.estimate} is outside [${bad.low}, ${bad.high}]`);
  const xs = rows.map((_, k) => k);
  const data: Trace[] = [
    {
      type: "scatter",
      mode: "markers",
      name: "estimate (95% interval)",
      x: xs,
      y: rows.map((r) => r.estimate),
      marker: { size: 10, color: options.color ?? "#d62728" },
      error_y: {
        type: "data",
        symmetric: false,
        array: rows.map((r) => r.high - r.estimate),
        arrayminus: rows.map((r) => r.estimate - r.low),
        visible: true,
        thickness: 1.5,
        width: 6,
      },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "reference",
      x: [-0.5, rows.length - 0.5],
      y: [options.reference ?? 0, options.reference ?? 0],
      line: { color: "#bbb" },
    },
  ];
  rows.forEach((r, k) => {
    if (r.threshold === undefined) return;
    const first = rows.findIndex((q) => q.threshold !== undefined) === k;
    data.push({
      type: "scatter",
      mode: "lines",
      name: "criterion",
      legendgroup: "criterion",
      showlegend: first,
      x: [k - 0.35, k + 0.35],
      y: [r.threshold, r.threshold],
      line: { dash: "dot", color: "#333", width: 2 },
    });
  });
  const layout = axes(options);
  return {
    data,
    layout: {
      ...layout,
      xaxis: { ...(layout.xaxis as object), tickmode: "array", tickvals: xs, ticktext: rows.map((r) => r.label), automargin: true },
    },
  };
}

export function barFigure(
  categories: string[],
  series: { name: string; y: ArrayLike<number>; error?: ArrayLike<number> }[],
  options: AxesOptions = {},
): Figure {
  return {
    data: series.map((s) => ({
      type: "bar",
      name: s.name,
      x: categories,
      y: s.y,
      ...(s.error ? { error_y: { type: "data", array: Array.from(s.error), visible: true } } : {}),
    })),
    layout: (() => {
      const layout = axes(options);
      return { ...layout, xaxis: { ...(layout.xaxis as object), type: "category", automargin: true }, barmode: "group" };
    })(),
  };
}

/** Heatmap of a matrix given as rows (row 0 at the top); `square` keeps cells square. */
export function heatmapFigure(
  z: ArrayLike<ArrayLike<number>>,
  options: AxesOptions & {
    colorscale?: string;
    zmin?: number;
    zmax?: number;
    square?: boolean;
    /** Title of the colour bar (what the colours measure). */
    colorbarTitle?: string;
    /** Tick positions (column / row indices of z) and their labels, e.g. patch coordinates of a mosaic. */
    xTicks?: { values: number[]; labels: string[] };
    yTicks?: { values: number[]; labels: string[] };
  } = {},
): Figure {
  for (const [axis, t] of [
    ["xTicks", options.xTicks],
    ["yTicks", options.yTicks],
  ] as const)
    if (t && t.values.length !== t.labels.length)
      throw new Error(`heatmapFigure: ${axis} has ${t.values.length} values but ${t.labels.length} labels`);
  const ticks = (t?: { values: number[]; labels: string[] }) => (t ? { tickmode: "array", tickvals: t.values, ticktext: t.labels } : {});
  return {
    data: [
      {
        type: "heatmap",
        z: Array.from(z, (row) => Array.from(row)),
        colorscale: options.colorscale ?? "Viridis",
        zmin: options.zmin,
        zmax: options.zmax,
        ...(options.colorbarTitle ? { colorbar: { title: { text: options.colorbarTitle, side: "right" } } } : {}),
      },
    ],
    layout: (() => {
      const layout = axes(options);
      return {
        ...layout,
        xaxis: { ...(layout.xaxis as object), ...ticks(options.xTicks) },
        yaxis: {
          ...(layout.yaxis as object),
          autorange: "reversed",
          ...(options.square ? { scaleanchor: "x" } : {}),
          ...ticks(options.yTicks),
        },
      };
    })(),
  };
}

/**
 * Lays equal-sized 2-D tiles out in a grid of `columns`, separated by `gap` blank (NaN) cells, as
 * one matrix for `heatmapFigure` (plotly leaves NaN cells empty). E.g. 49 rows of a 49×49 matrix,
 * each reshaped to 7×7, side by side.
 */
export function tileMosaic(tiles: number[][][], columns: number, gap = 1): number[][] {
  if (tiles.length === 0) throw new Error("tileMosaic: no tiles");
  const h = tiles[0].length,
    w = tiles[0][0].length;
  if (tiles.some((t) => t.length !== h || t.some((row) => row.length !== w)))
    throw new Error("tileMosaic: tiles must all have the same shape");
  const rows = Math.ceil(tiles.length / columns);
  const out = Array.from({ length: rows * (h + gap) - gap }, () => new Array<number>(columns * (w + gap) - gap).fill(NaN));
  tiles.forEach((tile, k) => {
    const r0 = Math.floor(k / columns) * (h + gap),
      c0 = (k % columns) * (w + gap);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) out[r0 + r][c0 + c] = tile[r][c];
  });
  return out;
}
