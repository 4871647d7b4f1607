#!/usr/bin/env node
// Idempotent set-up, run by `npm start`, `npm test`, `npm run reproduce` and `npm run bench`.
// Each step checks first and skips what is already done:
//   1. system packages: classic Jupyter Notebook + nbconvert/nbclient/nbformat, Chromium,
//      Fashion-MNIST and OpenBLAS's headers (Debian), installed with apt-get when missing (as root,
//      or with sudo); OpenBLAS is optional (without it the engine's products use its SIMD kernels);
//   2. npm dependencies (`npm ci`) when node_modules is missing or older than the lockfile;
//   3. the library build (scripts/build.mjs: SIMD kernels, the OpenBLAS addon, tsc) when any lib/
//      source is newer than the build, or OpenBLAS arrived after it;
//   4. the tslab kernel, registered in a project-local Jupyter path (.jupyter/) with the
//      absolute path of node_modules/.bin/tslab, and notebook assets (plotly bundle).
// Uses only Node built-ins: it runs before `npm ci`. One set-up at a time (.cache/setup.lock): a
// second one (`npm start` and `npm test` started together) waits, then finds everything done.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { acquireLock } from "./lock.mjs";
import { NODE_RANGE, nodeSupport } from "./node-version.mjs";
import { openblasIncludeDir } from "./openblas.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quiet = process.argv.includes("--quiet");
/** @param {string} msg */
const say = (msg) => {
  if (!quiet) console.log(`[setup] ${msg}`);
};
/** @type {(msg: string) => never} */
const fail = (msg) => {
  console.error(`[setup] ERROR: ${msg}`);
  process.exit(1);
};

const nodeStatus = nodeSupport(process.versions.node);
if (nodeStatus === "too old") fail(`Node ${process.versions.node} is too old; this project needs Node ${NODE_RANGE} (20.19 or newer).`);
if (nodeStatus === "untested")
  console.warn(
    `[setup] warning: Node ${process.versions.node} is outside the supported ${NODE_RANGE}: npm ci will warn (EBADENGINE) and the test tools may not run.`,
  );

await acquireLock(path.join(ROOT, ".cache", "setup.lock"), { what: "[setup]", log: (m) => quiet || console.log(m) });

/**
 * Writes a file through a temporary file and a rename: a reader (Jupyter, a second set-up) sees the
 * old content or the new, never a part.
 * @param {string} file
 * @param {string | Buffer} content
 */
function writeFileAtomic(file, content) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// 1. System packages

/**
 * The Python that has Jupyter: Debian's first (the pyenv python3 on PATH cannot see apt packages).
 * @returns {string | null}
 */
function findPython() {
  for (const py of /** @type {string[]} */ ([process.env.TA_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean))) {
    const r = spawnSync(py, ["-c", "import notebook, nbclient, nbformat, nbconvert, jupyter_client"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return null;
}

const APT_PACKAGES = {
  jupyter: ["jupyter-notebook", "jupyter-nbconvert", "jupyter-nbformat", "jupyter-client", "python3-nbclient"],
  chromium: ["chromium"],
  fashionMnist: ["dataset-fashion-mnist"],
};

function chromiumPresent() {
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser", process.env.TA_CHROMIUM].some((p) => p && fs.existsSync(p));
}

function fashionMnistPresent() {
  return fs.existsSync("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

/**
 * @param {string[]} packages
 * @returns {boolean} whether apt-get installed them
 */
function aptInstall(packages) {
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;
  const hasSudo = !isRoot && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
  if (!hasApt || (!isRoot && !hasSudo)) return false;
  /** @param {string[]} args */
  const run = (args) => {
    const cmd = isRoot ? "apt-get" : "sudo";
    const full = isRoot ? args : ["-n", "apt-get", ...args];
    const r = spawnSync(cmd, full, { stdio: quiet ? "ignore" : "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    return r.status === 0;
  };
  say(`installing Debian packages: ${packages.join(" ")}`);
  if (!run(["install", "-y", "-q", "--no-install-recommends", ...packages])) {
    say("apt-get install failed; updating the package lists and retrying");
    if (!run(["update", "-q"]) || !run(["install", "-y", "-q", "--no-install-recommends", ...packages])) return false;
  }
  return true;
}

let python = findPython();
/** @type {string[]} */
const missing = [];
if (!python) missing.push(...APT_PACKAGES.jupyter);
if (!chromiumPresent()) missing.push(...APT_PACKAGES.chromium);
if (!fashionMnistPresent()) missing.push(...APT_PACKAGES.fashionMnist);
if (missing.length) {
  if (!aptInstall(missing)) {
    const needed = [
      !python && "Jupyter classic Notebook with nbconvert, nbclient and nbformat",
      !chromiumPresent() && "Chromium",
      !fashionMnistPresent() && "Fashion-MNIST (Debian dataset-fashion-mnist)",
    ].filter(Boolean);
    fail(
      `missing: ${needed.join("; ")}.\n` +
        `  This machine has no apt-get usable as root or via sudo. Install them yourself, e.g. on Debian/Ubuntu:\n` +
        `    sudo apt-get install --no-install-recommends ${missing.join(" ")}\n` +
        `  or with pip: pip install notebook nbclient nbconvert nbformat (then set TA_PYTHON to that python),\n` +
        `  and point TA_CHROMIUM at a Chrome/Chromium binary.`,
    );
  }
  python = findPython();
}
// Found at the first try (otherwise Jupyter's packages were in `missing`), or after installing.
if (!python) fail("Jupyter was installed but no python can import notebook, nbclient, nbformat, nbconvert.");

// OpenBLAS for the engine's products (optional: without it they run on our SIMD kernels).
const cblasPresent = () => openblasIncludeDir() !== null;
if (!cblasPresent() && !aptInstall(["libopenblas-dev"])) {
  say("OpenBLAS (libopenblas-dev) could not be installed: products will run on the SIMD kernels");
}

// ---------------------------------------------------------------------------------------------
// 2. npm dependencies

const lockfile = path.join(ROOT, "package-lock.json");
const installedStamp = path.join(ROOT, "node_modules", ".package-lock.json");
/**
 * @param {string} p
 * @returns {number} its modification time in ms, 0 when missing
 */
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);
if (!fs.existsSync(installedStamp) || mtime(installedStamp) < mtime(lockfile) || !fs.existsSync(path.join(ROOT, "node_modules", "tslab"))) {
  say("installing npm dependencies (npm ci)");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: ROOT, stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit" });
  if (r.status !== 0) fail("npm ci failed (see above).");
}

// Notebooks import the built library by the package's own name.
const selfLink = path.join(ROOT, "node_modules", "transformer-anatomy");
if (!fs.existsSync(selfLink)) {
  try {
    fs.symlinkSync("..", selfLink, "dir");
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== "EEXIST") throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Library build

// A build from before OpenBLAS was installed has no native products: build again once it is there.
const nativeMissing = cblasPresent() && !fs.existsSync(path.join(ROOT, "dist", "native", "blas.node"));
const buildArgs = [path.join(ROOT, "scripts", "build.mjs"), ...(nativeMissing ? [] : ["--if-stale"])];
const built = spawnSync(process.execPath, buildArgs, { cwd: ROOT, stdio: "inherit" });
if (built.status !== 0) fail("the library does not build (see above).");

// ---------------------------------------------------------------------------------------------
// 4. Kernel and notebook assets

const kernelDir = path.join(ROOT, ".jupyter", "kernels", "tslab");
const kernelSpec = {
  argv: [path.join(ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"],
  display_name: "TypeScript (tslab)",
  language: "typescript",
};
const specPath = path.join(kernelDir, "kernel.json");
const specText = `${JSON.stringify(kernelSpec, null, 2)}\n`;
if (!fs.existsSync(specPath) || fs.readFileSync(specPath, "utf8") !== specText) {
  say(`registering the tslab kernel in ${path.relative(ROOT, kernelDir)}`);
  fs.mkdirSync(kernelDir, { recursive: true });
  writeFileAtomic(specPath, specText);
}
const jupyterEnvFile = path.join(ROOT, ".jupyter", "python");
if (!fs.existsSync(jupyterEnvFile) || fs.readFileSync(jupyterEnvFile, "utf8").trim() !== python)
  writeFileAtomic(jupyterEnvFile, `${python}\n`);

const plotlySrc = path.join(ROOT, "node_modules", "plotly.js-dist-min", "plotly.min.js");
const plotlyDst = path.join(ROOT, "notebooks", "assets", "plotly.min.js");
if (mtime(plotlyDst) < mtime(plotlySrc)) {
  fs.mkdirSync(path.dirname(plotlyDst), { recursive: true });
  writeFileAtomic(plotlyDst, fs.readFileSync(plotlySrc));
}

// Sanity: the kernel is visible to this python's Jupyter.
const specs = execFileSync(python, ["-m", "jupyter_client.kernelspecapp", "list", "--json"], {
  env: { ...process.env, JUPYTER_PATH: path.join(ROOT, ".jupyter") },
  encoding: "utf8",
  stdio: ["ignore", "pipe", "ignore"],
});
if (!JSON.parse(specs).kernelspecs?.tslab) fail("the tslab kernel is not visible to Jupyter after registration.");
say("ready");
