#!/usr/bin/env node
// Builds the library: TypeScript lib/ → dist/ (tsc), and the SIMD kernels lib/**/*.as.ts →
// dist/kernels/*.wasm (AssemblyScript). `npm run build` always builds; with --if-stale (set-up and
// `npm run test:unit`) only when a lib/ source, tsconfig.json or package.json is newer than the build.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Modification time (ms) of a file; 0 if it is missing.
 * @param {string} file
 */
const mtime = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0);
/**
 * Newest modification time (ms) of the files under `dir`.
 * @param {string} dir
 * @returns {number}
 */
function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : mtime(p));
  }
  return newest;
}
if (process.argv.includes("--if-stale")) {
  const sources = Math.max(
    newestSource(path.join(ROOT, "lib")),
    mtime(path.join(ROOT, "tsconfig.json")),
    mtime(path.join(ROOT, "package.json")),
  );
  // dist/index.js is written last: it is what lib/buildcheck.ts compares against.
  if (mtime(path.join(ROOT, "dist", "index.js")) >= sources) process.exit(0);
  console.error("[build] lib/ changed since the last build: building (lib/ → dist/)");
}
/**
 * Runs a node script (with arguments) from the project root; exits on failure.
 * @param {string} what its name in the error message
 * @param {string[]} args
 */
const run = (what, args) => {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`[build] ${what} failed (see above)`);
    process.exit(1);
  }
};

fs.rmSync(path.join(ROOT, "dist"), { recursive: true, force: true });
// Kernels first: dist/index.js must be the newest output (lib/buildcheck.ts compares against it).
const kernels = [["lib/engine/simd/matmul.as.ts", "dist/kernels/matmul.wasm"]];
for (const [source, out] of kernels) {
  fs.mkdirSync(path.join(ROOT, path.dirname(out)), { recursive: true });
  run(`asc ${source}`, [
    path.join(ROOT, "node_modules", "assemblyscript", "bin", "asc.js"),
    source,
    "--outFile",
    out,
    "--optimizeLevel",
    "3",
    "--runtime",
    "stub",
    "--noAssert",
    "--enable",
    "simd,threads",
    // The kernels work on the tfjs heap: import its shared memory, own no data or stack.
    "--importMemory",
    "--sharedMemory",
    "--initialMemory",
    "256",
    "--maximumMemory",
    "65536",
  ]);
}
run("tsc", [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
