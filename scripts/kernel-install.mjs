#!/usr/bin/env node
// npm run kernel:install [-- --uninstall] [-- --force]
// Registers this project's TypeScript kernel (tslab) for the current user, so that every Jupyter
// front end sees it: JupyterLab, Notebook 7, VS Code, `jupyter kernelspec list`. (`npm start` keeps
// its own copy in the project's .jupyter/, which only that server sees.) The kernelspec goes to
// <Jupyter data dir>/kernels/tslab/kernel.json — the folder Jupyter itself uses: $JUPYTER_DATA_DIR,
// else ~/.local/share/jupyter ($XDG_DATA_HOME/jupyter) on Linux, ~/Library/Jupyter on macOS,
// %APPDATA%\jupyter on Windows — and names programs by absolute path (this Node and this checkout's
// tslab), since front ends started from a desktop often have neither on PATH (`tslab install` would
// write a bare `tslab` command). The name is "tslab", the one the notebooks ask for, so they open
// with it without a kernel prompt.
//   Idempotent: a second run finds the same file and says so. A "tslab" kernelspec this project did
//   not write (e.g. from `tslab install`) is left alone unless --force. --uninstall removes the one
//   it wrote (only that one), and says so when there is none. Run it again after moving the checkout
//   or changing Node.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const KERNEL_NAME = "tslab";
export const DISPLAY_NAME = "TypeScript (tslab)";

/**
 * Jupyter's per-user data folder, as jupyter_core computes it (`jupyter --data-dir`).
 * @param {Record<string, string | undefined>} env
 * @param {NodeJS.Platform} platform
 */
export function jupyterDataDir(env = process.env, platform = process.platform) {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  const home = env.HOME || os.homedir();
  if (platform === "darwin") return path.join(home, "Library", "Jupyter");
  if (platform === "win32") return path.join(env.APPDATA || path.join(home, "AppData", "Roaming"), "jupyter");
  return path.join(env.XDG_DATA_HOME || path.join(home, ".local", "share"), "jupyter");
}

/** The kernelspec: absolute Node and tslab, the language, and which checkout wrote it. */
export function kernelSpec(root = ROOT) {
  return {
    argv: [process.execPath, path.join(root, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    metadata: { "transformer-anatomy": { checkout: root } },
  };
}

/**
 * @param {string} file a kernel.json
 * @returns {"missing" | "ours" | "foreign"} whether it is absent, written by this script (any checkout), or someone else's
 */
function ownerOf(file) {
  if (!fs.existsSync(file)) return "missing";
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"))?.metadata?.["transformer-anatomy"] ? "ours" : "foreign";
  } catch {
    return "foreign";
  }
}

/**
 * Installs or removes the kernelspec. Returns what it did, one line; throws with the reason otherwise.
 * @param {{ uninstall?: boolean, force?: boolean, env?: Record<string, string | undefined>, root?: string }} options
 */
export function kernelInstall({ uninstall = false, force = false, env = process.env, root = ROOT } = {}) {
  const dir = path.join(jupyterDataDir(env), "kernels", KERNEL_NAME);
  const file = path.join(dir, "kernel.json");
  const owner = ownerOf(file);
  if (uninstall) {
    if (owner === "missing") return `no kernelspec "${KERNEL_NAME}" in ${path.dirname(dir)}: nothing to remove`;
    if (owner === "foreign" && !force)
      throw new Error(`${file} was not written by this project (kernel:install); left alone (--force removes it)`);
    fs.rmSync(dir, { recursive: true, force: true });
    return `removed the kernelspec "${KERNEL_NAME}" (${dir})`;
  }
  const spec = kernelSpec(root);
  const tslab = spec.argv[1];
  if (!fs.existsSync(tslab))
    throw new Error(`${tslab} is missing: run \`npm start\` or \`npm run setup\` once first (it installs the npm dependencies)`);
  if (owner === "foreign" && !force)
    throw new Error(
      `${file} exists and was not written by this project (perhaps \`tslab install\`): left alone. ` +
        `Remove it (jupyter kernelspec remove ${KERNEL_NAME}) or rerun with --force to replace it.`,
    );
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text)
    return `the kernelspec "${KERNEL_NAME}" is already installed (${file})`;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return `installed the kernelspec "${KERNEL_NAME}" ("${DISPLAY_NAME}") in ${dir}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const known = ["--uninstall", "--force", "--help", "-h"];
  const unknown = args.filter((a) => !known.includes(a));
  if (unknown.length) {
    console.error(`kernel:install: unknown argument ${JSON.stringify(unknown[0])}; options: --uninstall, --force, --help`);
    process.exit(2);
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(
      "usage: npm run kernel:install [-- --uninstall] [-- --force]\n" +
        `Registers this checkout's tslab kernel for the current user (${path.join(jupyterDataDir(), "kernels", KERNEL_NAME)}),\n` +
        "for JupyterLab, Notebook 7 and VS Code; --uninstall removes it; --force replaces (or removes) a tslab kernelspec\n" +
        "this project did not write.",
    );
    process.exit(0);
  }
  try {
    console.log(`kernel:install: ${kernelInstall({ uninstall: args.includes("--uninstall"), force: args.includes("--force") })}`);
  } catch (err) {
    console.error(`kernel:install: ${/** @type {Error} */ (err).message}`);
    process.exit(1);
  }
}
