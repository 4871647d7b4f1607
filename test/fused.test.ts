/**
 * The fused kernels (engine/fused.ts, simd/fused.as.ts) against the same computation composed
 * from tf ops on the pure-JS cpu backend: values and gradients to every input within 1e-5 (relative
 * to the magnitude for sums over many rows), at odd widths (scalar tails), at sizes that split over
 * the threads, and with no tensors left behind. Each also checks that the fused kernel is the one
 * that ran on wasm.
 */
import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { createRng, normalArray } from "../lib/engine/rng";
import { initRnnLm, rnnLmLogits } from "../lib/models/lstm";
import { layerNorm, partialRmsNorm, rmsNorm } from "../lib/models/norms";
import { attentionProbs } from "../lib/models/ops";
import { namedVariables } from "../lib/models/params";
import { crossEntropy } from "../lib/models/loss";
import { Adam } from "../lib/train/optimizer";
import { maxAbsDifference } from "../lib/metrics/stats";
import { onBackend } from "./helpers";

const rng = createRng(7);
const randn = (n: number, scale = 1, shift = 0) => Array.from(normalArray(rng, n), (v) => shift + scale * v);
const count = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** |got − want| ≤ tol·max(1, |want|) elementwise. */
function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(worst, `${what}: worst scaled difference ${worst}`).toBeLessThanOrEqual(tol);
}

/** Runs f on cpu (composed ops) and on wasm (fused kernels); compares every output. */
async function compare(f: () => tf.Tensor[], names: string[], tol = 1e-5): Promise<void> {
  const want = await onBackend("cpu", f);
  const got = await onBackend("wasm", f);
  names.forEach((name, i) => {
    expect(got[i].shape, name).toEqual(want[i].shape);
    expectNear(got[i].values, want[i].values, tol, name);
  });
}

/**
 * Kernel names that ran for f on wasm, and what it left behind: tensors, and data buffers in the
 * backend (which would also catch a kernel's scratch that is never freed). f's inputs are made
 * by `inputs` before the count and disposed after.
 */
async function kernelsOnWasm(
  inputs: () => tf.Tensor[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<{ names: string[]; leaked: number; leakedBuffers: number }> {
  await ready({ backend: "wasm", quiet: true });
  const xs = inputs();
  const tensors = tf.memory().numTensors,
    buffers = tf.engine().backend.numDataIds();
  const profile = await tf.profile(() => {
    const out = f(...xs);
    tf.dispose(out);
  });
  const leaked = tf.memory().numTensors - tensors,
    leakedBuffers = tf.engine().backend.numDataIds() - buffers;
  tf.dispose(xs);
  return { names: profile.kernels.map((k) => k.name), leaked, leakedBuffers };
}

describe("fused LayerNorm / RMSNorm / pRMSNorm equal the composed ops on cpu", () => {
  // [rows, d]: odd width (tails), a width of 128, and one large enough to split over the threads.
  for (const [rows, d] of [
    [5, 13],
    [7, 128],
    [600, 128],
  ]) {
    const x = randn(rows * d, 2, 3); // off-centre: a mean to remove
    const gain = randn(d, 0.5, 1);
    const bias = randn(d);
    const w = randn(rows * d);
    for (const kind of ["layer", "rms", "prms"] as const) {
      it(`${kind} [${rows}, ${d}]: values and gradients to x, gain${kind === "layer" ? ", bias" : ""}`, async () => {
        const norm = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          kind === "layer" ? layerNorm(xt, g, b) : kind === "rms" ? rmsNorm(xt, g) : partialRmsNorm(xt, g, 0.3);
        const f = () => {
          const xt = tf.tensor(x, [rows, d]),
            g = tf.tensor(gain),
            b = tf.tensor(bias);
          const loss = (xa: tf.Tensor, ga: tf.Tensor, ba: tf.Tensor) => tf.sum(tf.mul(norm(xa, ga, ba), tf.tensor(w, [rows, d])));
          const grads =
            kind === "layer" ? tf.grads(loss)([xt, g, b]) : tf.grads((xa: tf.Tensor, ga: tf.Tensor) => loss(xa, ga, b))([xt, g]);
          return [norm(xt, g, b), ...grads];
        };
        await compare(f, kind === "layer" ? ["y", "dx", "dgain", "dbias"] : ["y", "dx", "dgain"]);
        const { names, leaked, leakedBuffers } = await kernelsOnWasm(
          () => [tf.tensor(x, [rows, d]), tf.tensor(gain), tf.tensor(bias)],
          (xt, g, b) => tf.grads((a: tf.Tensor, ga: tf.Tensor) => tf.sum(norm(a, ga, b)))([xt, g]),
        );
        expect(names).toContain("TransformerAnatomyNorm");
        expect(names).toContain("TransformerAnatomyNormGrad");
        expect([leaked, leakedBuffers]).toEqual([0, 0]);
      });
    }
  }

  it("LayerNorm of a constant row is the bias (variance 0: ε keeps it finite)", async () => {
    const bias = randn(8);
    const [got] = await onBackend("wasm", () => layerNorm(tf.fill([2, 8], 5), tf.ones([8]), tf.tensor(bias)));
    const [want] = await onBackend("cpu", () => layerNorm(tf.fill([2, 8], 5), tf.ones([8]), tf.tensor(bias)));
    expect(got.values.every(Number.isFinite)).toBe(true);
    expect(maxAbsDifference(got.values, want.values)).toBeLessThan(1e-5);
  });
});

describe("fused softmax with the causal mask equals the composed ops on cpu", () => {
  for (const [shape, causal] of [
    [[2, 3, 5, 5], true],
    [[2, 3, 5, 7], false],
    [[16, 4, 64, 64], true], // splits over the threads
    [[3, 1, 9, 9], false],
  ] as [number[], boolean][]) {
    it(`[${shape}] ${causal ? "causal" : "unmasked"}: probabilities and the gradient to Q and K`, async () => {
      const [b, h, tq, tk] = shape;
      const width = 6;
      const q = randn(b * h * tq * width, 2),
        k = randn(b * h * tk * width, 2),
        w = randn(count(shape));
      const f = () => {
        const qt = tf.tensor(q, [b, h, tq, width]),
          kt = tf.tensor(k, [b, h, tk, width]);
        const loss = (qa: tf.Tensor, ka: tf.Tensor) => tf.sum(tf.mul(attentionProbs(qa, ka, { causal }), tf.tensor(w, shape)));
        return [attentionProbs(qt, kt, { causal }), ...tf.grads(loss)([qt, kt])];
      };
      await compare(f, ["probs", "dq", "dk"]);
      if (causal) {
        const [probs] = await onBackend("wasm", () =>
          attentionProbs(tf.tensor(q, [b, h, tq, width]), tf.tensor(k, [b, h, tk, width]), { causal }),
        );
        for (let r = 0; r < count(shape) / tk; r++) {
          for (let j = (r % tq) + 1; j < tk; j++) expect(probs.values[r * tk + j]).toBe(0); // the future gets exactly 0
        }
      }
      const { names, leaked, leakedBuffers } = await kernelsOnWasm(
        () => [tf.tensor(q, [b, h, tq, width]), tf.tensor(k, [b, h, tk, width]), tf.tensor(w, shape)],
        (qt, kt, wt) => tf.grads((qa: tf.Tensor) => tf.sum(tf.mul(attentionProbs(qa, kt, { causal }), wt)))([qt]),
      );
      expect(names).toContain("TransformerAnatomySoftmax");
      expect(names).toContain("TransformerAnatomySoftmaxGrad");
      expect([leaked, leakedBuffers]).toEqual([0, 0]);
    });
  }
});

describe("fused Adam equals the composed update on cpu", () => {
  for (const [size, weightDecay] of [
    [1001, 0], // odd: the tail lanes
    [70_000, 0.1], // splits over the threads; AdamW
  ]) {
    it(`${size} elements, λ = ${weightDecay}: three updates with a per-variable scale`, async () => {
      const w0 = randn(size),
        grads = [randn(size), randn(size, 3), randn(size, 0.01)];
      const f = () => {
        const vars = new Map([["w", tf.variable(tf.tensor(w0))]]);
        const adam = new Adam(vars, { weightDecay });
        for (const g of grads) adam.apply(new Map([["w", tf.tensor(g)]]), 3e-3, () => 0.5);
        const out = [vars.get("w")!.clone()];
        adam.dispose();
        vars.get("w")!.dispose();
        return out;
      };
      await compare(f, ["w after 3 steps"]);
      await ready({ backend: "wasm", quiet: true });
      const vars = new Map([["w", tf.variable(tf.tensor(w0))]]);
      const adam = new Adam(vars, { weightDecay });
      adam.apply(new Map([["w", tf.tensor(grads[0])]]), 3e-3); // first step creates the moments
      const before = tf.memory().numTensors;
      const g = tf.tensor(grads[1]);
      const profile = await tf.profile(() => adam.apply(new Map([["w", g]]), 3e-3));
      g.dispose();
      expect(profile.kernels.map((k) => k.name)).toEqual(["TransformerAnatomyAdam"]);
      expect(tf.memory().numTensors).toBe(before);
      adam.dispose();
      vars.get("w")!.dispose();
    });
  }
});

describe("fused LSTM layer equals the composed cell loop on cpu", () => {
  for (const dropout of [0, 0.3]) {
    it(`2 layers, T = 9, B = 3, dropout ${dropout}: logits and the gradient to every parameter`, async () => {
      const tokens = Array.from({ length: 27 }, (_, i) => (i * 7 + 3) % 11);
      const targets = Array.from({ length: 27 }, (_, i) => (i * 5 + 1) % 11);
      const f = () => {
        const params = initRnnLm({ vocabSize: 11, embedDim: 12, hiddenDim: 20, nLayers: 2, dropout, seed: 3 });
        const vars = namedVariables(params);
        const x = tf.tensor2d(tokens, [3, 9], "int32");
        const loss = () => crossEntropy(rnnLmLogits(params, x, { rng: createRng(5) }), tf.tensor2d(targets, [3, 9], "int32")) as tf.Scalar;
        const { value, grads } = tf.variableGrads(loss, [...vars.values()]);
        const out = [rnnLmLogits(params, x, { rng: createRng(5) }), value, ...[...vars.keys()].map((name) => grads[vars.get(name)!.name])];
        for (const v of vars.values()) v.dispose();
        return out;
      };
      await ready({ backend: "cpu", quiet: true });
      const names = [...namedVariables(initRnnLm({ vocabSize: 11, embedDim: 12, hiddenDim: 20, nLayers: 2, dropout, seed: 3 })).keys()];
      await compare(f, ["logits", "loss", ...names.map((n) => `d ${n}`)]);
    });
  }

  it("runs as one kernel per layer each way, with no tensors left behind", async () => {
    const params = await (async () => {
      await ready({ backend: "wasm", quiet: true });
      return initRnnLm({ vocabSize: 11, embedDim: 12, hiddenDim: 20, nLayers: 2, dropout: 0, seed: 3 });
    })();
    const vars = namedVariables(params);
    const { names, leaked, leakedBuffers } = await kernelsOnWasm(
      () => [
        tf.tensor2d(
          Array.from({ length: 27 }, (_, i) => i % 11),
          [3, 9],
          "int32",
        ),
      ],
      (x) => {
        const { grads, value } = tf.variableGrads(() => tf.mean(rnnLmLogits(params, x)) as tf.Scalar, [...vars.values()]);
        return [value, ...Object.values(grads)];
      },
    );
    expect(names.filter((n) => n === "TransformerAnatomyLstm")).toHaveLength(2);
    expect(names.filter((n) => n === "TransformerAnatomyLstmGrad")).toHaveLength(2);
    expect([leaked, leakedBuffers]).toEqual([0, 0]);
    for (const v of vars.values()) v.dispose();
  });
});

describe("fused cross-entropy equals the composed log-softmax and one-hot mask on cpu", () => {
  for (const [n, v, weighted] of [
    [7, 13, false],
    [7, 13, true],
    [1280, 257, false], // splits over the threads; odd vocabulary (scalar tail)
  ] as [number, number, boolean][]) {
    it(`[${n}, ${v}]${weighted ? " weighted" : ""}: loss and the gradient to the logits`, async () => {
      const logits = randn(n * v, 3);
      const targets = Array.from({ length: n }, (_, i) => (i * 31 + 5) % v);
      const weights = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
      const f = () => {
        const x = tf.tensor(logits, [n, v]);
        const t = tf.tensor1d(targets, "int32");
        const loss = (xa: tf.Tensor) => crossEntropy(xa, t, weighted ? tf.tensor1d(weights) : undefined);
        return [loss(x), tf.grad(loss)(x)];
      };
      await compare(f, ["loss", "dlogits"]);
      const { names, leaked, leakedBuffers } = await kernelsOnWasm(
        () => [tf.tensor(logits, [n, v]), tf.tensor1d(targets, "int32")],
        (x, t) => tf.grad((xa: tf.Tensor) => crossEntropy(xa, t))(x),
      );
      expect(names).toContain("TransformerAnatomyCrossEntropy");
      expect(names).toContain("TransformerAnatomyCrossEntropyGrad");
      expect([leaked, leakedBuffers]).toEqual([0, 0]);
    });
  }

  it("a target outside the vocabulary is an error naming it, on both paths", async () => {
    for (const backend of ["cpu", "wasm"] as const) {
      await ready({ backend, quiet: true });
      const x = tf.zeros([3, 5]),
        t = tf.tensor1d([0, 5, 1], "int32");
      expect(() => crossEntropy(x, t), backend).toThrow(/target 5 at position 1 is outside the vocabulary \[0, 5\)/);
      tf.dispose([x, t]);
    }
  });

  it("issue 24's case (target 25 of 20 classes, which a one-hot mask scores −0), negatives, fractions and NaN are errors; in-range ids score ln 20", async () => {
    for (const backend of ["cpu", "wasm"] as const) {
      await ready({ backend, quiet: true });
      const x = tf.zeros([2, 20]);
      const ints = tf.tensor1d([3, 19], "int32"),
        floats = tf.tensor1d([3, 19]),
        wrongWeights = tf.ones([3]);
      const bad: [tf.Tensor, string][] = [
        [tf.tensor1d([3, 25], "int32"), "crossEntropy: target 25 at position 1 is outside the vocabulary [0, 20)"],
        [tf.tensor1d([-1, 0], "int32"), "crossEntropy: target -1 at position 0 is outside the vocabulary [0, 20)"],
        [tf.tensor1d([25, 0]), "crossEntropy: target 25 at position 0 is outside the vocabulary [0, 20)"],
        [tf.tensor1d([2.5, 0]), "crossEntropy: target 2.5 at position 0 is not a class id (an integer in [0, 20))"],
        [tf.tensor1d([0, Number.NaN]), "crossEntropy: target NaN at position 1 is not a class id (an integer in [0, 20))"],
      ];
      const tensors = tf.memory().numTensors;
      for (const [t, message] of bad) expect(() => crossEntropy(x, t), `${backend}: ${message}`).toThrow(message);
      expect(() => crossEntropy(x, [3, 19] as never)).toThrow(/targets must be an int32 tensor of class ids/);
      expect(() => crossEntropy(x, ints, wrongWeights)).toThrow(
        "crossEntropy: weights must be a tensor shaped like the targets [2], got [3]",
      );
      expect(tf.memory().numTensors, `${backend}: nothing left behind`).toBe(tensors);
      // uniform logits over 20 classes: −log(1/20) = ln 20 = 2.9957323, for int and whole-float targets alike
      for (const t of [ints, floats]) {
        const loss = crossEntropy(x, t);
        expect(loss.dataSync()[0], backend).toBeCloseTo(Math.log(20), 6);
        loss.dispose();
      }
      // also where training calls it: inside the gradient tape (tfjs itself leaves the tape's tensors when f throws)
      const v = tf.variable(tf.zeros([2, 20]));
      for (const [t, message] of bad) expect(() => tf.variableGrads(() => crossEntropy(tf.add(v, x), t), [v]), backend).toThrow(message);
      tf.dispose([x, v, ints, floats, wrongWeights, ...bad.map(([t]) => t)]);
    }
  });
});
