/**
 * The one place that talks to tslab (the TypeScript Jupyter kernel). Everything else in the
 * library runs the same in plain Node, where these functions fall back to text on stdout.
 *
 * Pinned to tslab 1.0.22: `display` bundles with several MIME types go through its internal
 * `lastWriteDisplayData` (the public `display` API sends one MIME type per output).
 */

export type MimeBundle = Record<string, unknown>;

interface TslabJupyter {
  lastWriteDisplayData: ((message: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id?: string } }, update: boolean) => void) | null;
}

function tslabJupyter(): TslabJupyter | null {
  // Only inside a tslab kernel is tslab already loaded; never load it just to find out.
  const key = Object.keys(require.cache).find((k) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(k));
  return key ? (require.cache[key]!.exports as TslabJupyter) : null;
}

/** True when running inside a tslab Jupyter kernel (a notebook), false in plain Node. */
export function inNotebook(): boolean {
  return tslabJupyter()?.lastWriteDisplayData != null;
}

let displayCounter = 0;

/**
 * Sends one output with several representations (e.g. text/html + text/plain); frontends pick
 * the richest they can show. With `displayId`, later calls with `update: true` replace it in place.
 * Returns false outside a notebook (nothing sent).
 */
export function displayBundle(data: MimeBundle, options: { metadata?: Record<string, unknown>; displayId?: string; update?: boolean } = {}): boolean {
  const jupyter = tslabJupyter();
  if (!jupyter?.lastWriteDisplayData) return false;
  const transient = options.displayId ? { display_id: options.displayId } : {};
  jupyter.lastWriteDisplayData({ data, metadata: options.metadata ?? {}, transient }, options.update ?? false);
  return true;
}

/** A fresh id for an output that will be updated in place. */
export function newDisplayId(): string {
  displayCounter += 1;
  return `ta-${process.pid}-${Date.now().toString(36)}-${displayCounter}`;
}

/** HTML in a notebook; the plain-text form on stdout elsewhere. */
export function showHtml(html: string, plain: string): void {
  if (!displayBundle({ "text/html": html, "text/plain": plain })) console.log(plain);
}

/** Markdown in a notebook; the same text on stdout elsewhere. */
export function showMarkdown(markdown: string): void {
  if (!displayBundle({ "text/markdown": markdown, "text/plain": markdown })) console.log(markdown);
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
