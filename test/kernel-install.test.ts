/**
 * `npm run kernel:install`: the user-level kernelspec front ends other than `npm start` see
 * (JupyterLab, Notebook 7, VS Code). Installed into a temporary HOME / JUPYTER_DATA_DIR, never the
 * real one: the file's contents, Jupyter's own view of it (`jupyter kernelspec list`, through the
 * project's python), a kernel started from it with no Node on PATH, idempotence, a foreign
 * kernelspec left alone, and --uninstall. JupyterLab and VS Code themselves cannot be installed
 * offline: what they read is this kernelspec, checked here with jupyter_client.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { temporaryFolders } from "./tempdirs";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "kernel-install.mjs");

/** A temporary folder, removed after the tests (also when one fails). */
const tempDir = temporaryFolders();

/** The environment of a user whose home is `home`: no Jupyter variables from this one. */
function userEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra };
  for (const key of ["JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "XDG_DATA_HOME", "JUPYTER_PLATFORM_DIRS"])
    if (!(key in extra)) delete env[key];
  return env;
}

function install(env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { env, encoding: "utf8" });
}

/** A python with jupyter_client (the project's, written by the set-up), or null. */
function jupyterPython(): string | null {
  const file = path.join(ROOT, ".jupyter", "python");
  for (const py of [fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "", "/usr/bin/python3", "python3"].filter(Boolean)) {
    if (spawnSync(py, ["-c", "import jupyter_client, jupyter_core"], { stdio: "ignore" }).status === 0) return py;
  }
  return null;
}
const PYTHON = jupyterPython();

function kernelspecs(env: NodeJS.ProcessEnv): Record<string, { resource_dir: string; spec: { argv: string[]; display_name: string } }> {
  const r = spawnSync(PYTHON!, ["-m", "jupyter_client.kernelspecapp", "list", "--json"], { env, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).kernelspecs;
}

describe("npm run kernel:install", () => {
  it("is an npm script that runs the set-up, then this installer", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts["kernel:install"]).toBe("node scripts/setup.mjs && node scripts/kernel-install.mjs");
  });

  it("writes a kernelspec with absolute, existing programs into $JUPYTER_DATA_DIR/kernels/tslab", () => {
    const data = tempDir("ta-jupyter-data-");
    const r = install(userEnv(tempDir("ta-home-"), { JUPYTER_DATA_DIR: data }));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/installed the kernelspec "tslab"/);
    const spec = JSON.parse(fs.readFileSync(path.join(data, "kernels", "tslab", "kernel.json"), "utf8"));
    expect(spec.display_name).toBe("TypeScript (tslab)");
    expect(spec.language).toBe("typescript");
    expect(spec.argv.slice(2)).toEqual(["kernel", "--config-path", "{connection_file}"]);
    for (const program of spec.argv.slice(0, 2)) {
      expect(path.isAbsolute(program), program).toBe(true);
      expect(fs.existsSync(program), program).toBe(true);
    }
    expect(spec.argv[0]).toBe(process.execPath);
    expect(spec.argv[1]).toBe(path.join(ROOT, "node_modules", "tslab", "bin", "tslab"));
  });

  it("without JUPYTER_DATA_DIR installs where Jupyter looks for the user's kernels, and is idempotent", () => {
    const home = tempDir("ta-home-");
    const env = userEnv(home);
    expect(install(env).status).toBe(0);
    const file = path.join(home, ".local", "share", "jupyter", "kernels", "tslab", "kernel.json");
    expect(fs.existsSync(file)).toBe(true);
    if (PYTHON) {
      const dataDir = spawnSync(PYTHON, ["-c", "from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())"], {
        env,
        encoding: "utf8",
      }).stdout.trim();
      expect(path.join(dataDir, "kernels", "tslab", "kernel.json")).toBe(file);
    }
    const before = fs.readFileSync(file, "utf8");
    const mtime = fs.statSync(file).mtimeMs;
    const again = install(env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already installed/);
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it.skipIf(!PYTHON)("is seen by `jupyter kernelspec list`, and gone from it after --uninstall", () => {
    const home = tempDir("ta-home-");
    const env = userEnv(home);
    expect(kernelspecs(env).tslab).toBeUndefined(); // nothing of this project's .jupyter/ leaks in
    expect(install(env).status).toBe(0);
    const seen = kernelspecs(env).tslab;
    expect(seen?.resource_dir).toBe(path.join(home, ".local", "share", "jupyter", "kernels", "tslab"));
    expect(seen?.spec.display_name).toBe("TypeScript (tslab)");
    expect(seen?.spec.argv[0]).toBe(process.execPath);
    const removed = install(env, "--uninstall");
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/removed the kernelspec "tslab"/);
    expect(fs.existsSync(seen!.resource_dir)).toBe(false);
    expect(kernelspecs(env).tslab).toBeUndefined();
    const twice = install(env, "--uninstall");
    expect(twice.status).toBe(0);
    expect(twice.stdout).toMatch(/nothing to remove/);
  });

  it.skipIf(!PYTHON || process.env.TA_TEST_SCOPE === "unit")(
    "starts a working kernel with no Node on PATH (as a front end started from a desktop would)",
    () => {
      const home = tempDir("ta-home-");
      expect(install(userEnv(home)).status).toBe(0);
      const code = [
        "from jupyter_client.manager import start_new_kernel",
        "km, kc = start_new_kernel(kernel_name='tslab', startup_timeout=120)",
        "try:",
        "    out = []",
        "    kc.execute_interactive('console.log(6 * 7)', timeout=120, output_hook=lambda m: out.append(m['content'].get('text', '')))",
        "    print(''.join(out).strip())",
        "finally:",
        "    kc.stop_channels(); km.shutdown_kernel(now=True)",
      ].join("\n");
      const emptyPath = tempDir("ta-empty-path-");
      const r = spawnSync(PYTHON!, ["-c", code], { env: userEnv(home, { PATH: emptyPath }), encoding: "utf8", timeout: 180_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe("42");
    },
    200_000,
  );

  it("leaves a tslab kernelspec it did not write alone, unless --force", () => {
    const data = tempDir("ta-jupyter-data-");
    const env = userEnv(tempDir("ta-home-"), { JUPYTER_DATA_DIR: data });
    const file = path.join(data, "kernels", "tslab", "kernel.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const foreign = `${JSON.stringify({ argv: ["tslab", "kernel", "--config-path", "{connection_file}"], display_name: "TypeScript", language: "typescript" })}\n`;
    fs.writeFileSync(file, foreign);
    const refused = install(env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(file);
    expect(refused.stderr).toMatch(/not written by this project.*--force/);
    expect(fs.readFileSync(file, "utf8")).toBe(foreign);
    expect(install(env, "--uninstall").status).toBe(1);
    expect(fs.readFileSync(file, "utf8")).toBe(foreign);
    expect(install(env, "--force").status).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, "utf8")).argv[0]).toBe(process.execPath);
  });

  it("refuses an unknown argument, naming it", () => {
    const r = install(userEnv(tempDir("ta-home-")), "--uninstal");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown argument "--uninstal"; options: --uninstall, --force/);
  });
});
