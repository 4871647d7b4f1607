/**
 * Every claim record committed in the notebooks' outputs: format-2 records must carry a criterion
 * with its source, a finite statistic, an interval when n > 1, a valid verdict with its reason, and
 * come from a full run; a required claim must be reproduced. Format-1 records (notebooks not yet
 * redone) are counted as "old format", not failures. Notebooks whose outputs came from older
 * library code or checkpoints are reported as a warning.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CLAIM_MIME, type ClaimRecord, type ClaimRecordV2 } from "../lib/notebook/claims";
import { RUN_STAMP_MIME } from "../lib/notebook/stamp";

const ROOT = path.resolve(__dirname, "..");
const NOTEBOOKS = path.join(ROOT, "notebooks");
type Output = { data?: Record<string, unknown> };
type Notebook = { cells: { cell_type: string; outputs?: Output[] }[] };
const files = fs
  .readdirSync(NOTEBOOKS)
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
  .sort();
const outputsOf = (file: string) =>
  (JSON.parse(fs.readFileSync(path.join(NOTEBOOKS, file), "utf8")) as Notebook).cells.flatMap((c) =>
    c.cell_type === "code" ? (c.outputs ?? []) : [],
  );
const records = files.map((file) => ({
  file,
  claims: outputsOf(file).flatMap((o) => (o.data?.[CLAIM_MIME] ? [o.data[CLAIM_MIME] as ClaimRecord] : [])),
}));
const isV2 = (r: ClaimRecord): r is ClaimRecordV2 => "format" in r && r.format === 2;

describe("committed claim records", () => {
  it("every notebook's committed outputs hold claim records from a full run", () => {
    for (const { file, claims } of records) {
      expect(claims.length, file).toBeGreaterThan(0);
      expect(
        claims.filter((c) => c.smoke).map((c) => c.id),
        `${file}: smoke-run records committed`,
      ).toEqual([]);
    }
  });

  it("format-2 records are complete, their verdicts valid and explained; required claims are reproduced", () => {
    const problems: string[] = [];
    for (const { file, claims } of records) {
      for (const c of claims.filter(isV2)) {
        const where = `${file} ${c.id}`;
        if (!c.criterion?.source || !c.criterionText) problems.push(`${where}: no criterion or no source`);
        if (!Number.isFinite(c.statistic?.value)) problems.push(`${where}: statistic is not a number`);
        if (!(Number.isInteger(c.n) && c.n >= 1)) problems.push(`${where}: n = ${c.n}`);
        if (c.n > 1 && !(c.uncertainty && c.uncertainty.low <= c.statistic.value && c.statistic.value <= c.uncertainty.high))
          problems.push(`${where}: n > 1 without a valid interval`);
        if (!["reproduced", "not reproduced", "inconclusive"].includes(c.verdict)) problems.push(`${where}: verdict "${c.verdict}"`);
        if (c.verdict !== "reproduced" && !c.reason) problems.push(`${where}: ${c.verdict} without a reason`);
        if (c.required && c.verdict !== "reproduced") problems.push(`${where}: required but ${c.verdict}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("counts old-format records per notebook (they show as such on the scorecard)", () => {
    const counts = Object.fromEntries(
      records.map(({ file, claims }) => [file.slice(0, 2), { v2: claims.filter(isV2).length, old: claims.filter((c) => !isV2(c)).length }]),
    );
    console.log(
      `claim records (format 2 / old format): ${Object.entries(counts)
        .map(([k, v]) => `${k} ${v.v2}/${v.old}`)
        .join(", ")}`,
    );
    expect(counts["00"].v2).toBeGreaterThan(0); // the tour is redone to the evidence standard
    expect(counts["00"].old).toBe(0);
  });
});

describe("run stamps", () => {
  it("warns about notebooks whose outputs came from older code; the check itself tells current from stale", async () => {
    const { freshness } = (await import(path.join(ROOT, "scripts", "book.mjs"))) as {
      freshness(entry: { stamps: unknown[] }): { status: string; detail: string };
    };
    const stale: string[] = [];
    for (const file of files) {
      const stamps = outputsOf(file).flatMap((o) => (o.data?.[RUN_STAMP_MIME] ? [o.data[RUN_STAMP_MIME]] : []));
      const f = freshness({ stamps });
      expect(["current", "stale", "no stamp"], file).toContain(f.status);
      if (f.status !== "current") stale.push(`${file}: ${f.status} (${f.detail})`);
    }
    if (stale.length) console.warn(`[warning] ${stale.length} notebook(s) to rerun with \`npm run reproduce\`:\n  ${stale.join("\n  ")}`);
    // The check can tell: no stamp, another library, and a changed checkpoint are each reported.
    expect(freshness({ stamps: [] }).status).toBe("no stamp");
    expect(freshness({ stamps: [{ kind: "library", sha256: "0".repeat(64) }] })).toMatchObject({ status: "stale" });
    const { librarySourceHash } = await import("../lib/notebook/stamp");
    expect(freshness({ stamps: [{ kind: "library", sha256: librarySourceHash() }] }).status).toBe("current");
    expect(
      freshness({
        stamps: [
          { kind: "library", sha256: librarySourceHash() },
          { kind: "checkpoint", name: "word-gpt", step: null, file: "model.safetensors", sha256: "0".repeat(64), smoke: false },
        ],
      }).detail,
    ).toMatch(/checkpoint word-gpt\/model.safetensors changed since the run/);
  });
});
