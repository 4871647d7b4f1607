/**
 * The book in a real browser: Debian's Chromium (driven by playwright-core) opens the index served
 * on 127.0.0.1, follows the link to every notebook page, and checks that each plot became a live
 * plotly chart (an SVG inside the plot element), that equations were typeset, and that no page logs
 * a console error. The scorecard must list every claim record of every notebook; a screenshot of
 * it is saved to build/book-scorecard.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Server } from "node:http";
import type { Browser } from "playwright-core";
import { CHROMIUM_FLAGS, chromiumPath } from "../lib/notebook/chromium";
import { CLAIM_MIME } from "../lib/notebook/claims";

const ROOT = path.resolve(__dirname, "..");

interface Book {
  buildBook(outDir: string): {
    pages: string[];
    claims: { notebook: string; id: string; verdict: string; format: number; criterion?: string }[];
  };
  serve(dir: string, port: number): Promise<Server>;
}

/** Claim records straight from the committed notebooks (what the scorecard must show). */
function claimRecordsInNotebooks(): { notebook: string; id: string }[] {
  const out: { notebook: string; id: string }[] = [];
  for (const file of fs
    .readdirSync(path.join(ROOT, "notebooks"))
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .sort()) {
    const nb = JSON.parse(fs.readFileSync(path.join(ROOT, "notebooks", file), "utf8"));
    for (const cell of nb.cells) {
      for (const o of cell.outputs ?? []) if (o.data?.[CLAIM_MIME]) out.push({ notebook: file.slice(0, 2), id: o.data[CLAIM_MIME].id });
    }
  }
  return out;
}

describe("the book", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-book-"));
  let built: ReturnType<Book["buildBook"]>;
  let server: Server;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    const book = (await import(path.join(ROOT, "scripts", "book.mjs"))) as Book;
    built = book.buildBook(dir);
    server = await book.serve(dir, 0);
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("no server address");
    base = `http://127.0.0.1:${address.port}/`;
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS, headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("has a page per notebook and the scorecard has every claim from all of them", () => {
    const notebooks = fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => /^\d\d-.*\.ipynb$/.test(f));
    expect(built.pages.length).toBe(notebooks.length);
    const want = claimRecordsInNotebooks();
    expect(built.claims.map((c) => `${c.notebook}/${c.id}`)).toEqual(want.map((c) => `${c.notebook}/${c.id}`));
    // Every paper notebook (01–10) contributes claims; no verdict comes from a smoke run.
    for (let i = 1; i <= 10; i++) expect(built.claims.some((c) => c.notebook === String(i).padStart(2, "0"))).toBe(true);
    expect(built.claims.every((c) => ["reproduced", "inconclusive", "not reproduced", "old format"].includes(c.verdict))).toBe(true);
    // The tour is redone to the evidence standard: its records are format 2, decided with a criterion.
    expect(built.claims.filter((c) => c.notebook === "00").every((c) => c.format === 2 && c.criterion)).toBe(true);
  });

  it("uses only its own files: no CDN, no file:// or system paths", () => {
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".html"))) {
      const html = fs.readFileSync(path.join(dir, file), "utf8");
      expect(html, file).not.toMatch(/(src|href)="(https?:)?\/\/|file:\/\/|\/usr\/|\/work\/|node_modules/);
    }
  });

  it("every notebook page, reached from the index, shows live charts and equations with no console errors", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on("requestfailed", (r) => errors.push(`${page.url()}: failed ${r.url()}`));
    await page.goto(base);
    const links = await page.$$eval("ol.contents a", (as) => as.map((a) => (a as HTMLAnchorElement).getAttribute("href")!));
    expect(links.length).toBe(built.pages.length);
    let charts = 0;
    for (const href of links) {
      await page.goto(base);
      await Promise.all([page.waitForURL(`**/${href}`), page.click(`ol.contents a[href="${href}"]`)]);
      await page.waitForLoadState("load");
      const plots = await page.$$(".ta-plot");
      for (const plot of plots) {
        // plotly draws into <svg class="main-svg"> inside the element.
        expect(await plot.$("svg.main-svg"), `${href}: ${await plot.getAttribute("id")} is not a live chart`).not.toBeNull();
      }
      charts += plots.length;
      const source = fs.readFileSync(path.join(dir, href), "utf8");
      if (source.includes('class="katex"')) expect(await page.$$eval(".katex .katex-html", (e) => e.length)).toBeGreaterThan(0);
      const mathFont = await page.evaluate(() => document.fonts.check("16px KaTeX_Main"));
      if (source.includes('class="katex"')) expect(mathFont, `${href}: KaTeX fonts`).toBe(true);
    }
    expect(charts).toBeGreaterThan(30);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it("the scorecard renders one row per claim; screenshot saved", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${base}scorecard.html`);
    const rows = await page.$$eval("table.scorecard.claims tbody tr", (r) => r.length);
    expect(rows).toBe(built.claims.length);
    // One summary row per notebook, saying whether its outputs are current.
    expect(await page.$$eval("table.scorecard.summary-table tbody tr", (r) => r.length)).toBe(built.pages.length);
    // Each row's "cell" link points at an element on the notebook page.
    const first = await page.$eval(
      "table.scorecard.claims tbody tr td:last-child a",
      (a) => (a as HTMLAnchorElement).getAttribute("href")!,
    );
    const [file, anchor] = first.split("#");
    expect(fs.readFileSync(path.join(dir, file), "utf8")).toContain(`id="${anchor}"`);
    fs.mkdirSync(path.join(ROOT, "build"), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, "build", "book-scorecard.png"), fullPage: false });
    await page.close();
  });
});
