/**
 * The transformer computes exactly its equations (checked against an independent plain-JS
 * implementation), every parameter gets a gradient, causal attention never looks ahead.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { createRng } from "../lib/engine/rng";
import { gradientNorms } from "../lib/papers/01-pre-ln-vs-post-ln";
import { generate, generateBatch, sampleToken } from "../lib/models/generate";
import { crossEntropy } from "../lib/models/loss";
import { disposeNewVariables, disposeParams, namedVariables } from "../lib/models/params";
import {
  type TransformerConfig,
  type TransformerParams,
  ablateModule,
  blockParams,
  initTransformer,
  transformerConfig,
  transformerForward,
} from "../lib/models/transformer";
import { expectClose } from "./helpers";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

type Mat = number[][];
const arr = (v: tf.Tensor) => v.arraySync() as Mat;
const vec = (v: tf.Tensor) => Array.from(v.dataSync());
const matmul = (a: Mat, b: Mat): Mat => a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
const addRow = (a: Mat, r: number[]): Mat => a.map((row) => row.map((x, j) => x + r[j]));
const add = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((x, j) => x + b[i][j]));

function refNorm(cfg: TransformerConfig, p: { gain: tf.Tensor; bias?: tf.Tensor }, x: Mat): Mat {
  const g = vec(p.gain),
    b = p.bias ? vec(p.bias) : null;
  return x.map((row) => {
    const d = row.length;
    if (cfg.norm === "layer") {
      const mu = row.reduce((s, v) => s + v, 0) / d;
      const varc = row.reduce((s, v) => s + (v - mu) ** 2, 0) / d;
      return row.map((v, j) => ((v - mu) / Math.sqrt(varc + cfg.normEps)) * g[j] + b![j]);
    }
    const k = cfg.norm === "prms" ? Math.max(1, Math.ceil(cfg.normFraction * d)) : d;
    const ms = row.slice(0, k).reduce((s, v) => s + v * v, 0) / k;
    return row.map((v, j) => (v / Math.sqrt(ms + cfg.normEps)) * g[j]);
  });
}

function refAct(cfg: TransformerConfig, v: number): number {
  if (cfg.activation === "relu") return Math.max(0, v);
  if (cfg.activation === "silu") return v / (1 + Math.exp(-v));
  // GELU x·Φ(x) via a high-accuracy erf (Abramowitz–Stegun 7.1.26 is too coarse; use a series)
  const erf = (z: number) => {
    let sum = z,
      term = z;
    for (let n = 1; n < 60; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  return 0.5 * v * (1 + erf(v / Math.SQRT2));
}

/** One sequence [T, D] through attention, by the textbook equations. */
function refAttention(cfg: TransformerConfig, p: TransformerParams["blocks"][0]["attn"], x: Mat): Mat {
  const q = addRow(matmul(x, arr(p.wq)), vec(p.bq));
  const k = addRow(matmul(x, arr(p.wk)), vec(p.bk));
  const v = addRow(matmul(x, arr(p.wv)), vec(p.bv));
  const h = cfg.nHeads,
    hd = cfg.dModel / h,
    t = x.length;
  const ctx: Mat = x.map(() => new Array(cfg.dModel).fill(0));
  for (let head = 0; head < h; head++) {
    const cols = Array.from({ length: hd }, (_, c) => head * hd + c);
    for (let i = 0; i < t; i++) {
      const scores = Array.from({ length: t }, (_, j) =>
        cfg.causal && j > i ? -Infinity : cols.reduce((s, c) => s + q[i][c] * k[j][c], 0) / Math.sqrt(hd),
      );
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const z = e.reduce((a, b) => a + b, 0);
      for (const c of cols) ctx[i][c] = e.reduce((s, w, j) => s + (w / z) * v[j][c], 0);
    }
  }
  return addRow(matmul(ctx, arr(p.wo)), vec(p.bo));
}

function refMlp(cfg: TransformerConfig, p: TransformerParams["blocks"][0]["mlp"], x: Mat): Mat {
  const h = addRow(matmul(x, arr(p.w1)), vec(p.b1)).map((row) => row.map((v) => refAct(cfg, v)));
  return addRow(matmul(h, arr(p.w2)), vec(p.b2));
}

/** Residual stream after embeddings and after every block, for one sequence. */
function refHidden(params: TransformerParams, tokens: number[]): Mat[] {
  const cfg = params.config;
  const wte = arr(params.tokenEmbedding),
    wpe = arr(params.positionEmbedding);
  let x: Mat = tokens.map((tok, t) => wte[tok].map((v, j) => v + wpe[t][j]));
  const out = [x];
  for (const p of params.blocks) {
    if (cfg.normPlacement === "pre") {
      const a = add(x, refAttention(cfg, p.attn, refNorm(cfg, p.norm1, x)));
      x = add(a, refMlp(cfg, p.mlp, refNorm(cfg, p.norm2, a)));
    } else {
      const a = refNorm(cfg, p.norm1, add(x, refAttention(cfg, p.attn, x)));
      x = refNorm(cfg, p.norm2, add(a, refMlp(cfg, p.mlp, a)));
    }
    out.push(x);
  }
  return out;
}

const SMALL = { vocabSize: 9, seqLen: 5, dModel: 6, nHeads: 2, nLayers: 2, dFF: 7, initStd: 0.5 } as const;

describe("transformerForward computes the block equations", () => {
  const variants: Partial<TransformerConfig>[] = [
    { normPlacement: "pre", norm: "layer", activation: "gelu", causal: true },
    { normPlacement: "post", norm: "layer", activation: "relu", causal: true, finalNorm: false },
    { normPlacement: "pre", norm: "rms", activation: "silu", causal: false },
    { normPlacement: "post", norm: "prms", activation: "gelu", causal: false, normFraction: 0.34 },
  ];
  for (const v of variants) {
    it(`${v.normPlacement}-norm, ${v.norm}, ${v.activation}, ${v.causal ? "causal" : "bidirectional"}`, () => {
      const params = initTransformer(transformerConfig({ ...SMALL, ...v, seed: 3 }));
      // Non-trivial norm gains/biases so a swapped or missing term shows.
      const rng = createRng(9);
      for (const b of params.blocks)
        for (const n of [b.norm1, b.norm2]) {
          n.gain.assign(tf.tensor1d(Array.from({ length: 6 }, () => 0.5 + rng.uniform())));
          n.bias?.assign(tf.tensor1d(Array.from({ length: 6 }, () => rng.normal() * 0.3)));
        }
      const tokens = [
        [1, 4, 2, 8, 0],
        [3, 3, 7, 5, 6],
      ];
      const { logits, hidden } = transformerForward(params, tf.tensor2d(tokens, [2, 5], "int32"), { captureHidden: true });
      expect(hidden!.length).toBe(3);
      for (let b = 0; b < 2; b++) {
        const want = refHidden(params, tokens[b]);
        for (let l = 0; l < want.length; l++) expectClose((hidden![l].arraySync() as Mat[])[b].flat(), want[l].flat(), 2e-4);
      }
      expect(logits.shape).toEqual([2, 5, 9]);
      tf.dispose([logits, ...hidden!]);
      disposeParams(params);
    });
  }
});

describe("transformer", () => {
  it("gives every parameter a non-zero gradient (pre and post, every norm kind)", () => {
    for (const normPlacement of ["pre", "post"] as const) {
      for (const norm of ["layer", "rms", "prms"] as const) {
        const params = initTransformer(transformerConfig({ ...SMALL, normPlacement, norm, tieEmbeddings: norm !== "rms", seed: 1 }));
        const x = tf.tensor2d([[1, 4, 2, 8, 0]], [1, 5], "int32"),
          y = tf.tensor2d([[4, 2, 8, 0, 3]], [1, 5], "int32");
        const norms = gradientNorms(params, () => crossEntropy(transformerForward(params, x).logits, y));
        const zero = [...norms].filter(([, n]) => !(n > 0)).map(([k]) => k);
        expect(zero, `${normPlacement}/${norm}`).toEqual([]);
        disposeParams(params);
      }
    }
  });

  it("causal attention does not look ahead; bidirectional attention does", () => {
    for (const causal of [true, false]) {
      const params = initTransformer(transformerConfig({ ...SMALL, causal, seed: 2 }));
      const a = transformerForward(params, tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32")).logits.arraySync() as number[][][];
      const b = transformerForward(params, tf.tensor2d([[1, 2, 3, 8, 5]], [1, 5], "int32")).logits.arraySync() as number[][][];
      const changed = a[0].map((row, t) => Math.max(...row.map((v, j) => Math.abs(v - b[0][t][j]))) > 1e-7);
      expect(changed, causal ? "causal" : "bidirectional").toEqual(
        causal ? [false, false, false, true, true] : [true, true, true, true, true],
      );
      disposeParams(params);
    }
  });

  it("captures attention probabilities: rows sum to 1, nothing above the diagonal when causal", () => {
    const params = initTransformer(transformerConfig({ ...SMALL, seed: 4 }));
    const { attention, logits } = transformerForward(params, tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32"), { captureAttention: true });
    expect(attention!.map((a) => a.shape)).toEqual([
      [1, 2, 5, 5],
      [1, 2, 5, 5],
    ]);
    const p = attention![0].arraySync() as number[][][][];
    for (const row of p[0][1]) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) expect(p[0][0][i][j]).toBe(0);
    tf.dispose([logits, ...attention!]);
    disposeParams(params);
  });

  it("rejects inputs it cannot take, saying why", () => {
    const params = initTransformer(transformerConfig({ ...SMALL, seed: 5 }));
    expect(() => transformerForward(params, tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32"))).toThrow(
      /sequence length 6 exceeds config.seqLen 5/,
    );
    expect(() => transformerForward(params, tf.tensor1d([1, 2], "int32"))).toThrow(/tokens must be \[B, T\]/);
    disposeParams(params);
  });

  describe("params transforms", () => {
    it("ablating a module changes that layer's output and nothing before it; bad ablations are rejected", () => {
      const cfg = transformerConfig({ vocabSize: 11, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 3, dFF: 16, initStd: 0.3, seed: 2 });
      const params = initTransformer(cfg);
      const x = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32");
      const base = transformerForward(params, x, { captureHidden: true }).hidden!;
      const nVariables = namedVariables(params).size;
      for (const module of ["query", "key", "value", "mlp"] as const) {
        const ablated = ablateModule(params, 1, module);
        expect(ablated.blocks[0]).toBe(params.blocks[0]); // other blocks shared, not copied
        const h = transformerForward(ablated, x, { captureHidden: true }).hidden!;
        expect(Array.from(h[1].dataSync())).toEqual(Array.from(base[1].dataSync()));
        expect(Array.from(h[2].dataSync())).not.toEqual(Array.from(base[2].dataSync()));
        const before = tf.memory().numTensors;
        disposeNewVariables(ablated, params); // frees the zeroed weights only
        expect(tf.memory().numTensors).toBe(before - 2);
        expect([...namedVariables(params).values()].every((v) => !v.isDisposed)).toBe(true);
        expect(namedVariables(params).size).toBe(nVariables);
        tf.dispose(h);
      }
      // Zero queries (or keys): every position attends uniformly to its past.
      const zeroQueries = ablateModule(params, 0, "query");
      const { attention, logits } = transformerForward(zeroQueries, x, { captureAttention: true });
      const row = (attention![0].arraySync() as number[][][][])[0][0][3];
      row.slice(0, 4).forEach((p) => expect(p).toBeCloseTo(0.25, 6));
      // A zeroed MLP output is the MLP removed: the block is x + Attn(N(x)) alone.
      const noMlp = ablateModule(params, 2, "mlp");
      const viaZero = transformerForward(noMlp, x).logits;
      const viaRemoved = transformerForward(
        {
          ...params,
          blocks: params.blocks.map((b, l) =>
            l === 2
              ? {
                  ...b,
                  mlp: { ...b.mlp, w2: noMlp.blocks[2] === b ? b.mlp.w2 : blockParams(noMlp, 2).mlp.w2, b2: blockParams(noMlp, 2).mlp.b2 },
                }
              : b,
          ),
        },
        x,
      ).logits;
      expect(Array.from(viaZero.dataSync())).toEqual(Array.from(viaRemoved.dataSync()));
      expect(() => ablateModule(params, 3, "mlp")).toThrow(/layer must be in 0…2, got 3/);
      expect(() => ablateModule(params, 0, "gate" as never)).toThrow(/module must be one of query, key, value, mlp/);
      tf.dispose([...base, ...attention!, logits, viaZero, viaRemoved]);
      disposeNewVariables(zeroQueries, params);
      disposeNewVariables(noMlp, params);
      disposeParams(params);
      x.dispose();
    });
  });
});

describe("generation", () => {
  it("a batch continues each prompt as generate does alone; top-1 sampling is greedy; sampling is seeded", () => {
    const params = initTransformer(
      transformerConfig({ vocabSize: 17, seqLen: 8, dModel: 16, nHeads: 2, nLayers: 2, dFF: 32, seed: 4, initStd: 0.3 }),
    );
    const prompts = [
      [1, 2, 3],
      [5, 5, 9],
      [16, 0, 7],
    ];
    const batch = generateBatch(params, prompts, { steps: 10 }); // 13 > seqLen: the context is cut
    const before = tf.memory().numTensors; // after the first call: causal masks are cached per length
    prompts.forEach((p, i) => expect(generate(params, p, { steps: 10 })).toEqual(batch[i]));
    expect(generateBatch(params, prompts, { steps: 10, temperature: 1, topK: 1, rng: createRng(1) })).toEqual(batch);
    const a = generateBatch(params, prompts, { steps: 6, temperature: 1.5, rng: createRng(2) });
    expect(generateBatch(params, prompts, { steps: 6, temperature: 1.5, rng: createRng(2) })).toEqual(a);
    expect(a.flat().every((t) => Number.isInteger(t) && t >= 0 && t < 17)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    // excluding the greedy choices: no excluded token is ever generated, greedy or sampled
    const banned = [...new Set(batch.flat())];
    for (const o of [{ steps: 10 }, { steps: 10, temperature: 2, topK: 3, rng: createRng(5) }])
      for (const t of generateBatch(params, prompts, { ...o, exclude: banned }).flat()) expect(banned).not.toContain(t);
    expect(() => generateBatch(params, prompts, { steps: 1, exclude: [17] })).toThrow(/exclude holds 17, not a token id in 0…16/);
    expect(() => generateBatch(params, prompts, { steps: 1, exclude: Array.from({ length: 17 }, (_, i) => i) })).toThrow(/leaves no token/);
    expect(() => generateBatch(params, [[1, 2], [3]], { steps: 1 })).toThrow(/prompt 1 has 1 tokens, prompt 0 has 2/);
    expect(() => generate(params, [1], { steps: 1, temperature: 1 })).toThrow(/needs options.rng/);
    expect(() => generate(params, [1], { steps: 1, topK: -1 })).toThrow(/generate.topK: expected an integer ≥ 0, got -1/);
    expect(() => generate(params, [1], { steps: -1 })).toThrow(/generate.steps: expected an integer ≥ 0, got -1/);
    disposeParams(params);
  });

  it("options are checked like configs: unknown fields with the near miss, types, ranges; prompt ids in the vocabulary (issue 24, item 9)", () => {
    const params = initTransformer(transformerConfig({ vocabSize: 17, seqLen: 8, dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 }));
    expect(() => generate(params, [1], { steps: 2, temperature: -1 })).toThrow("generate.temperature: expected a number ≥ 0, got -1");
    expect(() => generate(params, [1], { steps: 2, temprature: 1 } as never)).toThrow(
      'generate: unknown field "temprature" (did you mean "temperature"?); allowed fields: steps, temperature, topK, exclude, rng',
    );
    expect(() => generate(params, [1], { steps: "3" } as never)).toThrow('generate.steps: expected an integer ≥ 0, got "3"');
    expect(() => generate(params, [1], {} as never)).toThrow("generate.steps: required (an integer ≥ 0)");
    expect(() => generateBatch(params, [[1]], { steps: -1 })).toThrow("generateBatch.steps: expected an integer ≥ 0, got -1");
    expect(() => generateBatch(params, [[1]], { steps: 1, topK: 1.5 })).toThrow("generateBatch.topK: expected an integer ≥ 0, got 1.5");
    expect(() => generateBatch(params, [[1]], { steps: 1, temperature: 1, rng: 7 } as never)).toThrow(
      "generateBatch.rng: expected a generator (ta.createRng(seed)), got 7",
    );
    expect(() =>
      generateBatch(
        params,
        [
          [1, 2],
          [3, 17],
        ],
        { steps: 1 },
      ),
    ).toThrow("generateBatch: prompt 1 holds 17 at position 1, not a token id in 0…16");
    expect(generate(params, [1, 16], { steps: 3 }).length).toBe(3);
    disposeParams(params);
  });

  it("top-k sampling draws only the k largest logits, in proportion to exp(logit / temperature)", () => {
    const logits = [0, 2, Math.log(3) + 2, -1, 1];
    const rng = createRng(7);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(logits, 1, 2, rng)]++;
    expect(counts[0] + counts[3] + counts[4]).toBe(0);
    expect(counts[2] / counts[1]).toBeGreaterThan(2.8); // e^(ln 3) = 3
    expect(counts[2] / counts[1]).toBeLessThan(3.2);
    // temperature 2 over all: token 2 against token 4 in ratio e^((ln 3 + 1)/2)
    const all = [0, 0, 0, 0, 0];
    for (let i = 0; i < 40000; i++) all[sampleToken(logits, 2, 0, rng)]++;
    expect(Math.log(all[2] / all[4])).toBeCloseTo((Math.log(3) + 1) / 2, 1);
  });
});
