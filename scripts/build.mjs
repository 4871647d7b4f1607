#!/usr/bin/env node
// Builds the library: TypeScript lib/ → dist/ (tsc), and the SIMD kernels lib/**/*.as.ts →
// dist/kernels/*.wasm (AssemblyScript). `npm run build` always builds; with --if-stale (set-up and
// `npm run test:unit`) only when a lib/ source, tsconfig.json or package.json is newer than the build.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { openblasIncludeDir } from "./openblas.mjs";

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
// Two builds of the same kernels: plain SIMD, and with relaxed SIMD (fused multiply-add in the
// products), which the engine loads where the runtime validates it (lib/engine/kernels.ts).
const kernels = [
  ["lib/engine/simd/index.as.ts", "dist/kernels/simd.wasm", "simd,threads"],
  ["lib/engine/simd/index.as.ts", "dist/kernels/simd-relaxed.wasm", "simd,threads,relaxed-simd"],
];
for (const [source, out, features] of kernels) {
  fs.mkdirSync(path.join(ROOT, path.dirname(out)), { recursive: true });
  run(`asc ${source} (${features})`, [
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
    features,
    // The kernels work on the tfjs heap: import its shared memory, own no data or stack.
    "--importMemory",
    "--sharedMemory",
    "--initialMemory",
    "256",
    "--maximumMemory",
    "65536",
  ]);
}
buildNativeBlas();
run("tsc", [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);

/**
 * The OpenBLAS addon (lib/engine/native/blas.cc → dist/native/blas.node), when a C++ compiler,
 * Node's headers and OpenBLAS's cblas.h are here; otherwise the engine keeps its SIMD kernels for
 * products, and this says why (not an error).
 */
function buildNativeBlas() {
  const nodeHeaders = [path.join(path.dirname(process.execPath), "..", "include", "node"), "/usr/include/node"].find((d) =>
    fs.existsSync(path.join(d, "node_api.h")),
  );
  const cblas = openblasIncludeDir();
  const compiler = spawnSync("g++", ["--version"], { stdio: "ignore" }).status === 0 ? "g++" : null;
  const missing = [
    !compiler && "a C++ compiler (g++)",
    !nodeHeaders && "Node's headers (node_api.h)",
    !cblas && "OpenBLAS's headers (libopenblas-dev)",
  ].filter(Boolean);
  if (missing.length) {
    console.error(`[build] native BLAS products not built (missing ${missing.join(", ")}); products run on the SIMD kernels`);
    return;
  }
  const libDir = /** @type {string} */ (cblas).replace("/include/", "/lib/");
  const out = path.join(ROOT, "dist", "native", "blas.node");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = [
    "-O2",
    "-shared",
    "-fPIC",
    "-std=c++17",
    "-DNODE_GYP_MODULE_NAME=blas",
    `-I${nodeHeaders}`,
    `-I${cblas}`,
    path.join(ROOT, "lib", "engine", "native", "blas.cc"),
    "-o",
    out,
    ...(fs.existsSync(libDir) ? [`-L${libDir}`, `-Wl,-rpath,${libDir}`] : []),
    "-lopenblas",
  ];
  const r = spawnSync(/** @type {string} */ (compiler), args, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) {
    fs.rmSync(out, { force: true });
    console.error(
      `[build] native BLAS products not built (the compiler failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}); products run on the SIMD kernels`,
    );
  }
}
