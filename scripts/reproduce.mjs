#!/usr/bin/env node
// npm run reproduce [-- <notebook-id>…] [--smoke] [--dry-run] [--help]
// Executes notebooks headlessly with the tslab kernel. Full mode (default) writes the outputs
// back into the notebooks; --smoke runs the tiny sizes and writes nothing. Ends with a timing table.
// Arguments are checked before anything runs: an unknown option or an id that is not exactly one
// notebook stops with the list of valid ones. TA_SMOKE=1 (or true, yes) in the environment means
// --smoke (it used to be overridden, and ran the full sizes); a value it does not accept stops here. Ctrl-C, a closed terminal (SIGHUP) or a kill
// (SIGTERM) ends the run and its kernel; the notebook being run is left as it was.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseSmoke } from "./smoke.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NOTEBOOKS = path.join(ROOT, "notebooks");

/** The options `parseArgs` accepts, with what they do (for --help and the error messages). */
export const OPTIONS = {
  "--smoke": "run the tiny sizes and write nothing back (also TA_SMOKE=1, true or yes in the environment)",
  "--dry-run": "print which notebooks would run, in which mode, and stop",
  "--help": "print this help and stop (also -h)",
};

/** The numbered notebooks in notebooks/ (file names, sorted). */
export function notebookFiles(dir = NOTEBOOKS) {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .sort();
}

/**
 * Levenshtein distance (for "did you mean").
 * @param {string} a
 * @param {string} b
 */
function distance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/**
 * The closest of `candidates` to `word`, if it is close enough to be a typo.
 * @param {string} word
 * @param {string[]} candidates
 */
function suggestion(word, candidates) {
  const [best] = candidates.map((c) => ({ c, d: distance(word, c) })).sort((x, y) => x.d - y.d);
  return best && best.d <= Math.max(2, Math.floor(best.c.length / 3)) ? best.c : null;
}

/**
 * The notebook file an id names, matched exactly: its number ("01" or "1"; never "10" by prefix),
 * its name with or without ".ipynb", or a path ending in that name (notebooks/01-… from tab
 * completion). Throws with the valid ids otherwise.
 * @param {string} id
 * @param {string[]} files the notebooks (from `notebookFiles`)
 */
export function resolveId(id, files) {
  const valid = `valid ids: ${[...new Set(files.map((f) => f.slice(0, 2)))].join(", ")} (or a full name, e.g. ${files[0]?.replace(/\.ipynb$/, "")})`;
  const name = path.basename(id);
  const match = /^\d+$/.test(id)
    ? files.filter((f) => Number(f.slice(0, 2)) === Number(id))
    : files.filter((f) => f === name || f === `${name}.ipynb`);
  if (match.length === 1) return match[0];
  if (match.length > 1) throw new Error(`reproduce: "${id}" is ambiguous: it matches ${match.join(", ")}; ${valid}`);
  const stems = files.map((f) => f.replace(/\.ipynb$/, ""));
  const extending = stems.filter((s) => s.startsWith(name));
  const near = extending.length === 1 ? extending[0] : suggestion(name.replace(/\.ipynb$/, ""), stems);
  throw new Error(`reproduce: no notebook "${id}"${near ? ` (did you mean ${near}?)` : ""}; ${valid}`);
}

/**
 * Parses reproduce's arguments (without running anything). Throws an Error whose message names the
 * bad argument and lists the valid ones.
 * @param {string[]} args the command-line arguments (process.argv.slice(2))
 * @param {string[]} files the notebooks (from `notebookFiles`)
 * @param {Record<string, string | undefined>} env the environment: TA_SMOKE=1 (true, yes) also means --smoke
 * @returns {{ help: boolean, smoke: boolean, dryRun: boolean, notebooks: string[] }} notebooks: file names, in the order given (all when none)
 */
export function parseArgs(args, files, env = process.env) {
  const options = Object.keys(OPTIONS);
  let help = false;
  let smoke = parseSmoke(env.TA_SMOKE);
  let dryRun = false;
  /** @type {string[]} */
  const ids = [];
  let onlyIds = false;
  for (const arg of args) {
    if (onlyIds || !arg.startsWith("-")) ids.push(arg);
    else if (arg === "--") onlyIds = true;
    else if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--smoke") smoke = true;
    else if (arg === "--dry-run") dryRun = true;
    else {
      const near = suggestion(arg.split("=")[0], options);
      throw new Error(`reproduce: unknown option "${arg}"${near ? ` (did you mean ${near}?)` : ""}; options: ${options.join(", ")}, -h`);
    }
  }
  if (help) return { help, smoke, dryRun, notebooks: [] };
  if (files.length === 0) throw new Error(`reproduce: no notebooks in ${NOTEBOOKS}`);
  const chosen = ids.length === 0 ? files : ids.map((id) => resolveId(id, files));
  return { help, smoke, dryRun, notebooks: [...new Set(chosen)] };
}

/** @param {string[]} files */
export function helpText(files) {
  return [
    "usage: npm run reproduce [-- [options] [notebook id…]]",
    "",
    "Runs notebooks headless with the tslab kernel. Full mode (the default) writes each notebook's",
    "outputs back into it when it finishes; a notebook interrupted or failed is left as it was.",
    "",
    "options:",
    ...Object.entries(OPTIONS).map(([flag, what]) => `  ${flag.padEnd(10)} ${what}`),
    "",
    'notebook ids: the number ("1" or "01"), or the full name with or without .ipynb (a path to it also works); none = all:',
    ...files.map((f) => `  ${f.slice(0, 2)}  ${f}`),
  ].join("\n");
}

/** @typedef {{ notebook: string, mode: "full" | "smoke", seconds: number, ok: boolean }} Timing one row of run_notebooks.py --json */

/**
 * Runs notebooks (paths) with scripts/run_notebooks.py and prints the timing table. SIGINT, SIGHUP
 * and SIGTERM are passed on to the runner, which stops its kernel and writes nothing for the
 * notebook it was in; if this process is killed outright, the runner gets SIGTERM from the kernel
 * (Linux parent-death signal, set in run_notebooks.py) and does the same.
 * @param {string[]} paths
 * @param {{ smoke: boolean }} options
 * @returns {Promise<number>} the exit status (128 + signal number when interrupted)
 */
export async function runNotebooks(paths, { smoke }) {
  const python = fs.readFileSync(path.join(ROOT, ".jupyter", "python"), "utf8").trim();
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-reproduce-"));
  const report = path.join(reportDir, "timings.json");
  const child = spawn(
    python,
    [path.join(ROOT, "scripts", "run_notebooks.py"), ...(smoke ? ["--smoke"] : ["--write"]), "--json", report, ...paths],
    {
      stdio: "inherit",
      env: { ...process.env, JUPYTER_PATH: path.join(ROOT, ".jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    },
  );
  /** @type {NodeJS.Signals | null} */
  let received = null;
  /** @param {NodeJS.Signals} sig */
  const forward = (sig) => {
    received ??= sig;
    child.kill(sig);
  };
  const signals = /** @type {const} */ (["SIGINT", "SIGHUP", "SIGTERM"]);
  for (const sig of signals) process.on(sig, forward);
  /** @type {[number | null, NodeJS.Signals | null]} */
  const [code, killedBy] = await new Promise((resolve) => {
    child.once("error", (err) => {
      console.error(`reproduce: cannot start ${python}: ${err.message}`);
      resolve([1, null]);
    });
    child.once("exit", (c, s) => resolve([c, s]));
  });
  for (const sig of signals) process.off(sig, forward);

  if (fs.existsSync(report)) {
    /** @type {Timing[]} */
    const rows = JSON.parse(fs.readFileSync(report, "utf8"));
    if (rows.length) {
      const width = Math.max(...rows.map((x) => path.basename(x.notebook).length), 8);
      console.log(`\n${"notebook".padEnd(width)}  mode   seconds  status`);
      for (const x of rows)
        console.log(
          `${path.basename(x.notebook).padEnd(width)}  ${x.mode.padEnd(5)}  ${String(x.seconds).padStart(7)}  ${x.ok ? "ok" : "FAILED"}`,
        );
      console.log(
        `${"total".padEnd(width)}         ${rows
          .reduce((s, x) => s + x.seconds, 0)
          .toFixed(1)
          .padStart(7)}`,
      );
    }
  }
  fs.rmSync(reportDir, { recursive: true, force: true });
  const signal = received ?? killedBy;
  if (signal) return 128 + os.constants.signals[signal];
  return code ?? 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = notebookFiles();
  /** @type {ReturnType<typeof parseArgs>} */
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), files);
  } catch (err) {
    console.error(/** @type {Error} */ (err).message);
    console.error("(npm run reproduce -- --help for the usage)");
    process.exit(2);
  }
  if (parsed.help) {
    console.log(helpText(files));
    process.exit(0);
  }
  if (parsed.dryRun) {
    for (const f of parsed.notebooks) console.log(`${f} (${parsed.smoke ? "smoke; nothing written" : "full; outputs written back"})`);
    process.exit(0);
  }
  process.exit(
    await runNotebooks(
      parsed.notebooks.map((f) => path.join(NOTEBOOKS, f)),
      { smoke: parsed.smoke },
    ),
  );
}
