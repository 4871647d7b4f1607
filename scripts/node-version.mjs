// Which Node versions this project supports: package.json's engines.node, `^20.19.0 || ^22.13.0 ||
// >=24`, the versions every locked dependency accepts (vite and rolldown, under vitest, need 20.19
// or 22.12; rolldown's wasm fallback 22.13; vitest skips 23). test/package.test.ts checks that this
// function, package.json, the README and the lockfile agree. Built-ins only: the set-up runs it before
// `npm ci`.

/** The supported range, as package.json's engines.node states it. */
export const NODE_RANGE = "^20.19.0 || ^22.13.0 || >=24";

/**
 * @param {string} version e.g. process.versions.node ("20.20.2")
 * @returns {"supported" | "too old" | "untested"} untested: newer than 20.19 but outside the range (21.x, 22.0–22.12, 23.x)
 */
export function nodeSupport(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`nodeSupport: not a Node version: ${JSON.stringify(version)}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 20 || (major === 20 && minor < 19)) return "too old";
  if (major === 20 || (major === 22 && minor >= 13) || major >= 24) return "supported";
  return "untested";
}
