#!/usr/bin/env node
// npm start (after set-up): classic Jupyter Notebook on notebooks/, bound to 127.0.0.1.
// Prints the URL (with its login token) once the server is up. Ctrl-C stops it.
// `TA_SMOKE=1 npm start`: the kernels inherit TA_SMOKE, so every notebook runs its smoke sizes
// (seconds); each notebook's first output then warns that Jupyter autosaves over the committed
// full-run outputs. A TA_SMOKE value other than 1/true/yes or 0/false/no stops here, before Jupyter.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseSmoke } from "./smoke.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** @type {boolean} */
let smoke;
try {
  smoke = parseSmoke(process.env.TA_SMOKE);
} catch (err) {
  console.error(`npm start: ${/** @type {Error} */ (err).message}`);
  process.exit(2);
}
const python = fs.readFileSync(path.join(ROOT, ".jupyter", "python"), "utf8").trim();
const port = process.env.TA_PORT ?? "8888";
const args = ["-m", "notebook", `--notebook-dir=${path.join(ROOT, "notebooks")}`, "--ip=127.0.0.1", `--port=${port}`];
if (!process.env.DISPLAY && process.platform === "linux") args.push("--no-browser");
if (process.getuid?.() === 0) args.push("--allow-root"); // containers and CI machines run as root

const child = spawn(python, args, {
  env: { ...process.env, JUPYTER_PATH: path.join(ROOT, ".jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
  stdio: ["inherit", "inherit", "pipe"],
});
let announced = false;
child.stderr.on("data", (chunk) => {
  const text = chunk.toString();
  process.stderr.write(text);
  const url = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\w+)/.exec(text)?.[1];
  if (url && !announced) {
    announced = true;
    console.log(`\n  transformer-anatomy notebooks: ${url}\n  (open 00-tour.ipynb first; kernel "TypeScript (tslab)"; Ctrl-C to stop)\n`);
    if (smoke)
      console.log(
        "  SMOKE MODE (TA_SMOKE): notebooks run tiny sizes; Jupyter autosaves them over their committed full-run outputs.\n" +
          "  Restore a notebook with `git checkout notebooks/NN-….ipynb`.\n",
      );
  }
});
for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));
