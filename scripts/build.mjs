#!/usr/bin/env node
// Builds the library: TypeScript lib/ → dist/ (tsc), and the SIMD kernels lib/**/*.as.ts →
// dist/kernels/*.wasm (AssemblyScript). Run by set-up when lib/ changed, or as `npm run build`.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
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
    path.join(ROOT, "node_modules", "assemblyscript", "bin", "asc.js"), source, "--outFile", out,
    "--optimizeLevel", "3", "--runtime", "stub", "--noAssert", "--enable", "simd,threads",
    // The kernels work on the tfjs heap: import its shared memory, own no data or stack.
    "--importMemory", "--sharedMemory", "--initialMemory", "256", "--maximumMemory", "65536",
  ]);
}
run("tsc", [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
