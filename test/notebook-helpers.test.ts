/** Display helpers in plain Node: text fallbacks, claims, and a real Chromium render. */
import { afterAll, describe, expect, it, vi } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { closeRenderer, renderPng } from "../lib/notebook/chromium";
import { claim, recordedClaims, ClaimFailed } from "../lib/notebook/claims";
import { exercise } from "../lib/notebook/exercise";
import { displayBundle, droppedOutputs, inNotebook, unflushedOutputs } from "../lib/notebook/kernel";
import { barFigure, heatmapFigure, intervalFigure, lineFigure, plot } from "../lib/notebook/plot";
import { formatSeconds, progress, progressSpacingMs } from "../lib/notebook/progress";
import { formatTable } from "../lib/notebook/table";

const expectCloseArr = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 12));

afterAll(async () => {
  await closeRenderer();
});

describe("outside a notebook", () => {
  it("knows it is not in a kernel", () => {
    expect(inNotebook()).toBe(false);
  });

  it("formats tables as aligned text", () => {
    expect(
      formatTable([
        { arm: "pre", loss: 1.23456 },
        { arm: "post-ln", loss: null },
      ]),
    ).toBe(["arm      loss", "-------  -----", "pre      1.235", "post-ln  —"].join("\n"));
  });

  it("prints a plain progress line per 10% on stderr", () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    const p = progress(20, "demo");
    for (let i = 1; i <= 20; i++) p.update(i, { loss: 1 / i });
    p.done();
    spy.mockRestore();
    expect(lines.length).toBe(11); // 10 deciles below 100%, then the final line
    expect(lines[lines.length - 1]).toMatch(/^demo: 20\/20 · loss 0\.0500 · /);
    expect(formatSeconds(75)).toBe("1 min 15 s");
  });
});

describe("claims", () => {
  it("throw in full mode when a required claim fails, and record every verdict", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    claim({ id: "t-held", claim: "c", paper: "p", ours: "o", holds: true });
    expect(() => claim({ id: "t-fail", claim: "c", paper: "p", ours: "o", holds: false })).toThrow(ClaimFailed);
    claim({ id: "t-known", claim: "c", paper: "p", ours: "o", holds: false, required: false, caveat: "too small" });
    log.mockRestore();
    const verdicts = Object.fromEntries(recordedClaims().map((r) => [r.id, r.verdict]));
    expect(verdicts).toMatchObject({ "t-held": "held", "t-fail": "not reproduced", "t-known": "not reproduced" });
  });

  it("are reported but not enforced in smoke mode", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    process.env.TA_SMOKE = "1";
    try {
      expect(() => claim({ id: "t-smoke", claim: "c", paper: "p", ours: "o", holds: false })).not.toThrow();
    } finally {
      delete process.env.TA_SMOKE;
      log.mockRestore();
    }
    expect(recordedClaims().find((r) => r.id === "t-smoke")?.verdict).toBe("smoke run");
  });
});

describe("exercises", () => {
  it("an unanswered exercise runs nothing and reports a to-do", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const run = vi.fn(() => 1);
    const out = await exercise<number, number>({ id: "00.9", question: "q?", prediction: undefined, run, check: () => true });
    expect(out).toBeUndefined();
    expect(run).not.toHaveBeenCalled();
    expect(log.mock.calls.flat().join(" ")).toMatch(/✎ Exercise 00\.9: q\? — write your prediction/);
    log.mockRestore();
  });

  it("grades a prediction against the measurement, both ways", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const spec = {
      id: "01.1",
      question: "loss?",
      run: async () => 4.5213,
      check: (p: number, m: number) => Math.abs(p - m) < 0.1,
      show: (m: number) => m.toFixed(2),
    };
    expect(await exercise({ ...spec, prediction: Math.log(92) })).toBe(4.5213);
    expect(await exercise({ ...spec, prediction: 2 })).toBe(4.5213);
    const lines = log.mock.calls.map((c) => String(c[0]));
    expect(lines[0]).toBe("✔ Exercise 01.1: you predicted 4.522; measured 4.52 — correct.");
    expect(lines[1]).toBe("✘ Exercise 01.1: you predicted 2; measured 4.52 — incorrect.");
    log.mockRestore();
  });

  it("rejects a malformed id", async () => {
    await expect(exercise({ id: "1", question: "", prediction: 1, run: () => 1, check: () => true })).rejects.toThrow(/"01\.2"/);
  });
});

describe("figures", () => {
  // `npm run test:unit` runs without Chromium.
  it.skipIf(process.env.TA_TEST_SCOPE === "unit")("render to a PNG of the requested size in headless Chromium", async () => {
    const png = await renderPng(lineFigure([{ name: "y", y: [3, 1, 2] }], { title: "t" }), 320, 200);
    expect(Buffer.from(png.subarray(1, 4)).toString("latin1")).toBe("PNG");
    const view = Buffer.from(png);
    expect([view.readUInt32BE(16), view.readUInt32BE(20)]).toEqual([320, 200]);
  });

  it("bar charts put their categories on a category axis (a linear axis draws no bars for text labels)", () => {
    const fig = barFigure(["a", "b"], [{ name: "s", y: [1, 2], error: [0.1, 0.2] }], { title: "t", yTitle: "y" });
    expect((fig.layout!.xaxis as { type: string }).type).toBe("category");
    expect(fig.data[0]).toMatchObject({ type: "bar", x: ["a", "b"], y: [1, 2], error_y: { array: [0.1, 0.2] } });
    expect((heatmapFigure([[1, 2]], { square: true }).layout!.yaxis as Record<string, unknown>).scaleanchor).toBe("x");
    const forest = intervalFigure([
      { label: "a − b", estimate: 0.1, low: 0.05, high: 0.2, threshold: 0 },
      { label: "c − d", estimate: -0.1, low: -0.3, high: 0 },
    ]);
    const points = forest.data[0] as { y: number[]; error_y: { array: number[]; arrayminus: number[] } };
    expect(points.y).toEqual([0.1, -0.1]);
    expectCloseArr(points.error_y.array, [0.1, 0.1]);
    expectCloseArr(points.error_y.arrayminus, [0.05, 0.2]);
    expect(forest.data.length).toBe(3); // estimates, reference, one criterion segment (the second row has none)
    expect((forest.data[2] as { x: number[]; y: number[] }).y).toEqual([0, 0]);
    expect((forest.layout!.xaxis as Record<string, unknown>).ticktext).toEqual(["a − b", "c − d"]);
    expect(() => intervalFigure([{ label: "x", estimate: 1, low: 0, high: 0.5 }])).toThrow(/row "x": estimate 1 is outside \[0, 0.5\]/);
    const ticked = heatmapFigure([[1, 2]], { colorbarTitle: "W", xTicks: { values: [0, 1], labels: ["a", "b"] } });
    expect((ticked.layout!.xaxis as Record<string, unknown>).ticktext).toEqual(["a", "b"]);
    expect(((ticked.data[0] as Record<string, unknown>).colorbar as { title: { text: string } }).title.text).toBe("W");
    expect(() => heatmapFigure([[1]], { yTicks: { values: [0, 1], labels: ["a"] } })).toThrow(/yTicks has 2 values but 1 labels/);
  });

  it("line charts draw a series' interval as asymmetric error bars, and refuse a malformed one", () => {
    const fig = lineFigure([{ name: "m", x: [1, 2], y: [1, 2], low: [0.5, 1.75], high: [2, 2.5] }]);
    expect(fig.data[0].error_y).toMatchObject({ type: "data", symmetric: false, array: [1, 0.5], arrayminus: [0.5, 0.25] });
    expect(lineFigure([{ name: "plain", y: [1] }]).data[0].error_y).toBeUndefined();
    expect(() => lineFigure([{ name: "half", y: [1], low: [0] }])).toThrow(/"half" needs both low and high/);
    expect(() => lineFigure([{ name: "short", y: [1, 2], low: [0], high: [3] }])).toThrow(/2 points but 1 lows and 1 highs/);
    expect(() => lineFigure([{ name: "outside", y: [1, 5], low: [0, 0], high: [2, 3] }])).toThrow(/point 1 is outside its interval/);
  });

  it("write a file when asked", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ta-fig-")), "f.png");
    await plot(lineFigure([{ name: "y", y: [1, 2] }]), { file, width: 300, height: 200 });
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
  });
});

describe("a kernel whose output socket fills up (tslab over zeromq.js)", () => {
  it("spaces progress updates as outputs queue, and drops rather than throws when the socket is full", async () => {
    // A stand-in for tslab's jupyter module: its socket accepts 500 messages per event-loop turn,
    // then throws as zeromq.js does.
    const sent: unknown[] = [];
    let queued = 0;
    const key = path.join(os.tmpdir(), "fake", "tslab", "dist", "jupyter.js");
    const fake = {
      lastWriteDisplayData: (message: unknown) => {
        if (queued >= 500) throw new Error("Socket is busy writing; only one send operation may be in progress at any time");
        queued += 1;
        sent.push(message);
      },
    };
    require.cache[key] = { id: key, filename: key, loaded: true, exports: fake } as unknown as NodeJS.Module;
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(inNotebook()).toBe(true);
      expect(progressSpacingMs(0)).toBe(250);
      expect(progressSpacingMs(100)).toBe(2000);
      expect(progressSpacingMs(450)).toBe(Infinity);
      // A synchronous loop updating a bar as fast as it can, for 200 ms of wall time.
      const bar = progress(1e9, "spin", { minIntervalMs: 0 });
      const t0 = performance.now();
      for (let i = 1; performance.now() - t0 < 200; i++) bar.update(i);
      expect(unflushedOutputs()).toBeGreaterThanOrEqual(60);
      expect(unflushedOutputs()).toBeLessThan(150); // past 60 queued, one update per 2 s
      // Fill the socket: a further output is dropped with a note, not thrown.
      while (queued < 500) displayBundle({ "text/plain": "x" });
      const before = droppedOutputs();
      expect(displayBundle({ "text/plain": "one too many" })).toBe(true);
      expect(droppedOutputs()).toBe(before + 1);
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toMatch(/output was dropped: the kernel's output socket is full/);
      // Once the event loop turns, the count starts again.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unflushedOutputs()).toBe(0);
    } finally {
      stderr.mockRestore();
      delete require.cache[key];
    }
    expect(inNotebook()).toBe(false);
  });
});
