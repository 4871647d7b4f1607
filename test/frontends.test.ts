/**
 * What each front end gets from a notebook, checked on real outputs:
 *   - figures: the display bundle (plotly JSON for JupyterLab / VS Code, PNG for classic Notebook,
 *     GitHub, nbconvert), its size per figure, and classic Notebook's loader — in a real classic
 *     Notebook server and Chromium: one live chart in a trusted notebook, the PNG alone in an
 *     untrusted one; and the book drawing one chart per figure;
 *   - smoke mode: TA_SMOKE's accepted values (library and scripts alike), and the autosave warning
 *     in the first output of a notebook run outside the runner;
 *   - reruns: under the runner, two runs of the same notebook differ only in timing lines, and the
 *     run stamp records the thread count.
 * JupyterLab and VS Code cannot be installed here (offline): the bundle they read is checked instead.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser } from "playwright-core";
import { addBannerNote, ready } from "../lib/engine";
import { CHROMIUM_FLAGS, chromiumPath, closeRenderer, renderPng } from "../lib/notebook/chromium";
import { parseSmoke, smokeAutosaveWarning, smokeBannerNote } from "../lib/notebook/mode";
import { PLOTLY_MIME, figureOutputs, lineFigure, preparedFigure } from "../lib/notebook/plot";
import { RUN_STAMP_MIME, formatLibraryStamp, librarySourceHash, libraryStamp } from "../lib/notebook/stamp";

const ROOT = path.resolve(__dirname, "..");
const unit = process.env.TA_TEST_SCOPE === "unit"; // no Chromium, no kernels
const PYTHON_FILE = path.join(ROOT, ".jupyter", "python");
const PYTHON = fs.existsSync(PYTHON_FILE) ? fs.readFileSync(PYTHON_FILE, "utf8").trim() : "python3";

const temporary: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}
afterAll(async () => {
  await closeRenderer();
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// TA_SMOKE

describe("TA_SMOKE", () => {
  const accepted: [string | undefined, boolean][] = [
    ["1", true],
    ["true", true],
    ["TRUE", true],
    ["Yes", true],
    [" yes ", true],
    ["0", false],
    ["false", false],
    ["No", false],
    ["", false],
    [undefined, false],
  ];

  it("accepts 1/true/yes and 0/false/no/unset in any case, in the library and in the scripts alike", async () => {
    const scripts = (await import(path.join(ROOT, "scripts", "smoke.mjs"))) as { parseSmoke(v: string | undefined): boolean };
    for (const [value, smoke] of accepted) {
      expect(parseSmoke(value), String(value)).toBe(smoke);
      expect(scripts.parseSmoke(value), String(value)).toBe(smoke);
    }
  });

  it("refuses any other value with an error naming the variable and the value", async () => {
    const scripts = (await import(path.join(ROOT, "scripts", "smoke.mjs"))) as { parseSmoke(v: string | undefined): boolean };
    for (const value of ["2", "on", "smoke", "y", "tru"]) {
      for (const parse of [parseSmoke, scripts.parseSmoke])
        expect(() => parse(value)).toThrow(new RegExp(`^TA_SMOKE must be 1, true or yes .* got "${value}"$`));
    }
  });

  it("`npm start` refuses a bad value before starting Jupyter", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "start.mjs")], {
      env: { ...process.env, TA_SMOKE: "smoke" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TA_SMOKE must be .* got "smoke"/);
  });

  it("ta.ready() prints the banner notes under the engine line, and a malformed TA_SMOKE stops it", async () => {
    addBannerNote(smokeBannerNote);
    addBannerNote(() => "a test note");
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const saved = process.env.TA_SMOKE;
    try {
      process.env.TA_SMOKE = "1";
      await ready({ backend: "cpu" });
      const printed = String(log.mock.calls.at(-1)?.[0]).split("\n");
      expect(printed[0]).toMatch(/^engine: cpu /);
      expect(printed.slice(1)).toEqual(["a test note"]); // smoke, but not in a notebook: no autosave warning
      process.env.TA_SMOKE = "sometimes";
      await expect(ready({ backend: "cpu", quiet: true })).rejects.toThrow(/TA_SMOKE must be .* got "sometimes"/);
    } finally {
      if (saved === undefined) delete process.env.TA_SMOKE;
      else process.env.TA_SMOKE = saved;
      log.mockRestore();
    }
  });

  it("warns only for a smoke run in a notebook outside the runner, naming the file to restore when known", () => {
    const base = { smoke: true, inNotebook: true, runner: false };
    const text = smokeAutosaveWarning(base)!;
    expect(text).toMatch(/^⚠ smoke mode \(TA_SMOKE is set\)/);
    expect(text).toMatch(/autosaves this notebook.*committed full-run outputs will be replaced/);
    expect(text).toContain("git checkout notebooks/NN-….ipynb");
    expect(smokeAutosaveWarning({ ...base, notebook: "notebooks/04-joma.ipynb" })).toContain("git checkout notebooks/04-joma.ipynb");
    expect(smokeAutosaveWarning({ ...base, notebook: "Untitled" })).toContain("NN-….ipynb");
    expect(smokeAutosaveWarning({ ...base, smoke: false })).toBeNull();
    expect(smokeAutosaveWarning({ ...base, runner: true })).toBeNull();
    expect(smokeAutosaveWarning({ ...base, inNotebook: false })).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Run stamps

describe("the library run stamp", () => {
  it("records the backend and thread count ready() started; old stamps without them still read", async () => {
    await ready({ backend: "cpu", quiet: true });
    const stamp = libraryStamp();
    expect(stamp).toEqual({ kind: "library", sha256: librarySourceHash(), backend: "cpu", threads: 1 });
    expect(formatLibraryStamp(stamp)).toBe(`run stamp: library sources ${stamp.sha256.slice(0, 12)} · cpu, 1 thread`);
    expect(formatLibraryStamp({ kind: "library", sha256: "ab".repeat(32), backend: "wasm", threads: 2 })).toMatch(/ · wasm, 2 threads$/);
    // A stamp from before: the same line as then; the book and `npm test` judge it as before.
    const old = { kind: "library" as const, sha256: stamp.sha256 };
    expect(formatLibraryStamp(old)).toBe(`run stamp: library sources ${stamp.sha256.slice(0, 12)}`);
    const { freshness } = (await import(path.join(ROOT, "scripts", "book.mjs"))) as {
      freshness(entry: { stamps: unknown[] }): { status: string };
    };
    expect(freshness({ stamps: [old] }).status).toBe("current");
    expect(freshness({ stamps: [stamp] }).status).toBe("current");
  });
});

// ---------------------------------------------------------------------------------------------
// The figure bundle

/** Width and height from a PNG's IHDR chunk. */
const pngSize = (base64: string) => {
  const b = Buffer.from(base64, "base64");
  expect(b.subarray(1, 4).toString("latin1")).toBe("PNG");
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
};

/** The bounds stated in lib/notebook/plot.ts for the typical figure below. */
const BOUNDS = { png: 120_000, json: 20_000, loader: 2_000 };

describe.skipIf(unit)("the figure bundle", () => {
  // A typical figure: three series of 200 points, the default 760 × 420.
  const figure = preparedFigure(
    lineFigure(
      [0, 1, 2].map((k) => ({
        name: `seed ${k}`,
        y: Float32Array.from({ length: 200 }, (_, i) => Math.exp(-i / 60) + 0.05 * Math.sin(i + k)),
      })),
      { title: "validation loss", xTitle: "step", yTitle: "nats" },
    ),
  );
  let outputs: ReturnType<typeof figureOutputs>;
  beforeAll(async () => {
    outputs = figureOutputs(figure, await renderPng(figure, 760, 420), { width: 760, height: 420 });
  }, 120_000);

  it("holds plotly JSON (data, layout) beside the PNG and text, then classic Notebook's loader", () => {
    expect(outputs.length).toBe(2);
    const [fig, loader] = outputs;
    expect(Object.keys(fig.data).sort()).toEqual([PLOTLY_MIME, "image/png", "text/plain"].sort());
    const live = JSON.parse(JSON.stringify(fig.data[PLOTLY_MIME])) as { data: { y: number[] }[]; layout: Record<string, unknown> };
    expect(live.data.length).toBe(3);
    expect(live.data[0].y.length).toBe(200);
    expect(live.data[0].y[0]).toBe(Math.fround(1 + 0.05 * Math.sin(0)));
    expect(live.layout.height).toBe(420);
    expect((live.layout.title as { text: string }).text).toBe("validation loss");
    expect(pngSize(fig.data["image/png"] as string)).toEqual([760, 420]);
    expect(fig.metadata).toEqual({ "image/png": { width: 760, height: 420 } });
    expect(Object.keys(loader.data).sort()).toEqual(["text/html", "text/plain"]);
  });

  it("stores the figure once: the loader carries no data and reads no page URL", () => {
    const html = outputs[1].data["text/html"] as string;
    expect(html).not.toContain("validation loss");
    expect(html).not.toMatch(/location|pathname|lab\/tree|\/notebooks\//);
    expect(html).toContain("window.Jupyter");
    expect(html).toContain(PLOTLY_MIME);
  });

  it("stays within the stated size per figure", () => {
    const sizes = {
      png: (outputs[0].data["image/png"] as string).length,
      json: JSON.stringify(outputs[0].data[PLOTLY_MIME]).length,
      loader: (outputs[1].data["text/html"] as string).length,
    };
    console.log(`bytes per mime part of a 3 × 200-point line chart: ${JSON.stringify(sizes)}`);
    expect(sizes.png).toBeLessThan(BOUNDS.png);
    expect(sizes.json).toBeLessThan(BOUNDS.json);
    expect(sizes.loader).toBeLessThan(BOUNDS.loader);
  });

  it("is the same for the same figure (re-running changes nothing in the file)", async () => {
    const again = figureOutputs(figure, await renderPng(figure, 760, 420), { width: 760, height: 420 });
    expect(again[1]).toEqual(outputs[1]);
    expect(again[0].data[PLOTLY_MIME]).toEqual(outputs[0].data[PLOTLY_MIME]);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// A real kernel: the notebook as a front end and as the runner run it

type Output = { output_type: string; name?: string; text?: string | string[]; data?: Record<string, unknown> };
type Notebook = { cells: { cell_type: string; source: string | string[]; outputs?: Output[]; execution_count?: number | null }[] };
const joined = (x: string | string[] | undefined) => (Array.isArray(x) ? x.join("") : (x ?? ""));

/** A three-cell notebook: setup and stamp, a timed loop with a progress bar, a figure. */
function testNotebook(dir: string, name: string): string {
  const cell = (id: string, source: string) => ({ cell_type: "code", execution_count: null, id, metadata: {}, outputs: [], source });
  const nb = {
    cells: [
      cell("setup", `const ta = require(${JSON.stringify(path.join(ROOT, "dist", "index.js"))});\nawait ta.ready();\nta.runStamp();`),
      cell(
        "timed",
        [
          "const t0 = Date.now();",
          'const bar = ta.progress(3, "demo");',
          "for (let i = 1; i <= 3; i++) { await new Promise((r) => setTimeout(r, 40)); bar.update(i, { loss: 1 / i }); }",
          "bar.done();",
          "const sum = ta.tf.tidy(() => ta.tf.matMul(ta.tf.ones([64, 64]), ta.tf.ones([64, 64])).sum().dataSync()[0]);",
          'console.log("sum " + sum + " in " + ((Date.now() - t0) / 1000).toFixed(3) + " s");',
        ].join("\n"),
      ),
      cell("figure", 'await ta.plot(ta.lineFigure([{ name: "y", y: [1, 3, 2] }], { title: "three points" }));'),
    ],
    metadata: { kernelspec: { display_name: "TypeScript (tslab)", language: "typescript", name: "tslab" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${JSON.stringify(nb, null, 1)}\n`);
  return file;
}

const kernelEnv = (extra: Record<string, string>) => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(ROOT, ".jupyter"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    ...extra,
  };
  delete env.TA_NOTEBOOK_RUNNER;
  return env;
};

/** Runs a notebook as a front end does (nbclient, no runner), in smoke mode; returns it executed. */
function runLikeAFrontEnd(file: string): Notebook {
  const code = [
    "import os, sys, nbformat",
    "from nbclient import NotebookClient",
    "nb = nbformat.read(sys.argv[1], as_version=4)",
    "client = NotebookClient(nb, timeout=300, kernel_name='tslab', resources={'metadata': {'path': os.path.dirname(sys.argv[1])}})",
    "try:",
    "    client.execute()",
    "finally:",
    "    nbformat.write(nb, sys.argv[1])",
  ].join("\n");
  const r = spawnSync(PYTHON, ["-c", code, file], { env: kernelEnv({ TA_SMOKE: "1" }), encoding: "utf8", timeout: 400_000 });
  const streams = () =>
    (JSON.parse(fs.readFileSync(file, "utf8")) as Notebook).cells.flatMap((c) => (c.outputs ?? []).map((o) => joined(o.text))).join("\n");
  expect(r.status, `${r.stderr.slice(-2000)}\n${streams()}`).toBe(0);
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Runs a notebook with the project's runner, smoke mode, outputs written back. */
function runWithRunner(file: string): Notebook {
  const r = spawnSync(PYTHON, [path.join(ROOT, "scripts", "run_notebooks.py"), "--smoke", "--write", file], {
    env: kernelEnv({}),
    encoding: "utf8",
    timeout: 400_000,
  });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Times as the notebooks print them: "0.1 s", "25 s", "1 min 6 s", "24.700 s", "(41 ms/step)". */
const TIME = /\b\d+ min \d+ s\b|\b\d+(?:\.\d+)? m?s\b/g;
const maskTimes = (text: string) => text.replace(TIME, "<time>");

describe.skipIf(unit)("a notebook in a real kernel", () => {
  const dir = tempDir("ta-frontends-");
  let frontEnd: Notebook;
  let runs: Notebook[];
  beforeAll(() => {
    frontEnd = runLikeAFrontEnd(testNotebook(dir, "zz-frontends.ipynb"));
    const runnerDir = tempDir("ta-frontends-runner-");
    runs = [runWithRunner(testNotebook(runnerDir, "zz-a.ipynb")), runWithRunner(testNotebook(runnerDir, "zz-b.ipynb"))];
  }, 1_200_000);

  it("run from a front end in smoke mode, its first output warns about the autosave and says how to restore", () => {
    const first = frontEnd.cells[0].outputs![0];
    expect(first.output_type).toBe("stream");
    const lines = joined(first.text).split("\n");
    expect(lines[0]).toMatch(/^engine: /);
    expect(lines[1]).toMatch(/^⚠ smoke mode \(TA_SMOKE is set\)/);
    expect(joined(first.text)).toMatch(/git checkout notebooks\/NN-….ipynb/);
  });

  it("run by the runner, it does not warn (the runner writes nothing in smoke mode)", () => {
    for (const nb of runs) expect(joined(nb.cells[0].outputs![0].text)).not.toMatch(/smoke mode/);
  });

  it("its run stamp records the backend and thread count, in the data and the text", () => {
    for (const nb of [frontEnd, ...runs]) {
      const stamp = nb.cells[0].outputs!.find((o) => o.data?.[RUN_STAMP_MIME]);
      const data = stamp!.data![RUN_STAMP_MIME] as { kind: string; sha256: string; backend: string; threads: number };
      expect(data.kind).toBe("library");
      expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isInteger(data.threads) && data.threads >= 1).toBe(true);
      const engineLine = joined(nb.cells[0].outputs![0].text);
      expect(engineLine).toContain(`engine: ${data.backend} (${data.threads} thread`);
      expect(joined(stamp!.data!["text/plain"] as string)).toBe(
        `run stamp: library sources ${data.sha256.slice(0, 12)} · ${data.backend}, ${data.threads} thread${data.threads === 1 ? "" : "s"}`,
      );
    }
  });

  it("a figure reaches the notebook as the plotly + PNG bundle and the loader", () => {
    const outputs = frontEnd.cells[2].outputs!.filter((o) => o.output_type === "display_data");
    expect(outputs.length).toBe(2);
    expect(Object.keys(outputs[0].data!).sort()).toEqual([PLOTLY_MIME, "image/png", "text/plain"].sort());
    const live = outputs[0].data![PLOTLY_MIME] as { data: { y: number[] }[]; layout: { title: { text: string } } };
    expect(live.data[0].y).toEqual([1, 3, 2]);
    expect(live.layout.title.text).toBe("three points");
    expect(pngSize(joined(outputs[0].data!["image/png"] as string))).toEqual([760, 420]);
    expect(joined(outputs[1].data!["text/html"] as string)).toMatch(/^<div id="ta-plot-[0-9a-f]{12}" class="ta-live-plot"/);
    expect(fs.existsSync(path.join(dir, "assets", "plotly.min.js"))).toBe(true); // for classic Notebook's loader
  });

  it("two runs by the runner differ only in their timing lines", () => {
    const texts = runs.map((nb) =>
      nb.cells.map((c) => ({
        count: c.execution_count,
        outputs: (c.outputs ?? []).map((o) => JSON.stringify({ ...o, text: joined(o.text) })),
      })),
    );
    const [a, b] = texts.map((t) => JSON.stringify(t));
    // The timing lines are there (a progress bar's final line, an "in N s" message) …
    const timed = joined(runs[0].cells[1].outputs!.map((o) => joined(o.text) + joined(o.data?.["text/plain"] as string)).join("\n"));
    expect(timed).toMatch(/demo: 3\/3 · loss 0\.3333 · \d+(\.\d+)? s/);
    expect(timed).toMatch(/sum 262144 in \d+\.\d{3} s/);
    // … and with them masked the two runs are the same, byte for byte.
    expect(maskTimes(a)).toBe(maskTimes(b));
  });

  // -------------------------------------------------------------------------------------------
  // Classic Notebook and the book, on the front-end run's outputs

  describe("in classic Notebook and the book (real server, real Chromium)", () => {
    let browser: Browser;
    let server: ChildProcess | null = null;
    let base = "";
    const token = "ta-test-token";
    const data = tempDir("ta-frontends-jupyter-data-");

    beforeAll(async () => {
      // A trusted copy (signed with a key in this test's own Jupyter data folder) and an untrusted one
      // (its content differs, as a signature covers the content: an identical copy would be trusted too).
      const untrusted = JSON.parse(fs.readFileSync(path.join(dir, "zz-frontends.ipynb"), "utf8"));
      untrusted.metadata.title = "untrusted copy";
      fs.writeFileSync(path.join(dir, "zz-untrusted.ipynb"), JSON.stringify(untrusted));
      const env = { ...kernelEnv({ JUPYTER_DATA_DIR: data, JUPYTER_CONFIG_DIR: path.join(data, "config") }) };
      const sign = spawnSync(
        PYTHON,
        [
          "-c",
          "import sys, nbformat\nfrom nbformat.sign import NotebookNotary\nnb = nbformat.read(sys.argv[1], 4)\nNotebookNotary().sign(nb)",
          path.join(dir, "zz-frontends.ipynb"),
        ],
        { env, encoding: "utf8" },
      );
      expect(sign.status, sign.stderr).toBe(0);
      const port = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, "127.0.0.1", () => {
          const p = (probe.address() as net.AddressInfo).port;
          probe.close(() => resolve(p));
        });
      });
      const args = [
        "-m",
        "notebook",
        "--no-browser",
        "--ip=127.0.0.1",
        `--port=${port}`,
        `--NotebookApp.token=${token}`,
        `--notebook-dir=${dir}`,
      ];
      if (process.getuid?.() === 0) args.push("--allow-root");
      server = spawn(PYTHON, args, { env, stdio: "ignore", detached: true });
      base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 120; i++) {
        try {
          if ((await fetch(`${base}/api/status?token=${token}`)).ok) break;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS, headless: true });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      if (server?.pid) {
        try {
          process.kill(-server.pid, "SIGTERM"); // the server and the kernels it started (its own process group)
        } catch {
          // already gone
        }
      }
    });

    /** Opens a notebook and returns what its figure shows once the page settles. */
    async function open(name: string, live: boolean) {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${base}/notebooks/${name}?token=${token}`);
      await page.waitForSelector(".output_area img", { state: "attached", timeout: 60_000 });
      // The loader, when it runs, loads plotly and draws; otherwise give it the time it would take.
      if (live) await page.waitForSelector(".ta-live-plot .main-svg", { state: "attached", timeout: 60_000 });
      await page.waitForTimeout(live ? 1000 : 4000);
      const state = await page.evaluate(() => {
        const visible = (e: Element) => (e as HTMLElement).offsetParent !== null;
        return {
          charts: Array.from(document.querySelectorAll(".js-plotly-plot")).filter(visible).length,
          liveInLoader: document.querySelectorAll(".ta-live-plot .main-svg").length > 0,
          pngs: Array.from(document.querySelectorAll(".output_area img")).filter(visible).length,
        };
      });
      await page.close();
      return { ...state, errors };
    }

    it("a trusted notebook shows the live chart and hides the PNG: one chart", async () => {
      const shown = await open("zz-frontends.ipynb", true);
      expect(shown.errors).toEqual([]);
      expect(shown.liveInLoader).toBe(true);
      expect(shown.charts).toBe(1);
      expect(shown.pngs).toBe(0);
    }, 120_000);

    it("an untrusted notebook shows the PNG alone: one chart", async () => {
      const shown = await open("zz-untrusted.ipynb", false);
      expect(shown.errors).toEqual([]);
      expect(shown.charts).toBe(0);
      expect(shown.pngs).toBe(1);
    }, 120_000);

    it("the book draws one live chart per figure from the plotly JSON, and nothing for the loader", async () => {
      const notebooks = tempDir("ta-frontends-book-src-");
      const nb = JSON.parse(fs.readFileSync(path.join(dir, "zz-untrusted.ipynb"), "utf8"));
      nb.cells.unshift({ cell_type: "markdown", id: "title", metadata: {}, source: "# Frontends" });
      fs.writeFileSync(path.join(notebooks, "00-frontends.ipynb"), JSON.stringify(nb));
      const book = (await import(path.join(ROOT, "scripts", "book.mjs"))) as {
        buildBook(outDir: string, notebooksDir: string): { pages: string[] };
        serve(dir: string, port: number): Promise<import("node:http").Server>;
      };
      const out = tempDir("ta-frontends-book-");
      const built = book.buildBook(out, notebooks);
      expect(built.pages).toEqual(["00-frontends.html"]);
      const html = fs.readFileSync(path.join(out, "00-frontends.html"), "utf8");
      expect(html.match(/class="ta-plot"/g)?.length).toBe(1);
      expect(html).not.toContain('class="figure"'); // the PNG gives way to the live chart
      expect(html).not.toContain("ta-live-plot"); // classic Notebook's loader is not copied
      const served = await book.serve(out, 0);
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${(served.address() as net.AddressInfo).port}/00-frontends.html`);
        await page.waitForSelector(".ta-plot .main-svg", { timeout: 30_000 });
        await page.close();
      } finally {
        served.close();
      }
    }, 120_000);
  });
});
