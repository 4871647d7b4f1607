/** The built package, as notebooks and plain Node scripts see it. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

describe("the package entry", () => {
  it("is importable by name from plain Node and re-exports the public API", () => {
    const names = [
      "tf",
      "ready",
      "createRng",
      "layerNorm",
      "rmsNorm",
      "slantedTriangularLR",
      "transformerConfig",
      "initTransformer",
      "transformerForward",
      "crossEntropy",
      "train",
      "loadSotu",
      "charTokenizer",
      "wordTokenizer",
      "gpt2Tokenizer",
      "lmBatcher",
      "plot",
      "table",
      "paperVsOurs",
      "claim",
      "progress",
      "bySize",
    ];
    const script = `const ta = require("transformer-anatomy"); console.log(JSON.stringify(${JSON.stringify(names)}.filter((k) => ta[k] === undefined)));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: path.join(ROOT, "scripts"), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual([]);
  });
});
