/**
 * tfjs-core's own op specs — how tfjs tests its backends — for every op our engine patches, run on
 * the wasm backend twice in child processes: with our kernels, and stock (TA_WASM_PATCHES=off) as
 * the baseline. No spec may fail with our kernels that passes on stock. (Five specs fail on stock
 * wasm itself — int32 products, 2-D fused biases, complex transposes — and are reported.)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
/** The specs of the ops lib/engine/wasm.ts replaces or adds (BatchMatMul, _FusedMatMul, GatherV2, UnsortedSegmentSum, Transpose, Sum, Exp, Erf, Identity). */
const SPECS = [
  "ops/clone_test",
  "ops/mat_mul_test",
  "ops/fused/fused_mat_mul_test",
  "ops/gather_test",
  "ops/unsorted_segment_sum_test",
  "ops/transpose_test",
  "ops/sum_test",
  "ops/exp_test",
  "ops/erf_test",
];

function runSpecs(patches: "on" | "off"): { total: number; failed: string[] } {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ta-specs-")), "result.json");
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--config",
      "test/tfjs-specs/vitest.config.mts",
      "--reporter=json",
      `--outputFile=${out}`,
    ],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, TA_TFJS_SPECS: SPECS.join(","), TA_WASM_PATCHES: patches } },
  );
  if (!fs.existsSync(out)) throw new Error(`the spec run (patches ${patches}) wrote no results:\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(fs.readFileSync(out, "utf8")) as {
    testResults: { assertionResults: { fullName: string; status: string }[] }[];
  };
  const tests = report.testResults.flatMap((f) => f.assertionResults);
  return { total: tests.length, failed: tests.filter((t) => t.status !== "passed").map((t) => t.fullName) };
}

describe("tfjs-core op specs on our wasm engine", () => {
  it("no spec fails with our kernels that passes on the stock backend", () => {
    const stock = runSpecs("off");
    const ours = runSpecs("on");
    console.log(
      `tfjs op specs: ${ours.total} run; failing with our kernels ${ours.failed.length}, on stock ${stock.failed.length}:\n  ${stock.failed.join("\n  ")}`,
    );
    expect(ours.total).toBeGreaterThan(200);
    expect(ours.total).toBe(stock.total);
    expect(ours.failed.filter((name) => !stock.failed.includes(name))).toEqual([]);
  }, 900_000);
});
