import { describe, expect, it } from "vitest";
import { ConfigError } from "../lib/config";
import { ready } from "../lib/engine";
import { TRANSFORMER_PRESETS, initTransformer, transformerConfig, transformerParameterCount } from "../lib/models/transformer";
import { countParameters, disposeParams } from "../lib/models/params";

describe("transformerConfig", () => {
  it("names an unknown field, suggests the near miss, and lists the allowed ones", () => {
    expect(() => transformerConfig({ nHead: 4 } as never)).toThrow(ConfigError);
    expect(() => transformerConfig({ nHead: 4 } as never)).toThrow(
      /unknown field "nHead" \(did you mean "nHeads"\?\); allowed fields: vocabSize/,
    );
  });

  it("names the field and the allowed values for a bad value", () => {
    expect(() => transformerConfig({ norm: "batch" as never })).toThrow(
      /TransformerConfig.norm: expected one of "layer", "rms", "prms", got "batch"/,
    );
    expect(() => transformerConfig({ nLayers: -1 })).toThrow(/TransformerConfig.nLayers: expected an integer ≥ 0, got -1/);
    expect(() => transformerConfig({ normEps: 0 })).toThrow(/normEps: expected a number > 0/);
    expect(() => transformerConfig({ dModel: 10, nHeads: 4 })).toThrow(/dModel \(10\) must be divisible by nHeads \(4\)/);
    expect(() => transformerConfig("lm-huge" as never)).toThrow(/unknown preset "lm-huge"; presets: lm-tiny, lm-small, lm-reference/);
  });

  it("applies defaults ← preset ← overrides", () => {
    const cfg = transformerConfig("lm-small", { nLayers: 2 });
    expect(cfg.dModel).toBe(TRANSFORMER_PRESETS["lm-small"].dModel);
    expect(cfg.nLayers).toBe(2);
    expect(cfg.normEps).toBe(1e-5);
  });

  it("pins the parameter count of every preset", async () => {
    await ready({ backend: "cpu", quiet: true });
    // By hand: V·D + T·D (tied embeddings, learned positions)
    //   + L·[4(D² + D) attention + 2·2D LayerNorms + (D·F + F) + (F·D + D) MLP] + 2D final LayerNorm.
    // lm-reference (V 256, T 128, D 128, F 512, L 4): 32768 + 16384 + 4·198272 + 256 = 842496.
    // joma-word (V 2000, T 35, D 64, F 64, L 1, Post-LN, untied, no final norm):
    //   128000 + 2240 + (16640 + 256 + 4160 + 4160) + 64·2000 = 283456.
    const expected: Record<string, number> = { "lm-tiny": 29_568, "lm-small": 210_304, "lm-reference": 842_496, "joma-word": 283_456 };
    for (const [name, count] of Object.entries(expected)) {
      const params = initTransformer(transformerConfig(name as keyof typeof TRANSFORMER_PRESETS));
      expect(countParameters(params), name).toBe(count);
      expect(transformerParameterCount(params.config), `${name} by formula`).toBe(count);
      disposeParams(params);
    }
    expect(Object.keys(expected)).toEqual(Object.keys(TRANSFORMER_PRESETS));
  });
});
