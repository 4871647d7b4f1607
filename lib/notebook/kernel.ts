/**
 * The one place that talks to tslab (the TypeScript Jupyter kernel). Everything else in the
 * library runs the same in plain Node, where these functions fall back to text on stdout.
 *
 * Pinned to tslab 1.0.22: `display` bundles with several MIME types go through its internal
 * `lastWriteDisplayData` (the public `display` API sends one MIME type per output).
 */

export type MimeBundle = Record<string, unknown>;

interface TslabJupyter {
  lastWriteDisplayData:
    | ((message: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id?: string } }, update: boolean) => void)
    | null;
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
 * tslab sends outputs on a zeromq socket that drains only when the event loop turns. A cell that
 * computes synchronously for minutes queues every output it makes; past ~500 queued messages
 * zeromq.js throws "Socket is busy writing" from the send — inside our code, where the error
 * cannot even be printed, so the cell fails silently. We count the outputs sent since the event
 * loop last turned (progress displays space their updates by it), and a full socket never throws:
 * the output is dropped with a note on the kernel's stderr.
 */
let unflushed = 0;
let resetScheduled = false;
let dropped = 0;

/** Outputs sent since the event loop last turned (all still queued in the kernel's socket). */
export function unflushedOutputs(): number {
  return unflushed;
}

/** Outputs dropped so far because the kernel's socket was full. */
export function droppedOutputs(): number {
  return dropped;
}

function noteSent(): void {
  unflushed += 1;
  if (!resetScheduled) {
    resetScheduled = true;
    setImmediate(() => {
      unflushed = 0;
      resetScheduled = false;
    });
  }
}

/**
 * Sends one output with several representations (e.g. text/html + text/plain); frontends pick
 * the richest they can show. With `displayId`, later calls with `update: true` replace it in place.
 * Returns false outside a notebook (nothing sent).
 */
export function displayBundle(
  data: MimeBundle,
  options: { metadata?: Record<string, unknown>; displayId?: string; update?: boolean } = {},
): boolean {
  const jupyter = tslabJupyter();
  if (!jupyter?.lastWriteDisplayData) return false;
  const transient = options.displayId ? { display_id: options.displayId } : {};
  try {
    jupyter.lastWriteDisplayData({ data, metadata: options.metadata ?? {}, transient }, options.update ?? false);
  } catch (err) {
    if (!/busy writing/i.test(String(err))) throw err;
    dropped += 1;
    process.stderr.write(
      `[transformer-anatomy] an output was dropped: the kernel's output socket is full ` +
        `(${unflushed} outputs since the event loop last ran; ${dropped} dropped so far)\n`,
    );
    return true;
  }
  noteSent();
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
