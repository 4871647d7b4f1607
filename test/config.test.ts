import { describe, expect, it } from "vitest";
import { ConfigError, type OptionsSchema, checkOptions } from "../lib/config";
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

describe("checkOptions (run options: the same checks as configs, without defaults)", () => {
  interface Opts {
    steps: number;
    lr: number | ((step: number) => number);
    batchSize?: number;
    ids?: ArrayLike<number>;
    onStep?: () => void;
  }
  const schema: OptionsSchema<Opts> = {
    steps: { kind: "int", min: 0 },
    lr: {
      kind: "either",
      of: [
        { kind: "number", min: 0 },
        { kind: "function", signature: "(step) => lr" },
      ],
    },
    batchSize: { kind: "int", min: 1, optional: true },
    ids: { kind: "numbers", optional: true },
    onStep: { kind: "function", optional: true },
  };

  it("returns the options unchanged when they are valid; undefined counts as not given", () => {
    const o = { steps: 3, lr: (s: number) => s / 10, batchSize: undefined, ids: Int32Array.of(1, 2) };
    expect(checkOptions("run", o, schema)).toBe(o);
    expect(checkOptions("run", { steps: 0, lr: 0, ids: [4] }, schema).steps).toBe(0);
  });

  it("names an unknown field with the near miss (a typo, or camelCase initials either way) and lists the allowed ones", () => {
    const run = (o: object) => () => checkOptions("run", o as Opts, schema);
    expect(run({ steps: 1, lr: 1, batchsize: 2 })).toThrow(ConfigError);
    expect(run({ steps: 1, lr: 1, batchsize: 2 })).toThrow(
      'run: unknown field "batchsize" (did you mean "batchSize"?); allowed fields: steps, lr, batchSize, ids, onStep',
    );
    expect(run({ steps: 1, learningRate: 1 })).toThrow('run: unknown field "learningRate" (did you mean "lr"?)');
    expect(run({ steps: 1, lr: 1, bs: 2 })).toThrow('run: unknown field "bs" (did you mean "batchSize"?)');
    expect(run({ steps: 1, lr: 1, temperature: 2 })).toThrow(/^run: unknown field "temperature"; allowed fields/); // no near miss
  });

  it("names a missing field, a wrong type and a value out of range, with what is allowed", () => {
    const run = (o: object) => () => checkOptions("run", o as Opts, schema);
    expect(run({ lr: 1 })).toThrow("run.steps: required (an integer ≥ 0)");
    expect(run({ steps: -1, lr: 1 })).toThrow("run.steps: expected an integer ≥ 0, got -1");
    expect(run({ steps: 1, lr: "0.1" })).toThrow('run.lr: expected a number ≥ 0 or a function (step) => lr, got "0.1"');
    expect(run({ steps: 1, lr: Number.NaN })).toThrow("run.lr: expected a number ≥ 0 or a function (step) => lr, got NaN");
    expect(run({ steps: 1, lr: 1, batchSize: 0 })).toThrow("run.batchSize: expected an integer ≥ 1, got 0");
    expect(run({ steps: 1, lr: 1, ids: "1 2 3" })).toThrow('run.ids: expected an array or typed array of numbers, got "1 2 3"');
    expect(run({ steps: 1, lr: 1, onStep: 5 })).toThrow("run.onStep: expected a function, got 5");
    expect(run({ steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], lr: 1 })).toThrow(
      "run.steps: expected an integer ≥ 0, got [1, 2, 3, 4, 5, 6, 7, 8, … (10 items)]",
    );
    expect(() => checkOptions("run", 5 as never, schema)).toThrow("run: options must be an object, got 5");
  });
});
