#!/usr/bin/env node
// npm run reproduce [-- <notebook-id>…] [--smoke]
// Executes notebooks headlessly with the tslab kernel. Full mode (default) writes the outputs
// back into the notebooks; --smoke runs the tiny sizes and writes nothing. Ends with a timing table.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const ids = args.filter((a) => !a.startsWith("--"));
const all = fs
  .readdirSync(path.join(ROOT, "notebooks"))
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
  .sort();
const chosen =
  ids.length === 0
    ? all
    : ids.map((id) => {
        // A number is the notebook's number ("1" is 01, not 10, which the prefix match below would pick).
        const match = /^\d+$/.test(id)
          ? all.filter((f) => Number(f.slice(0, 2)) === Number(id))
          : all.filter((f) => f === id || f === `${id}.ipynb` || f.startsWith(`${id}-`) || f.startsWith(id));
        if (match.length !== 1) {
          console.error(`reproduce: "${id}" matches ${match.length ? match.join(", ") : "no notebook"}; notebooks: ${all.join(", ")}`);
          process.exit(2);
        }
        return match[0];
      });

const python = fs.readFileSync(path.join(ROOT, ".jupyter", "python"), "utf8").trim();
const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ta-reproduce-")), "timings.json");
const r = spawnSync(
  python,
  [
    path.join(ROOT, "scripts", "run_notebooks.py"),
    ...(smoke ? ["--smoke"] : ["--write"]),
    "--json",
    report,
    ...chosen.map((f) => path.join(ROOT, "notebooks", f)),
  ],
  { stdio: "inherit", env: { ...process.env, JUPYTER_PATH: path.join(ROOT, ".jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1" } },
);

/** @typedef {{ notebook: string, mode: "full" | "smoke", seconds: number, ok: boolean }} Timing one row of run_notebooks.py --json */

if (fs.existsSync(report)) {
  /** @type {Timing[]} */
  const rows = JSON.parse(fs.readFileSync(report, "utf8"));
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
process.exit(r.status ?? 1);
