/**
 * Tables: HTML in a notebook, aligned text in plain Node. `paperVsOurs` is the fixed layout every
 * notebook uses to put the paper's figures beside ours.
 */
import { formatMetric } from "./progress";
import { escapeHtml, showHtml } from "./kernel";

export type Cell = string | number | boolean | null | undefined;

function formatCell(value: Cell): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) < 1e9 ? String(value) : formatMetric(value);
  return String(value);
}

/** Text rendering of a table (also used for logs and tests). */
export function formatTable(rows: Record<string, Cell>[], columns = columnsOf(rows)): string {
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const line = (values: string[]) =>
    values
      .map((v, j) => v.padEnd(widths[j]))
      .join("  ")
      .trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

function columnsOf(rows: Record<string, Cell>[]): string[] {
  const seen: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.includes(k)) seen.push(k);
  return seen;
}

/** Shows rows (objects with the same keys) as a table, with an optional caption. */
export function table(rows: Record<string, Cell>[], options: { caption?: string; columns?: string[] } = {}): void {
  const columns = options.columns ?? columnsOf(rows);
  const head = columns.map((c) => `<th style="text-align:left">${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${columns
          .map((c) => {
            const v = r[c];
            const align = typeof v === "number" ? "right" : "left";
            return `<td style="text-align:${align}">${escapeHtml(formatCell(v))}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("");
  const caption = options.caption
    ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>`
    : "";
  const text = (options.caption ? `${options.caption}\n` : "") + formatTable(rows, columns);
  showHtml(`<table>${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`, text);
}

export interface Comparison {
  quantity: string;
  /** The paper's figure, quoted (with its setting), or null if the paper gives none. */
  paper: Cell;
  /** Our measured figure. */
  ours: Cell;
  note?: string;
}

/** The "paper vs ours" table: the paper's numbers quoted as the paper's, ours as measured here. */
export function paperVsOurs(rows: Comparison[], caption = "Paper vs ours"): void {
  table(
    rows.map((r) => ({ Quantity: r.quantity, "Paper (quoted)": r.paper, "Ours (measured)": r.ours, Note: r.note ?? "" })),
    { caption },
  );
}
