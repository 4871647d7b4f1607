/** Display helpers in plain Node: text fallbacks, claims, and a real Chromium render. */
import { afterAll, describe, expect, it, vi } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { closeRenderer, renderPng } from "../lib/notebook/chromium";
import { claim, recordedClaims, ClaimFailed } from "../lib/notebook/claims";
import { inNotebook } from "../lib/notebook/kernel";
import { barFigure, heatmapFigure, lineFigure, plot } from "../lib/notebook/plot";
import { formatSeconds, progress } from "../lib/notebook/progress";
import { formatTable } from "../lib/notebook/table";

afterAll(async () => {
  await closeRenderer();
});

describe("outside a notebook", () => {
  it("knows it is not in a kernel", () => {
    expect(inNotebook()).toBe(false);
  });

  it("formats tables as aligned text", () => {
    expect(formatTable([{ arm: "pre", loss: 1.23456 }, { arm: "post-ln", loss: null }])).toBe(
      ["arm      loss", "-------  -----", "pre      1.235", "post-ln  —"].join("\n"));
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

describe("figures", () => {
  it("render to a PNG of the requested size in headless Chromium", async () => {
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
  });

  it("write a file when asked", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ta-fig-")), "f.png");
    await plot(lineFigure([{ name: "y", y: [1, 2] }]), { file, width: 300, height: 200 });
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
  });
});
