/**
 * Run mode. Notebooks run in full mode by default (the sizes their text describes); with
 * TA_SMOKE=1 — set by the test runner — they pick tiny sizes that finish in seconds and only
 * check that every cell runs: claims are reported but not enforced, since a few training steps
 * cannot show them.
 */
export function isSmoke(): boolean {
  return process.env.TA_SMOKE === "1";
}

/** `full` normally, `smoke` under TA_SMOKE=1. */
export function bySize<T>(full: T, smoke: T): T {
  return isSmoke() ? smoke : full;
}
