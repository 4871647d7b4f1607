/**
 * `npm run reproduce` stopped from outside: the tslab kernel must end with its runner, whatever
 * stops it (a closed terminal's SIGHUP, Ctrl-C's SIGINT, a kill's SIGTERM, or a SIGKILL of either
 * the node script or the python runner), the notebook being run must be left byte for byte as it was,
 * and the interruption must be one line. A one-cell notebook records the kernel's pid and its
 * parent's (the python runner) in a file and then waits; each test stops the run and checks that no
 * process of the run is left. Also: notebook writes go through a temporary file and a rename.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { temporaryFolders } from "./tempdirs";

const ROOT = path.resolve(__dirname, "..");

/** A temporary folder, removed after the tests (also when one fails). */
const tempDir = temporaryFolders();
const PYTHON_FILE = path.join(ROOT, ".jupyter", "python"); // the python with Jupyter, written by the set-up
const PYTHON = fs.existsSync(PYTHON_FILE) ? fs.readFileSync(PYTHON_FILE, "utf8").trim() : "python3";
const RUNNER = path.join(ROOT, "scripts", "run_notebooks.py");
const REPRODUCE = path.join(ROOT, "scripts", "reproduce.mjs");
const skip = process.env.TA_TEST_SCOPE === "unit"; // starts kernels, like the notebook tests

/** A notebook whose second cell writes "<kernel pid> <its parent's pid>" to $TA_TEST_PIDFILE and waits two minutes. */
function waitingNotebook(dir: string): string {
  const file = path.join(dir, "99-wait.ipynb");
  const cell = (id: string, source: string) => ({ cell_type: "code", execution_count: null, id, metadata: {}, outputs: [], source });
  const nb = {
    cells: [
      cell("first", "const two = 1 + 1;"),
      cell(
        "wait",
        'require("fs").writeFileSync(process.env.TA_TEST_PIDFILE!, [process.pid, process.ppid].join(" "));\n' +
          "await new Promise((resolve) => setTimeout(resolve, 120_000));",
      ),
    ],
    metadata: { kernelspec: { display_name: "TypeScript (tslab)", language: "typescript", name: "tslab" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(file, `${JSON.stringify(nb, null, 1)}\n`);
  return file;
}

/** Whether a process exists and is not a zombie (an exited child nobody has reaped yet). */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

async function until(what: string, ok: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kernel: number;
  runner: number;
}

const started: number[] = [];

/**
 * Starts a run of the waiting notebook and resolves once its second cell is running.
 * via "reproduce": `npm run reproduce`'s code (runNotebooks in scripts/reproduce.mjs, full mode) in
 * a process group of its own, as a terminal runs a command; via "runner": run_notebooks.py alone.
 */
async function startRun(via: "reproduce" | "runner", dir: string, notebook: string): Promise<Run> {
  const pidFile = path.join(dir, "pids");
  // The run's own temporary folder (the kernel's connection file, the timings report): checked empty after a stop.
  const tmp = path.join(dir, "tmp");
  fs.mkdirSync(tmp);
  const env = { ...process.env, TA_TEST_PIDFILE: pidFile, JUPYTER_PATH: path.join(ROOT, ".jupyter"), TMPDIR: tmp };
  const child =
    via === "reproduce"
      ? spawn(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `const m = await import(${JSON.stringify(REPRODUCE)}); process.exit(await m.runNotebooks([${JSON.stringify(notebook)}], { smoke: false }));`,
          ],
          { env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
        )
      : spawn(PYTHON, [RUNNER, "--write", notebook], { env, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child.pid!);
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  await until(
    `the kernel to run the notebook's second cell (output so far: ${output})`,
    () => fs.existsSync(pidFile) && fs.statSync(pidFile).size > 0,
    50,
  );
  const [kernel, runner] = fs.readFileSync(pidFile, "utf8").split(" ").map(Number);
  started.push(kernel, runner);
  expect(running(kernel)).toBe(true);
  expect(running(runner)).toBe(true);
  return { child, output: () => output, exited, kernel, runner };
}

afterEach(() => {
  // Whatever a failed test left behind.
  for (const pid of started.splice(0))
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
});

describe.skipIf(skip)("a run stopped from outside ends its kernel", () => {
  for (const [signal, to] of [
    ["SIGHUP", "group"], // the terminal closed: every process of the foreground job gets it
    ["SIGINT", "group"], // Ctrl-C
    ["SIGTERM", "reproduce"], // kill <pid of npm run reproduce>: passed on to the runner
  ] as const) {
    it(`${signal} to ${to === "group" ? "the process group" : "the reproduce script"}: kernel gone, notebook untouched, one line`, async () => {
      const dir = tempDir("ta-signals-");
      const notebook = waitingNotebook(dir);
      const before = fs.readFileSync(notebook);
      const run = await startRun("reproduce", dir, notebook);
      process.kill(to === "group" ? -run.child.pid! : run.child.pid!, signal);
      const { code } = await run.exited;
      await until("the kernel to end", () => !running(run.kernel), 10);
      await until("the python runner to end", () => !running(run.runner), 10);
      expect(code, run.output()).toBe(128 + os.constants.signals[signal]);
      const lines = run.output().trim().split("\n");
      expect(
        lines.filter((l) => l.startsWith("interrupted")),
        run.output(),
      ).toEqual(["interrupted in 99, cell 1; nothing written"]);
      expect(run.output()).not.toMatch(/Traceback|Error/);
      expect(fs.readFileSync(notebook).equals(before)).toBe(true);
      expect(fs.readdirSync(dir).sort()).toEqual(["99-wait.ipynb", "pids", "tmp"]); // no temporary notebook left
      expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]); // nor the kernel's connection file, nor the report
    }, 60_000);
  }

  it("SIGKILL of the reproduce script: the runner gets SIGTERM from Linux, and ends its kernel", async () => {
    const dir = tempDir("ta-signals-");
    const notebook = waitingNotebook(dir);
    const before = fs.readFileSync(notebook);
    const run = await startRun("reproduce", dir, notebook);
    process.kill(run.child.pid!, "SIGKILL");
    await run.exited;
    await until("the python runner to end", () => !running(run.runner), 10);
    await until("the kernel to end", () => !running(run.kernel), 10);
    expect(fs.readFileSync(notebook).equals(before)).toBe(true);
  }, 60_000);

  it("SIGKILL of the python runner: the kernel gets SIGTERM from Linux", async () => {
    const dir = tempDir("ta-signals-");
    const notebook = waitingNotebook(dir);
    const before = fs.readFileSync(notebook);
    const run = await startRun("runner", dir, notebook);
    expect(run.runner).toBe(run.child.pid);
    process.kill(run.runner, "SIGKILL");
    await run.exited;
    await until("the kernel to end", () => !running(run.kernel), 10);
    expect(fs.readFileSync(notebook).equals(before)).toBe(true);
  }, 60_000);
});

// `npm run test:unit` does not set up Jupyter: there, only with a set-up done before.
describe.skipIf(skip && !fs.existsSync(PYTHON_FILE))("notebook writes", () => {
  const script = (body: string) =>
    spawnSync(PYTHON, ["-c", `import sys\nsys.path.insert(0, ${JSON.stringify(path.join(ROOT, "scripts"))})\n${body}`], {
      encoding: "utf8",
    });

  it("go through a temporary file and a rename, keeping the file's permissions", () => {
    const dir = tempDir("ta-write-");
    const file = waitingNotebook(dir);
    fs.chmodSync(file, 0o640);
    const inode = fs.statSync(file).ino;
    const r = script(
      `import nbformat, run_notebooks\nnb = nbformat.read(${JSON.stringify(file)}, as_version=4)\nnb.cells[0].source = "const three = 3;"\nrun_notebooks.write_atomically(nb, ${JSON.stringify(file)})`,
    );
    expect(r.status, r.stderr).toBe(0);
    const after = fs.statSync(file);
    expect(after.ino).not.toBe(inode); // a new file renamed over the old one, not the old one rewritten
    expect(after.mode & 0o777).toBe(0o640);
    const source: string | string[] = JSON.parse(fs.readFileSync(file, "utf8")).cells[0].source;
    expect([source].flat().join("")).toBe("const three = 3;");
    expect(fs.readdirSync(dir)).toEqual(["99-wait.ipynb"]);
  });

  it("that fail half-way (disk full) leave the notebook as it was and no temporary file", () => {
    const dir = tempDir("ta-write-");
    const file = waitingNotebook(dir);
    const before = fs.readFileSync(file);
    const r = script(
      [
        "import errno, nbformat, run_notebooks",
        `nb = nbformat.read(${JSON.stringify(file)}, as_version=4)`,
        "def half_then_full(nb, f):",
        '    f.write("{\\n \\"cells\\": [")',
        '    raise OSError(errno.ENOSPC, "No space left on device")',
        "nbformat.write = half_then_full",
        "try:",
        `    run_notebooks.write_atomically(nb, ${JSON.stringify(file)})`,
        "except OSError as err:",
        '    print("raised", err.errno)',
      ].join("\n"),
    );
    expect(r.stdout.trim(), r.stderr).toBe(`raised ${os.constants.errno.ENOSPC}`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["99-wait.ipynb"]);
  });
});
