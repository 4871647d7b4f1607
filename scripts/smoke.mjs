// TA_SMOKE, read by the scripts as lib/notebook/mode.ts reads it in the notebooks: 1, true or yes
// (any case) is smoke mode; 0, false, no, empty or unset is full mode; anything else is an error
// that names the variable (test/frontends.test.ts checks that both agree).

const ON = ["1", "true", "yes"];
const OFF = ["0", "false", "no", ""];

/**
 * @param {string | undefined} value TA_SMOKE's value
 * @returns {boolean} whether it asks for smoke mode
 */
export function parseSmoke(value) {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (ON.includes(v)) return true;
  if (OFF.includes(v)) return false;
  throw new Error(
    `TA_SMOKE must be 1, true or yes (smoke mode) or 0, false, no or unset (full mode), in any case; got ${JSON.stringify(value)}`,
  );
}
