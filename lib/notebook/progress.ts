/**
 * Progress of a long loop: in a notebook one output updated in place (bar, step, metrics,
 * elapsed, ETA), at most a few times a second; in plain Node a line on stderr every ~10%.
 */
import { displayBundle, escapeHtml, inNotebook, newDisplayId, unflushedOutputs } from "./kernel";

export interface Progress {
  /** Report that `step` of `total` units are done, with optional metrics to show. */
  update(step: number, metrics?: Record<string, number>): void;
  /** Final state (shown even if the loop stopped early, e.g. on a time budget). */
  done(note?: string): void;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

export function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(a < 1 ? 4 : 3);
}

/**
 * Minimum milliseconds between two progress updates when `queued` outputs wait in the kernel's
 * socket (see `unflushedOutputs`): every `base` ms at first, then every 2 s, 10 s and 60 s, and no
 * more in-place updates past 400 — so a synchronous cell of any length stays well below the ~500
 * queued outputs at which the socket refuses more, leaving room for its tables and plots.
 */
export function progressSpacingMs(queued: number, base = 250): number {
  return queued < 60 ? base : queued < 150 ? 2000 : queued < 300 ? 10_000 : queued < 400 ? 60_000 : Infinity;
}

/** A progress display for `total` units of work labelled `label`. */
export function progress(total: number, label = "progress", options: { minIntervalMs?: number } = {}): Progress {
  const start = performance.now();
  const notebook = inNotebook();
  const id = newDisplayId();
  const minInterval = options.minIntervalMs ?? (notebook ? 250 : 0);
  let lastShown = -Infinity;
  let lastDecile = -1;
  let shown = false;
  let last = { step: 0, metrics: {} as Record<string, number> };

  const render = (final: boolean, note?: string) => {
    const elapsed = (performance.now() - start) / 1000;
    const { step, metrics } = last;
    const frac = total > 0 ? Math.min(1, step / total) : 1;
    const eta = step > 0 && !final ? (elapsed / step) * (total - step) : 0;
    const metricText = Object.entries(metrics)
      .map(([k, v]) => `${k} ${formatMetric(v)}`)
      .join(" · ");
    const timeText = final ? `${formatSeconds(elapsed)}` : `${formatSeconds(elapsed)} elapsed, ETA ${formatSeconds(eta)}`;
    const text = `${label}: ${step}/${total}${metricText ? ` · ${metricText}` : ""} · ${timeText}${note ? ` · ${note}` : ""}`;
    if (notebook) {
      const pct = (100 * frac).toFixed(1);
      const html =
        `<div style="font-family:monospace;font-size:12px">` +
        `<div style="width:320px;height:8px;background:#eee;border-radius:4px;display:inline-block;vertical-align:middle">` +
        `<div style="width:${pct}%;height:8px;background:${final ? "#4a8" : "#48c"};border-radius:4px"></div></div> ` +
        `${escapeHtml(text)}</div>`;
      displayBundle({ "text/html": html, "text/plain": text }, { displayId: id, update: shown });
      shown = true;
    } else {
      process.stderr.write(`${text}\n`);
    }
  };

  return {
    update(step, metrics) {
      last = { step, metrics: metrics ?? last.metrics };
      const now = performance.now();
      if (notebook) {
        if (now - lastShown < Math.max(minInterval, progressSpacingMs(unflushedOutputs(), minInterval)) && step < total) return;
      } else {
        const decile = total > 0 ? Math.floor((10 * step) / total) : 10;
        if (decile === lastDecile || step >= total) return;
        lastDecile = decile;
      }
      lastShown = now;
      render(false);
    },
    done(note) {
      render(true, note);
    },
  };
}

/**
 * A progress display for a training run (the `progress` option of `train`, `trainLanguageModel`
 * and the papers' runs): created on the run's first report, when its length is known.
 */
export function progressBar(label: string): {
  update(done: number, total: number, metrics: Record<string, number>): void;
  done(note?: string): void;
} {
  let bar: Progress | undefined;
  return {
    update(done, total, metrics) {
      bar ??= progress(total, label);
      bar.update(done, metrics);
    },
    done(note) {
      bar ??= progress(0, label);
      bar.done(note);
    },
  };
}
