/**
 * gMLP / aMLP and the vision models: the block computes its equations for every gate (against a
 * plain-JS reference), starts as a plain FFN, never looks ahead when causal, takes shorter inputs,
 * gives every parameter a gradient; parameter counts by formula = built models; matched arms;
 * IDX parsing and patching.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng, randomNormal } from "../../lib/engine/rng";
import { gradientNorms } from "../../lib/papers/01-pre-ln-vs-post-ln";
import { crossEntropy } from "../../lib/models/loss";
import { countParameters, disposeParams } from "../../lib/models/params";
import {
  ARM_TOLERANCE,
  GATES,
  type GmlpConfig,
  MLM_ARMS,
  armLm,
  gmlpBlock,
  gmlpConfig,
  gmlpForward,
  gmlpLm,
  gmlpParameterCount,
  initGmlp,
  initVisionModel,
  lmParameterCount,
  mlmArms,
  shiftInvariance,
  spatialLocality,
  spatialWeightRows,
  visionArms,
  visionConfig,
  visionForward,
  visionParameterCount,
} from "../../lib/papers/03-gmlp";
import { initTransformer } from "../../lib/models/transformer";
import { tileMosaic } from "../../lib/notebook/plot";
import { type ImageSet, holdOut, imageBatcher, loadImageDataset, parseIdx, patchify, permutePixels, readIdx } from "../../lib/data/images";
import { trainImageClassifier } from "../../lib/papers/03-gmlp";
import { mlmEvalBatches } from "../../lib/data/batches";
import { trainLanguageModel } from "../../lib/train/lm";
import { expectClose } from "../helpers";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

type Mat = number[][];
const vec = (v: tf.Tensor) => Array.from(v.dataSync());
const rowsOf = (v: tf.Tensor): Mat => v.arraySync() as Mat;
const matmul = (a: Mat, b: Mat): Mat => a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
const ln = (x: Mat, g: number[], b: number[], eps: number): Mat =>
  x.map((row) => {
    const mu = row.reduce((s, v) => s + v, 0) / row.length;
    const varc = row.reduce((s, v) => s + (v - mu) ** 2, 0) / row.length;
    return row.map((v, j) => ((v - mu) / Math.sqrt(varc + eps)) * g[j] + b[j]);
  });
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
function erf(x: number): number {
  // Abramowitz & Stegun 7.1.26 is too coarse; integrate the series instead
  let sum = x,
    term = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const SMALL: Partial<GmlpConfig> = { vocabSize: 11, seqLen: 5, dModel: 6, dFF: 8, nLayers: 2 };

/** One gMLP block on x [T, D] (batch of one), written from the paper's equations. */
function refBlock(cfg: GmlpConfig, p: ReturnType<typeof initGmlp>["blocks"][number], x: Mat): Mat {
  const t = x.length;
  const xn = ln(x, vec(p.norm.gain), vec(p.norm.bias!), cfg.normEps);
  const z = matmul(xn, rowsOf(p.u)).map((row) => row.map((v, j) => gelu(v + vec(p.bu)[j])));
  const half = cfg.dFF / 2;
  const z1 = cfg.gate === "split" ? z.map((r) => r.slice(0, half)) : z;
  const z2 = cfg.gate === "split" ? z.map((r) => r.slice(half)) : z;
  const z2n = ln(z2, vec(p.gateNorm.gain), vec(p.gateNorm.bias!), cfg.normEps);
  const w = rowsOf(p.w),
    bw = vec(p.bw);
  const fz = Array.from({ length: t }, (_, i) =>
    z2n[0].map((_, c) => {
      let s = bw[i];
      for (let j = 0; j < t; j++) if (!cfg.causal || j <= i) s += w[i][j] * z2n[j][c];
      return s;
    }),
  );
  if (p.attn) {
    const a = cfg.tinyAttention;
    const qkv = matmul(xn, rowsOf(p.attn.wqkv)).map((r) => r.map((v, j) => v + vec(p.attn!.bqkv)[j]));
    const q = qkv.map((r) => r.slice(0, a)),
      k = qkv.map((r) => r.slice(a, 2 * a)),
      v = qkv.map((r) => r.slice(2 * a));
    const out = q.map((qi, i) => {
      const s = k.map((kj, j) => (cfg.causal && j > i ? -Infinity : qi.reduce((acc, qv, c) => acc + qv * kj[c], 0) / Math.sqrt(a)));
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const total = e.reduce((acc, x) => acc + x, 0);
      return v[0].map((_, c) => e.reduce((acc, ej, j) => acc + (ej / total) * v[j][c], 0));
    });
    const proj = matmul(out, rowsOf(p.attn.wo)).map((r) => r.map((val, j) => val + vec(p.attn!.bo)[j]));
    for (let i = 0; i < t; i++) for (let c = 0; c < fz[i].length; c++) fz[i][c] += proj[i][c];
  }
  const gated =
    cfg.gate === "linear"
      ? fz
      : cfg.gate === "additive"
        ? z.map((r, i) => r.map((v, c) => v + fz[i][c]))
        : z1.map((r, i) => r.map((v, c) => v * fz[i][c]));
  const y = matmul(gated, rowsOf(p.v));
  return x.map((r, i) => r.map((v, c) => v + y[i][c] + vec(p.bv)[c]));
}

describe("gMLP block", () => {
  for (const gate of GATES) {
    for (const tiny of [0, 3]) {
      for (const causal of [false, true]) {
        it(`computes its equations: ${gate} gate${tiny ? ", with tiny attention" : ""}, ${causal ? "causal" : "bidirectional"}`, () => {
          // A large spatial init scale so W matters (the default starts W near zero).
          const params = initGmlp({ ...SMALL, gate, tinyAttention: tiny, causal, spatialInitScale: 3, seed: 3 });
          const cfg = params.config;
          const x = randomNormal(createRng(9), [5, 6]);
          const ours = tf.tidy(() => gmlpBlock(cfg, params.blocks[0], x, 1, 5));
          expectClose(vec(ours), refBlock(cfg, params.blocks[0], rowsOf(x)).flat(), 2e-5);
          tf.dispose([x, ours]);
          disposeParams(params);
        });
      }
    }
  }

  it("starts as a plain FFN: with W = 0 and b = 1 the split gate passes Z₁ through", () => {
    const params = initGmlp({ ...SMALL, gate: "split", spatialInitScale: 0, seed: 4 });
    const cfg = params.config;
    const p = params.blocks[0];
    const x = randomNormal(createRng(10), [5, 6]);
    const ours = tf.tidy(() => gmlpBlock(cfg, p, x, 1, 5));
    // FFN(x) = x + GELU(LN(x) U₁ + b₁) V + b_v with U₁ the first half of U's columns.
    const xn = ln(rowsOf(x), vec(p.norm.gain), vec(p.norm.bias!), cfg.normEps);
    const hidden = matmul(xn, rowsOf(p.u)).map((r) => r.slice(0, 4).map((v, j) => gelu(v + vec(p.bu)[j])));
    const ffn = matmul(hidden, rowsOf(p.v)).map((r, i) => r.map((v, c) => rowsOf(x)[i][c] + v + vec(p.bv)[c]));
    expectClose(vec(ours), ffn.flat(), 2e-5);
    tf.dispose([x, ours]);
    disposeParams(params);
  });

  it("initialises W near zero (|W| ≤ scale/n) with b = 1 for the split and multiplicative gates, near I for linear", () => {
    for (const gate of GATES) {
      const params = initGmlp({ ...SMALL, gate, seed: 5 });
      const w = rowsOf(params.blocks[0].w);
      const n = SMALL.seqLen!;
      const offIdentity = w.flatMap((r, i) => r.map((v, j) => Math.abs(v - (gate === "linear" && i === j ? 1 : 0))));
      expect(Math.max(...offIdentity), gate).toBeLessThanOrEqual(1e-3 / n);
      expect(vec(params.blocks[0].bw), gate).toEqual(new Array(n).fill(gate === "split" || gate === "multiplicative" ? 1 : 0));
      disposeParams(params);
    }
  });
});

describe("gMLP model", () => {
  it("causal W (and tiny attention) never look ahead; bidirectional ones do", () => {
    for (const causal of [true, false]) {
      for (const tinyAttention of [0, 3]) {
        const params = initGmlp({ ...SMALL, causal, tinyAttention, spatialInitScale: 3, seed: 6 });
        const a = rowsOf(tf.squeeze(gmlpForward(params, tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32"))));
        const b = rowsOf(tf.squeeze(gmlpForward(params, tf.tensor2d([[1, 2, 3, 9, 5]], [1, 5], "int32"))));
        const changed = a.map((row, t) => Math.max(...row.map((v, j) => Math.abs(v - b[t][j]))) > 1e-7);
        expect(changed, `causal ${causal}, tiny ${tinyAttention}`).toEqual(
          causal ? [false, false, false, true, true] : [true, true, true, true, true],
        );
        disposeParams(params);
      }
    }
  });

  it("takes inputs shorter than seqLen (W's leading block): a causal prefix gives the same outputs", () => {
    const params = initGmlp({ ...SMALL, causal: true, tinyAttention: 3, spatialInitScale: 3, seed: 7 });
    const full = gmlpForward(params, tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32"));
    const prefix = gmlpForward(params, tf.tensor2d([[1, 2, 3]], [1, 3], "int32"));
    expect(prefix.shape).toEqual([1, 3, 11]);
    expectClose(vec(prefix), vec(tf.slice(full, [0, 0, 0], [1, 3, 11])), 1e-5);
    expect(() => gmlpForward(params, tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32"))).toThrow(/6 tokens exceed seqLen 5/);
    disposeParams(params);
  });

  it("gives every parameter a non-zero gradient (every gate, with and without tiny attention)", () => {
    for (const gate of GATES) {
      for (const tinyAttention of [0, 3]) {
        const params = initGmlp({ ...SMALL, gate, tinyAttention, seed: 8 });
        const x = tf.tensor2d(
            [
              [1, 4, 2, 8, 0],
              [3, 3, 7, 1, 2],
            ],
            [2, 5],
            "int32",
          ),
          y = tf.tensor2d(
            [
              [4, 2, 8, 0, 3],
              [1, 1, 1, 2, 2],
            ],
            [2, 5],
            "int32",
          );
        const norms = gradientNorms(params, () => crossEntropy(gmlpForward(params, x), y));
        expect(
          [...norms].filter(([, n]) => !(n > 0)).map(([k]) => k),
          `${gate}/${tinyAttention}`,
        ).toEqual([]);
        disposeParams(params);
      }
    }
  });

  it("rejects bad configs, saying why", () => {
    expect(() => gmlpConfig({ gate: "split", dFF: 7 })).toThrow(/dFF must be even/);
    expect(() => gmlpConfig({ gate: "gated" as never })).toThrow(
      /GmlpConfig.gate: expected one of "linear", "additive", "multiplicative", "split"/,
    );
    expect(() => visionConfig({ backbone: "gmlp", patchSize: 5 })).toThrow(/5 must divide imageSize 28/);
    expect(() => visionConfig({ backbone: "transformer", gate: "split" } as never)).toThrow(
      /VisionConfig \(transformer\): unknown field "gate"/,
    );
    expect(() => visionConfig({ backbone: "gmlp", nHeads: 4 } as never)).toThrow(/VisionConfig \(gmlp\): unknown field "nHeads"/);
    expect(() => visionConfig({ backbone: "mlp" } as never)).toThrow(
      /VisionConfig.backbone: expected "gmlp", "transformer" or "linear", got "mlp"/,
    );
    expect(() => visionConfig({ backbone: "transformer", init: "he" } as never)).toThrow(
      /VisionConfig \(transformer\).init: expected one of "xavier", "gpt2"/,
    );
  });

  it("initialises the ViT Glorot-normal with N(0, 1/D) positions by default, GPT-2's 0.02 on request", () => {
    const std = (v: tf.Tensor) => Math.sqrt(vec(v).reduce((s, x) => s + x * x, 0) / v.size);
    const d = 64;
    for (const [init, posStd, qStd] of [
      ["xavier", 1 / Math.sqrt(d), Math.sqrt(2 / (2 * d))],
      ["gpt2", 0.02, 0.02],
    ] as const) {
      const p = initVisionModel({ backbone: "transformer", init, dModel: d, dFF: 4 * d, nLayers: 1, seed: 3 });
      if (!("positionEmbedding" in p)) throw new Error("expected a ViT");
      expect(Math.abs(std(p.positionEmbedding) / posStd - 1), `${init} positions`).toBeLessThan(0.05);
      expect(Math.abs(std(p.blocks[0].attn.wq) / qStd - 1), `${init} W_Q`).toBeLessThan(0.05);
      disposeParams(p);
    }
  });

  it("counts parameters by formula exactly as the built model has them", () => {
    for (const gate of GATES) {
      for (const tinyAttention of [0, 4]) {
        const params = initGmlp({ ...SMALL, gate, tinyAttention });
        expect(gmlpParameterCount(params.config), `${gate}/${tinyAttention}`).toBe(countParameters(params));
        disposeParams(params);
      }
    }
    for (const overrides of [
      { backbone: "gmlp", tinyAttention: 2 },
      { backbone: "transformer", nHeads: 2 },
      { backbone: "linear" },
    ] as const) {
      const params = initVisionModel({ ...overrides, dModel: 8, dFF: 12, nLayers: 2 });
      expect(visionParameterCount(params.config), overrides.backbone).toBe(countParameters(params));
      disposeParams(params);
    }
  });
});

describe("matched arms", () => {
  // The notebook's masked-LM size: SOTU characters (92) + [MASK], 64 tokens, width 64, 4 layers.
  const arms = mlmArms({ vocabSize: 93, seqLen: 64, dModel: 64, nLayers: 4, nHeads: 4, tinyAttention: 16, seed: 1 });
  it(`match the Transformer's parameter count within ${100 * ARM_TOLERANCE}% (pinned)`, () => {
    const counts = Object.fromEntries(MLM_ARMS.map((arm) => [arm, lmParameterCount(arms[arm])]));
    expect(counts).toEqual({
      transformer: 210_112,
      "gmlp-linear": 210_032,
      "gmlp-additive": 210_032,
      "gmlp-multiplicative": 210_032,
      "gmlp-split": 210_080,
      amlp: 209_776,
    });
    for (const arm of MLM_ARMS) expect(Math.abs(counts[arm] / counts.transformer - 1), arm).toBeLessThan(ARM_TOLERANCE);
  });

  it("count what the built models hold", () => {
    for (const arm of MLM_ARMS) {
      const cfg = arms[arm];
      const params = "gate" in cfg ? initGmlp(cfg) : initTransformer(cfg);
      expect(countParameters(params), arm).toBe(lmParameterCount(cfg));
      const model = armLm(cfg); // the same architecture, as a language model for trainLanguageModel
      expect(countParameters(model.params), arm).toBe(lmParameterCount(cfg));
      expect([model.seqLen, model.vocabSize], arm).toEqual([64, 93]);
      disposeParams(params);
      disposeParams(model.params);
    }
  });

  it("ViT and gMLP on 4×4 patches of 28×28 images are matched too (pinned)", () => {
    const { vit, gmlp } = visionArms({ dModel: 64, nLayers: 4, nHeads: 4 });
    expect([visionParameterCount(vit), visionParameterCount(gmlp)]).toEqual([204_938, 205_298]);
    expect(Math.abs(visionParameterCount(gmlp) / visionParameterCount(vit) - 1)).toBeLessThan(ARM_TOLERANCE);
  });
});

describe("vision models", () => {
  it("classify [B, 28, 28] images into [B, 10] logits; every parameter gets a gradient; no tensors leak", () => {
    for (const overrides of [{ backbone: "gmlp" }, { backbone: "transformer", nHeads: 2 }, { backbone: "linear" }] as const) {
      const backbone = overrides.backbone;
      const params = initVisionModel({ ...overrides, dModel: 8, dFF: 12, nLayers: 2, seed: 2 });
      const images = tf.randomUniform([3, 28, 28], 0, 1, "float32", 1),
        labels = tf.tensor1d([1, 7, 3], "int32");
      const before = tf.memory().numTensors;
      const logits = visionForward(params, images);
      expect(logits.shape).toEqual([3, 10]);
      logits.dispose();
      expect(tf.memory().numTensors, backbone).toBe(before);
      const norms = gradientNorms(params, () => crossEntropy(visionForward(params, images), labels));
      expect(
        [...norms].filter(([, n]) => !(n > 0)).map(([k]) => k),
        backbone,
      ).toEqual([]);
      expect(() => visionForward(params, tf.zeros([3, 27, 28]))).toThrow(/images must be \[B, 28, 28\]/);
      tf.dispose([images, labels]);
      if (backbone === "gmlp") {
        const rows = spatialWeightRows(params, 1);
        expect([rows.length, rows[0].length]).toEqual([49, 49]);
        expect(() => spatialWeightRows(params, 2)).toThrow(/layer must be in 0…1, got 2/);
      } else {
        expect(() => spatialWeightRows(params, 0)).toThrow(
          new RegExp(`only a gMLP has spatial weights \\(this model's backbone is ${backbone}\\)`),
        );
      }
      disposeParams(params);
    }
  });
});

describe("images", () => {
  const idx = (dims: number[], values: number[], typeCode = 0x08) => {
    const header = Buffer.alloc(4 + 4 * dims.length);
    header[2] = typeCode;
    header[3] = dims.length;
    dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
    return new Uint8Array(Buffer.concat([header, Buffer.from(values)]));
  };

  it("parses IDX (raw and gzipped) and rejects corrupted files with a clear error", () => {
    const ok = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(ok.dims).toEqual([2, 3]);
    expect(Array.from(ok.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(parseIdx(zlib.gzipSync(idx([2], [9, 8]))).data)).toEqual([9, 8]);
    expect(() => parseIdx(idx([2, 3], [1, 2, 3, 4, 5]), "x.idx")).toThrow(/x.idx: header says 2×3 = 6 values, file holds 5 \(truncated\)/);
    expect(() => parseIdx(idx([2], [1, 2, 3]), "x.idx")).toThrow(/holds 3 \(trailing bytes\)/);
    expect(() => parseIdx(idx([2], [1, 2], 0x0d), "x.idx")).toThrow(/x.idx: bad magic number 0x00000d01/);
    expect(() => parseIdx(new Uint8Array([0, 0]), "x.idx")).toThrow(/too short/);
    const gz = zlib.gzipSync(idx([4], [1, 2, 3, 4]));
    expect(() => parseIdx(gz.subarray(0, gz.length - 6), "x.gz")).toThrow(/x.gz: gzip data is corrupted/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-idx-"));
    fs.writeFileSync(path.join(dir, "bad"), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(() => readIdx(path.join(dir, "bad"))).toThrow(/bad magic number 0x01020304/);
    expect(() => readIdx(path.join(dir, "missing"))).toThrow(/does not exist/);
  });

  it("patchify cuts row by row into p×p patches", () => {
    const img = tf.tensor3d(
      Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 4],
    );
    expect(patchify(img, 2).arraySync()).toEqual([
      [
        [0, 1, 4, 5],
        [2, 3, 6, 7],
        [8, 9, 12, 13],
        [10, 11, 14, 15],
      ],
    ]);
    expect(() => patchify(img, 3)).toThrow(/patch size 3 must divide the image size 4×4/);
  });

  it("loads MNIST and Fashion-MNIST: 60,000 + 10,000 images of 28×28, labels 0–9 balanced", () => {
    for (const name of ["mnist", "fashion-mnist"] as const) {
      const data = loadImageDataset(name);
      expect([data.train.count, data.test.count, data.train.rows, data.train.cols], name).toEqual([60000, 10000, 28, 28]);
      const counts = new Array(10).fill(0);
      for (const l of data.train.labels) counts[l]++;
      expect(Math.min(...counts), name).toBeGreaterThan(5000);
      expect(counts.reduce((s, c) => s + c, 0)).toBe(60000);
    }
    expect(() => loadImageDataset("cifar" as never)).toThrow(/unknown dataset "cifar"/);
  });

  // 5 images of 3×3: image n has pixel i = 10·n + i, label n
  const tiny = (): ImageSet => ({
    images: Uint8Array.from({ length: 45 }, (_, k) => 10 * Math.floor(k / 9) + (k % 9)),
    labels: Uint8Array.from([0, 1, 2, 3, 4]),
    count: 5,
    rows: 3,
    cols: 3,
  });

  it("holdOut splits off the last images as views; permutePixels moves every image's pixels the same way", () => {
    const { rest, heldOut } = holdOut(tiny(), 2);
    expect([rest.count, heldOut.count, [...rest.labels], [...heldOut.labels]]).toEqual([3, 2, [0, 1, 2], [3, 4]]);
    expect([...heldOut.images.subarray(0, 3)]).toEqual([30, 31, 32]);
    expect(() => holdOut(tiny(), 5)).toThrow(/count must be an integer in 1…4, got 5/);
    const { set, permutation } = permutePixels(tiny(), 3);
    expect([...permutation].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...permutation]).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (let n = 0; n < 5; n++) for (let i = 0; i < 9; i++) expect(set.images[9 * n + i]).toBe(10 * n + permutation[i]);
    expect([...set.labels]).toEqual([0, 1, 2, 3, 4]);
    expect([...permutePixels(tiny(), 3).permutation]).toEqual([...permutation]);
  });

  it("imageBatcher's maxShift translates each image by whole pixels, filling with 0; 0 leaves them alone", () => {
    const one: ImageSet = {
      images: Uint8Array.from([0, 0, 0, 0, 255, 0, 0, 0, 0]),
      labels: Uint8Array.from([7]),
      count: 1,
      rows: 3,
      cols: 3,
    };
    const seen = new Set<string>();
    const batcher = imageBatcher(one, { batchSize: 16, seed: 1, maxShift: 1 });
    for (let k = 0; k < 4; k++) {
      const b = batcher.next();
      const px = b.images.arraySync() as number[][][];
      for (const img of px) {
        const flat = img.flat();
        expect(flat.filter((v) => v === 1).length).toBe(1); // the bright pixel moved, nothing else appeared
        expect(flat.filter((v) => v !== 0 && v !== 1)).toEqual([]);
        seen.add(String(flat.indexOf(1)));
      }
      tf.dispose([b.images, b.labels]);
    }
    expect(seen.size).toBe(9); // every shift in [−1, 1]² occurs
    const still = imageBatcher(one, { batchSize: 2, seed: 1 }).next();
    expect((still.images.arraySync() as number[][][])[0].flat()).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    tf.dispose([still.images, still.labels]);
    expect(() => imageBatcher(one, { batchSize: 2, maxShift: 3 })).toThrow(/maxShift must be an integer in 0…2, got 3/);
  });

  it("trainImageClassifier checks its options like configs before loading anything (issue 24, item 9)", () => {
    const set = {} as ImageSet; // never read: the options fail first
    const good = {
      config: { backbone: "linear" as const, seed: 1 },
      data: { train: set, valid: set },
      steps: 1,
      lr: 1e-2,
      batchSize: 32,
      dataSeed: 1,
      evalEvery: 1,
      evalExamples: 10,
    };
    expect(() => trainImageClassifier({ ...good, batchSize: 0 })).toThrow("trainImageClassifier.batchSize: expected an integer ≥ 1, got 0");
    expect(() => trainImageClassifier({ ...good, budgetSeconds: -5 })).toThrow(
      "trainImageClassifier.budgetSeconds: expected a number > 0, got -5",
    );
    expect(() => trainImageClassifier({ ...good, maxShift: 1.5 })).toThrow(
      "trainImageClassifier.maxShift: expected an integer ≥ 0, got 1.5",
    );
    expect(() => trainImageClassifier({ ...good, evalExample: 10 } as never)).toThrow(
      /trainImageClassifier: unknown field "evalExample" \(did you mean "evalExamples"\?\)/,
    );
  });

  it("trainImageClassifier scores validation while training and the test set at the end; the linear baseline learns", () => {
    const data = loadImageDataset("mnist");
    const { rest, heldOut } = holdOut(data.train, 500);
    const before = tf.memory().numTensors;
    const run = trainImageClassifier({
      config: { backbone: "linear", seed: 1 },
      data: { train: rest, valid: heldOut, test: { ...data.test, count: 500 } },
      steps: 60,
      lr: 1e-2,
      batchSize: 32,
      dataSeed: 1,
      evalEvery: 30,
      evalExamples: 250,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(run.evalSteps).toEqual([0, 30, 60]);
    expect(run.valid.accuracy).toBeGreaterThan(0.6); // a linear classifier on MNIST, 60 steps
    expect(run.test!.accuracy).toBeGreaterThan(0.6);
    expect(run.evalAccuracies[0]).toBeLessThan(0.3);
  });
});

describe("masked-LM training", () => {
  it("evaluation batches are fixed; a gMLP masked LM trains (loss falls) with no tensor leak", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => (i * 7 + (i % 5)) % 10);
    const opts = { batchSize: 4, seqLen: 8, maskId: 10, vocabSize: 10, maxBatches: 2, seed: 3 };
    const [a, b] = [mlmEvalBatches(ids, opts), mlmEvalBatches(ids, opts)];
    expect(vec(a[1].inputs)).toEqual(vec(b[1].inputs));
    expect(vec(a[1].weights)).toEqual(vec(b[1].weights));
    tf.dispose([...a, ...b].flatMap((x) => [x.inputs, x.targets, x.weights]));
    const before = tf.memory().numTensors;
    const model = gmlpLm({ vocabSize: 11, seqLen: 8, dModel: 16, dFF: 32, nLayers: 1, seed: 1 });
    const run = trainLanguageModel({
      model,
      objective: "masked",
      trainIds: ids,
      validIds: ids,
      steps: 150,
      lr: 1e-2,
      batchSize: 8,
      dataSeed: 1,
      evalEvery: 30,
      evalBatches: 2,
      testIds: ids.slice(0, 2000),
    });
    disposeParams(model.params);
    expect(tf.memory().numTensors).toBe(before);
    expect(run.finalValLoss).toBeLessThan(run.valLosses[0] - 0.5);
    // scored once at the end, on other windows and masks of (here) the same text: close to validation
    expect(Math.abs(run.testLoss - run.finalValLoss)).toBeLessThan(0.3);
  });
});

describe("spatial metrics of a token-mixing matrix on a patch grid", () => {
  const g = 5,
    n = g * g;
  const pos = (i: number) => [Math.floor(i / g), i % g];
  const build = (f: (dr: number, dc: number, i: number, j: number) => number) =>
    Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => f(pos(j)[0] - pos(i)[0], pos(j)[1] - pos(i)[1], i, j)));

  it("a convolution is exactly shift-invariant; unstructured noise is not", () => {
    const kernel = (dr: number, dc: number) => Math.cos(dr) + 0.3 * dc; // any function of the offset
    expect(shiftInvariance(build(kernel))).toBeCloseTo(1, 10);
    const rng = createRng(3);
    const noise = build(() => rng.normal());
    // Unstructured: R² ≈ (offsets − 1)/(entries − 1) = 80/624 ≈ 0.13 for a 5×5 grid.
    expect(shiftInvariance(noise)).toBeLessThan(0.3);
  });

  it("locality: uniform weights give ratio 1, nearest-neighbour weights about 1/3 of the mean distance", () => {
    const uniform = spatialLocality(build(() => 1));
    expect(uniform.ratio).toBeCloseTo(1, 12);
    // Mean distance between cells of a 5×5 grid, by hand: Σ over ordered pairs / 625.
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += Math.hypot(pos(i)[0] - pos(j)[0], pos(i)[1] - pos(j)[1]);
    expect(uniform.uniformDistance).toBeCloseTo(s / (n * n), 12);
    const neighbours = spatialLocality(build((dr, dc) => (Math.abs(dr) + Math.abs(dc) === 1 ? -2 : 0)));
    expect(neighbours.weightedDistance).toBeCloseTo(1, 12); // every weight is at distance 1 (sign ignored)
    expect(neighbours.ratio).toBeLessThan(0.5);
    expect(() =>
      spatialLocality([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    ).toThrow(/W must be \[g², g²\]/);
  });

  it("tileMosaic lays tiles out with NaN gaps", () => {
    const m = tileMosaic([[[1, 2]], [[3, 4]], [[5, 6]]], 2);
    expect(m).toEqual([
      [1, 2, NaN, 3, 4],
      [NaN, NaN, NaN, NaN, NaN],
      [5, 6, NaN, NaN, NaN],
    ]);
  });
});
