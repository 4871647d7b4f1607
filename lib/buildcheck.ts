/**
 * Refuses to run a stale build. When this module runs from dist/ inside a checkout, any lib/
 * source newer than dist/index.js means the notebook would silently use old code.
 */
import * as fs from "node:fs";
import * as path from "node:path";

function newest(dir: string): { file: string; mtime: number } {
  let best = { file: "", mtime: 0 };
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    const candidate = entry.isDirectory() ? newest(p) : { file: p, mtime: fs.statSync(p).mtimeMs };
    if (candidate.mtime > best.mtime) best = candidate;
  }
  return best;
}

export function assertFreshBuild(distDir: string): void {
  const root = path.dirname(distDir);
  const libDir = path.join(root, "lib");
  const built = path.join(distDir, "index.js");
  if (path.basename(distDir) !== "dist" || !fs.existsSync(libDir) || !fs.existsSync(built)) return;
  const source = newest(libDir);
  if (source.mtime > fs.statSync(built).mtimeMs) {
    throw new Error(
      `transformer-anatomy: ${path.relative(root, source.file)} changed after the library was built. ` +
        "Run `npm run build` (or restart via `npm start`), then restart the kernel.",
    );
  }
}
