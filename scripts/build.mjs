#!/usr/bin/env node
// Builds the library: TypeScript lib/ → dist/ (tsc), and the SIMD kernels lib/**/*.as.ts →
// dist/kernels/*.wasm (AssemblyScript). `npm run build` always builds; with --if-stale (set-up and
// `npm run test:unit`) only when a lib/ source, tsconfig.json or package.json is newer than the build.
// Safe to run twice at once (`npm start` and `npm test` after a pull): one build at a time holds
// .cache/build.lock (a second with --if-stale waits, then finds the build fresh); each builds into a
// folder of its own (.dist-build-<pid>-…) renamed to dist/ when complete, so dist/ is never a
// half-written or half-deleted folder.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { acquireLock, processAlive } from "./lock.mjs";
import { openblasIncludeDir } from "./openblas.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");
const TEMP_PREFIX = ".dist-build-";

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
/** Whether dist/ is at least as new as every source. dist/index.js is written last: it is what lib/buildcheck.ts compares against. */
const fresh = () =>
  mtime(path.join(DIST, "index.js")) >=
  Math.max(newestSource(path.join(ROOT, "lib")), mtime(path.join(ROOT, "tsconfig.json")), mtime(path.join(ROOT, "package.json")));

const ifStale = process.argv.includes("--if-stale");
if (ifStale && fresh()) process.exit(0);
const { waited } = await acquireLock(path.join(ROOT, ".cache", "build.lock"), { what: "[build]" });
if (ifStale) {
  if (fresh()) {
    if (waited) console.error("[build] built meanwhile by the other process: up to date");
    process.exit(0);
  }
  console.error("[build] lib/ changed since the last build: building (lib/ → dist/)");
}

// Folders of builds that were killed (their pid is gone).
for (const name of fs.readdirSync(ROOT)) {
  const pid = name.startsWith(TEMP_PREFIX) ? Number(/^(\d+)-/.exec(name.slice(TEMP_PREFIX.length))?.[1]) : 0;
  if (pid && !processAlive(pid)) fs.rmSync(path.join(ROOT, name), { recursive: true, force: true });
}
// Beside dist/ (same depth), so the source maps' relative paths are the same.
// (mkdirSync, not mkdtempSync: dist/ keeps the usual permissions, not mkdtemp's owner-only 0700.)
const OUT = path.join(ROOT, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
fs.mkdirSync(OUT);
const removeOut = () => fs.rmSync(OUT, { recursive: true, force: true });
process.on("exit", removeOut);

/**
 * Runs a node script (with arguments) from the project root; exits on failure.
 * @param {string} what its name in the error message
 * @param {string[]} args
 */
const run = (what, args) => {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`[build] ${what} failed (see above); dist/ is left as it was`);
    process.exit(1);
  }
};

// Kernels first: dist/index.js must be the newest output (lib/buildcheck.ts compares against it).
// Two builds of the same kernels: plain SIMD, and with relaxed SIMD (fused multiply-add in the
// products), which the engine loads where the runtime validates it (lib/engine/kernels.ts).
const kernels = [
  ["lib/engine/simd/index.as.ts", "kernels/simd.wasm", "simd,threads"],
  ["lib/engine/simd/index.as.ts", "kernels/simd-relaxed.wasm", "simd,threads,relaxed-simd"],
];
for (const [source, file, features] of kernels) {
  const out = path.join(OUT, file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
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
run("tsc", [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", "--outDir", OUT]);
replaceDist();

/**
 * Puts the finished build in place of dist/: two renames (dist/ aside, the build in), then the old
 * one removed. Retried if another process (a build not holding the lock) put a dist/ back meanwhile.
 */
function replaceDist() {
  for (let attempt = 0; ; attempt++) {
    const old = `${OUT}-old-${attempt}`;
    try {
      fs.renameSync(DIST, old);
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== "ENOENT") throw err;
    }
    try {
      fs.renameSync(OUT, DIST);
      fs.rmSync(old, { recursive: true, force: true });
      return;
    } catch (err) {
      const code = /** @type {NodeJS.ErrnoException} */ (err).code;
      if (attempt >= 10 || (code !== "ENOTEMPTY" && code !== "EEXIST")) throw err;
    }
  }
}

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
  const out = path.join(OUT, "native", "blas.node");
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
