/**
 * Run mode. Notebooks run in full mode by default (the sizes their text describes); with
 * TA_SMOKE=1 — set by the notebook runner for `npm test` and `npm run reproduce -- --smoke`, or by
 * hand (`TA_SMOKE=1 npm start`) — they pick tiny sizes that finish in seconds and only check that
 * every cell runs: claims are reported but not enforced, since a few training steps cannot show them.
 *
 * TA_SMOKE accepts 1, true or yes (smoke) and 0, false, no, empty or unset (full), in any case;
 * anything else is an error that names the variable (scripts/smoke.mjs reads it the same way).
 */
import { inNotebook } from "./kernel";

/** Environment variable the notebook runner (scripts/run_notebooks.py) sets for the kernels it starts. */
export const RUNNER_ENV = "TA_NOTEBOOK_RUNNER";

const SMOKE_ON = ["1", "true", "yes"];
const SMOKE_OFF = ["0", "false", "no", ""];

/** TA_SMOKE's value as smoke (true) or full (false); an Error naming TA_SMOKE for any other value. */
export function parseSmoke(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (SMOKE_ON.includes(v)) return true;
  if (SMOKE_OFF.includes(v)) return false;
  throw new Error(
    `TA_SMOKE must be 1, true or yes (smoke mode) or 0, false, no or unset (full mode), in any case; got ${JSON.stringify(value)}`,
  );
}

export function isSmoke(): boolean {
  return parseSmoke(process.env.TA_SMOKE);
}

/** `full` normally, `smoke` under TA_SMOKE=1. */
export function bySize<T>(full: T, smoke: T): T {
  return isSmoke() ? smoke : full;
}

/**
 * The warning the engine line carries when a notebook runs in smoke mode in a front end that
 * autosaves it (Jupyter, JupyterLab, VS Code) — not under the notebook runner, which writes nothing
 * in smoke mode — or null when there is nothing to warn about. `notebook` is the notebook's file
 * name when the front end says it (JupyterLab sets JPY_SESSION_NAME); otherwise the text names the
 * pattern.
 */
export function smokeAutosaveWarning(state: {
  smoke: boolean;
  inNotebook: boolean;
  runner: boolean;
  notebook?: string | null;
}): string | null {
  if (!state.smoke || !state.inNotebook || state.runner) return null;
  const name = state.notebook && /\.ipynb$/.test(state.notebook) ? state.notebook.split(/[\\/]/).pop()! : "NN-….ipynb";
  return [
    "⚠ smoke mode (TA_SMOKE is set): tiny sizes, claims reported but not enforced.",
    "  Jupyter autosaves this notebook, so its committed full-run outputs will be replaced by this run's.",
    `  To get them back: git checkout notebooks/${name}   (or close it without saving; \`npm start\` without TA_SMOKE for full runs)`,
  ].join("\n");
}

/** The smoke-mode warning for this process (see `smokeAutosaveWarning`); `ta.ready()` prints it under the engine line. */
export function smokeBannerNote(): string | null {
  return smokeAutosaveWarning({
    smoke: isSmoke(),
    inNotebook: inNotebook(),
    runner: process.env[RUNNER_ENV] === "1",
    notebook: process.env.JPY_SESSION_NAME ?? null,
  });
}
