/** Schedules against their formulas, Adam against a hand step, and the training loop's options. */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { Adam } from "../lib/train/optimizer";
import { constantLR, linearWarmup, slantedTriangularLR, warmupCosine } from "../lib/train/schedules";
import { checkpoints, train } from "../lib/train/trainer";
import { disposeParams, variableFrom } from "../lib/models/params";
import { transformerConfig, transformerLm } from "../lib/models/transformer";
import { trainLanguageModel } from "../lib/train/lm";
import { evaluateSentences } from "../lib/train/evaluate";
import type { EncodedSentences } from "../lib/data/batches";
import { type ImageSet, imageEvalBatches } from "../lib/data/images";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("schedules", () => {
  it("linear warmup rises to lr over the warmup steps, then stays", () => {
    const s = linearWarmup(1e-3, 4);
    expect([0, 1, 3, 4, 100].map(s)).toEqual([2.5e-4, 5e-4, 1e-3, 1e-3, 1e-3]);
    expect(constantLR(0.1)(7)).toBe(0.1);
  });

  it("warmup + cosine decays to minLr at the last step", () => {
    const s = warmupCosine(1, 10, 110, 0.1);
    expect(s(9)).toBeCloseTo(1, 12);
    expect(s(60)).toBeCloseTo(0.55, 12);
    expect(s(110)).toBeCloseTo(0.1, 12);
  });

  it("slanted triangular: lrMax/ratio at the start and end, lrMax at the cut (ULMFiT eq. 3)", () => {
    const o = { totalSteps: 1000, cutFrac: 0.1, ratio: 32, lrMax: 0.01 };
    expect(slantedTriangularLR(0, o)).toBeCloseTo(0.01 / 32, 12);
    expect(slantedTriangularLR(100, o)).toBeCloseTo(0.01, 12);
    expect(slantedTriangularLR(50, o)).toBeCloseTo((0.01 * (1 + 0.5 * 31)) / 32, 12);
    // after the cut: p = 1 − (t − cut)/(cut·(1/cut_frac − 1)) = 1 − 450/900 at t = 550
    expect(slantedTriangularLR(550, o)).toBeCloseTo((0.01 * (1 + 0.5 * 31)) / 32, 12);
    expect(slantedTriangularLR(1000, o)).toBeCloseTo(0.01 / 32, 12);
    expect(() => slantedTriangularLR(0, { ...o, cutFrac: 1 })).toThrow(/cutFrac/);
  });
});

describe("Adam", () => {
  it("takes the hand-computed first step; AdamW adds decoupled decay", () => {
    // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr·sign(g).
    const w = variableFrom(() => tf.tensor1d([1, -2]));
    const adam = new Adam(new Map([["w", w]]), { eps: 1e-8 });
    adam.apply(new Map([["w", tf.tensor1d([0.5, -3])]]), 0.1);
    expect(Array.from(w.dataSync())).toEqual([expect.closeTo(0.9, 6), expect.closeTo(-1.9, 6)]);
    const w2 = variableFrom(() => tf.tensor1d([1]));
    new Adam(new Map([["w", w2]]), { weightDecay: 0.5 }).apply(new Map([["w", tf.tensor1d([0.5])]]), 0.1);
    expect(w2.dataSync()[0]).toBeCloseTo(1 - 0.1 * (1 + 0.5 * 1), 6);
  });

  it("rejects bad hyperparameters by name", () => {
    expect(() => new Adam(new Map(), { beta1: 1.5 })).toThrow(/AdamConfig.beta1: expected a number ≥ 0 and ≤ 1, got 1.5/);
  });
});

describe("train", () => {
  const setup = () => {
    const params = { a: variableFrom(() => tf.tensor1d([3, -1])), b: variableFrom(() => tf.tensor1d([2])) };
    const loss = () => tf.add(tf.sum(tf.square(params.a)), tf.sum(tf.square(params.b))) as tf.Scalar;
    return { params, loss };
  };

  it("minimises, records losses/lrs/grad norms, and leaves frozen variables untouched", () => {
    const { params, loss } = setup();
    const r = train({ params, loss, steps: 50, lr: 0.1, trainable: (n) => n !== "b", recordGradNorm: true });
    expect(r.losses[49]).toBeLessThan(r.losses[0]);
    expect(r.lrs.length).toBe(50);
    expect(r.gradNorms[0]).toBeCloseTo(Math.sqrt(36 + 4), 5); // ∂/∂a of Σa² = 2a; b is frozen
    expect(params.b.dataSync()[0]).toBe(2);
  });

  it("reports progress to the sink it is given, every step and once at the end (with the reason for an early stop)", () => {
    const { params, loss } = setup();
    const seen: string[] = [];
    const sink = {
      update: (done: number, total: number, m: Record<string, number>) => seen.push(`${done}/${total} ${m.loss.toFixed(2)}`),
      done: (note?: string) => seen.push(`done ${note ?? ""}`),
    };
    train({ params, loss, steps: 2, lr: 0.1, progress: sink });
    expect(seen.length).toBe(3);
    expect(seen[0]).toBe("1/2 14.00"); // the loss before the first update: 3² + 1² + 2²
    expect(seen[1]).toMatch(/^2\/2 \d+\.\d\d$/);
    expect(seen[2]).toBe("done ");
    seen.length = 0;
    train({ params, loss, steps: 5, lr: 0.1, progress: sink, callbacks: [{ onStep: ({ step }) => (step === 1 ? "stop" : undefined) }] });
    expect(seen.slice(-1)).toEqual(["done stopped by a callback"]);
    expect(seen.length).toBe(3);
    expect(() => train({ params, loss, steps: 1, lr: 0.1, progress: false as never })).toThrow(
      /train.progress: expected a progress sink \(in a notebook, ta.progressBar\(label\)\), got false/,
    );
    expect(() => train({ params, loss, steps: 1, lr: 0.1, progress: {} as never })).toThrow(
      /progress must be a sink with update\(\) and done\(\)/,
    );
  });

  it("scales learning rates per variable (0 freezes)", () => {
    const { params, loss } = setup();
    train({ params, loss, steps: 1, lr: 0.1, lrScale: (n) => (n === "a" ? 1 : 0) });
    expect(params.b.dataSync()[0]).toBe(2);
    expect(params.a.dataSync()[0]).toBeCloseTo(2.9, 5);
  });

  it("clips the global gradient norm before the update", () => {
    const { params, loss } = setup();
    const seen: number[] = [];
    class Recording extends Adam {
      override apply(grads: Map<string, tf.Tensor>, lr: number, scale?: (name: string) => number): void {
        seen.push(Math.sqrt([...grads.values()].reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0)));
        super.apply(grads, lr, scale);
      }
    }
    const adam = new Recording(
      new Map([
        ["a", params.a],
        ["b", params.b],
      ]),
    );
    const r = train({ params, loss, steps: 1, lr: 0.1, clipNorm: 1, adam });
    expect(r.gradNorms[0]).toBeCloseTo(Math.sqrt(36 + 4 + 16), 4); // before clipping: ‖(6, −2, 4)‖
    expect(seen[0]).toBeCloseTo(1, 4); // what the optimizer received
  });

  it("stops on a time budget, on a non-finite loss, and on a callback, saying why", () => {
    const { params, loss } = setup();
    const slow = () => {
      const until = performance.now() + 5;
      while (performance.now() < until) {
        /* spin */
      }
      return loss();
    };
    const r1 = train({ params, loss: slow, steps: 1000, lr: 0.01, budgetSeconds: 0.05 });
    expect(r1.stoppedEarly).toBe(true);
    expect(r1.stopReason).toMatch(/time budget of 0.05 s reached after \d+ steps/);
    const r2 = train({ params, loss: () => tf.mul(loss(), NaN) as tf.Scalar, steps: 10, lr: 0.01 });
    expect(r2.steps).toBe(0);
    expect(r2.stopReason).toBe("loss became NaN at step 0; that step was not applied");
    expect(Array.from(params.a.dataSync()).every(Number.isFinite)).toBe(true);
    const r3 = train({ params, loss, steps: 10, lr: 0.01, callbacks: [{ onStep: ({ step }) => (step === 2 ? "stop" : undefined) }] });
    expect([r3.steps, r3.stopReason]).toEqual([3, "stopped by a callback"]);
  });

  it("evaluates every N steps and keeps in-memory checkpoints", () => {
    const { params, loss } = setup();
    const store: { step: number; values: Map<string, Float32Array> }[] = [];
    const r = train({
      params,
      loss,
      steps: 6,
      lr: 0.1,
      evaluate: () => ({ a0: params.a.dataSync()[0] }),
      evalEvery: 3,
      callbacks: [checkpoints(params, 2, store)],
    });
    expect(r.evals.map((e) => e.step)).toEqual([3, 6]);
    expect(store.map((c) => c.step)).toEqual([2, 4, 6]);
    expect(store[2].values.get("a")![0]).toBeCloseTo(r.evals[1].metrics.a0, 6);
  });

  it("rejects bad options", () => {
    const { params, loss } = setup();
    expect(() => train({ params, loss, steps: -1, lr: 0.1 })).toThrow(/train.steps: expected an integer ≥ 0, got -1/);
    expect(() => train({ params, loss, steps: 1, lr: 0.1, clipNorm: 0 })).toThrow(/train.clipNorm: expected a number > 0, got 0/);
    expect(() => train({ params, loss, steps: 1, lr: 0.1, trainable: () => false })).toThrow(/no trainable variables/);
  });
});

describe("the learning rate is checked before the update (issue 24, item 8)", () => {
  // loss = w₁² + w₂² from w = (1, 2): gradients 2w. Adam, lr 0.1, β (0.9, 0.999), ε 1e-8, by hand:
  //   step 0: m̂ = g, v̂ = g² → w ← w − 0.1·sign(g) = (0.9, 1.9)
  //   step 1: g = (1.8, 3.8); m = 0.9·(0.2, 0.4) + 0.1·g = (0.36, 0.74);
  //           v = 0.999·(0.004, 0.016) + 0.001·g² = (0.007236, 0.030424);
  //           m̂ = m/0.19, v̂ = v/0.001999 → m̂/√v̂ = (0.9958770, 0.9983352) → w = (0.8004123, 1.8001665)
  const quadratic = () => {
    const params = { w: variableFrom(() => tf.tensor1d([1, 2])) };
    return { params, loss: () => tf.sum(tf.square(params.w)) as tf.Scalar };
  };

  it("a schedule giving NaN at step 2 stops before that update: the weights are those after step 1, the error names step and rate", () => {
    const { params, loss } = quadratic();
    const tensors = tf.memory().numTensors;
    const seen: string[] = [];
    const sink = { update: () => undefined, done: (note?: string) => seen.push(note ?? "") };
    expect(() => train({ params, loss, steps: 5, lr: (s) => (s < 2 ? 0.1 : Number.NaN), progress: sink })).toThrow(
      "train: the learning rate at step 2 is NaN (from the lr schedule); it must be a finite number ≥ 0. No update was applied at step 2: the weights are those after step 1",
    );
    const w = Array.from(params.w.dataSync());
    expect(w[0]).toBeCloseTo(0.8004123, 6);
    expect(w[1]).toBeCloseTo(1.8001665, 6);
    expect(seen).toEqual(["stopped at step 2: bad learning rate"]);
    expect(tf.memory().numTensors).toBe(tensors); // the run's own Adam moments were freed
    params.w.dispose();
  });

  it("a negative or infinite rate from a schedule at step 0 leaves the initial weights; a bad number is refused before any step", () => {
    for (const [rate, shown] of [
      [-0.1, "-0.1"],
      [Number.POSITIVE_INFINITY, "Infinity"],
    ] as const) {
      const { params, loss } = quadratic();
      expect(() => train({ params, loss, steps: 3, lr: () => rate })).toThrow(
        `the learning rate at step 0 is ${shown} (from the lr schedule); it must be a finite number ≥ 0. No update was applied at step 0: the weights are the initial ones`,
      );
      expect(Array.from(params.w.dataSync())).toEqual([1, 2]);
      params.w.dispose();
    }
    const { params, loss } = quadratic();
    for (const [lr, shown] of [
      [Number.NaN, "NaN"],
      [-1, "-1"],
      [Number.POSITIVE_INFINITY, "Infinity"],
    ] as const) {
      expect(() => train({ params, loss, steps: 3, lr })).toThrow(
        `train.lr: expected a number ≥ 0 or a function (step) => learning rate, got ${shown}`,
      );
    }
    expect(Array.from(params.w.dataSync())).toEqual([1, 2]);
    params.w.dispose();
  });

  it("Adam.apply refuses a bad rate or scale before touching any weight or its step count", () => {
    const a = variableFrom(() => tf.tensor1d([1, -2]));
    const b = variableFrom(() => tf.tensor1d([3]));
    const adam = new Adam(
      new Map([
        ["a", a],
        ["b", b],
      ]),
    );
    const grads = new Map([
      ["a", tf.tensor1d([0.5, -3])],
      ["b", tf.tensor1d([1])],
    ]);
    expect(() => adam.apply(grads, Number.NaN)).toThrow(
      "Adam.apply: the learning rate must be a finite number ≥ 0, got NaN; no weight was updated",
    );
    expect(() => adam.apply(grads, 0.1, (name) => (name === "b" ? Number.NaN : 1))).toThrow(
      'Adam.apply: the learning-rate scale of "b" must be a finite number ≥ 0, got NaN; no weight was updated',
    );
    expect([Array.from(a.dataSync()), Array.from(b.dataSync()), adam.steps]).toEqual([[1, -2], [3], 0]);
    adam.apply(grads, 0.1); // and a good step still takes the hand-computed first step, lr·sign(g)
    expect(Array.from(a.dataSync())).toEqual([expect.closeTo(0.9, 6), expect.closeTo(-1.9, 6)]);
    expect(b.dataSync()[0]).toBeCloseTo(2.9, 6);
    adam.dispose();
    tf.dispose([a, b, ...grads.values()]);
  });
});

describe("run options are checked like configs (issue 24, item 9)", () => {
  it("train: unknown fields with the near miss, types and ranges, required fields", () => {
    const params = { w: variableFrom(() => tf.tensor1d([1, 2])) };
    const loss = () => tf.sum(tf.square(params.w)) as tf.Scalar;
    expect(() => train({ params, loss, steps: 1, learningRate: 0.1 } as never)).toThrow(
      /^train: unknown field "learningRate" \(did you mean "lr"\?\); allowed fields: steps, lr, clipNorm/,
    );
    expect(() => train({ params, loss, steps: 1, lr: 0.1, clipnorm: 1 } as never)).toThrow(
      /unknown field "clipnorm" \(did you mean "clipNorm"\?\)/,
    );
    expect(() => train({ params, loss, steps: 1, lr: "0.001" } as never)).toThrow(
      'train.lr: expected a number ≥ 0 or a function (step) => learning rate, got "0.001"',
    );
    expect(() => train({ params, loss, steps: 1, lr: 0.1, budgetSeconds: -5 })).toThrow(
      "train.budgetSeconds: expected a number > 0, got -5",
    );
    expect(() => train({ params, loss, steps: 1.5, lr: 0.1 })).toThrow("train.steps: expected an integer ≥ 0, got 1.5");
    expect(() => train({ params, loss, steps: 1, lr: 0.1, evalEvery: 0 })).toThrow("train.evalEvery: expected an integer ≥ 1, got 0");
    expect(() => train({ params, steps: 1, lr: 0.1 } as never)).toThrow("train.loss: required (a function (step) => scalar loss)");
    expect(() => train({ params, loss, steps: 1, lr: 0.1, callbacks: {} } as never)).toThrow(
      "train.callbacks: expected an array of callbacks ({ onStep, onEval, onEnd }), got an object",
    );
    expect(() => train({ params, loss, steps: 1, lr: 0.1, optimizer: { beta3: 0.9 } } as never)).toThrow(
      /AdamConfig: unknown field "beta3"/,
    );
    expect(Array.from(params.w.dataSync())).toEqual([1, 2]); // nothing ran
    // undefined is "not given", as when a caller forwards an optional option
    expect(train({ params, loss, steps: 1, lr: 0.1, clipNorm: undefined, progress: undefined }).steps).toBe(1);
    params.w.dispose();
  });

  it("evaluation in batches refuses a batch size that would never advance (0 or negative: an endless loop before)", () => {
    const sentences = { ids: [[1, 2]], labels: [0] } as unknown as EncodedSentences; // never read
    expect(() => evaluateSentences(() => tf.zeros([1, 2]), sentences, 0)).toThrow(
      "evaluateSentences.batchSize: expected an integer ≥ 1, got 0",
    );
    const images = { count: 10 } as ImageSet;
    expect(() => imageEvalBatches(images, { batchSize: 0 })).toThrow("imageEvalBatches.batchSize: expected an integer ≥ 1, got 0");
    expect(() => imageEvalBatches(images, { batchSize: 5, maxExamples: -1 })).toThrow(
      "imageEvalBatches.maxExamples: expected an integer ≥ 0, got -1",
    );
  });

  it("trainLanguageModel: its own fields, a batch of 0, and token ids outside the model's vocabulary, before any work", () => {
    const model = transformerLm(transformerConfig("lm-tiny", { nLayers: 1 })); // vocabulary 96, windows of 32
    let forwards = 0;
    const counted = {
      ...model,
      logits: (t: tf.Tensor) => {
        forwards++;
        return model.logits(t);
      },
    };
    const ids = Array.from({ length: 400 }, (_, i) => i % 96);
    const base = {
      model: counted,
      trainIds: ids,
      validIds: ids,
      steps: 1,
      lr: 1e-3,
      batchSize: 2,
      dataSeed: 0,
      evalEvery: 1,
      evalBatches: 1,
    };
    expect(() => trainLanguageModel({ ...base, batchSize: 0 })).toThrow("trainLanguageModel.batchSize: expected an integer ≥ 1, got 0");
    expect(() => trainLanguageModel({ ...base, learning_rate: 1e-3 } as never)).toThrow(
      /unknown field "learning_rate" \(did you mean "lr"\?\)/,
    );
    expect(() => trainLanguageModel({ ...base, objective: "mlm" } as never)).toThrow(
      'trainLanguageModel.objective: expected one of "causal", "masked", got "mlm"',
    );
    expect(() => trainLanguageModel({ ...base, trainIds: "abc" } as never)).toThrow(
      'trainLanguageModel.trainIds: expected an array or typed array of numbers, got "abc"',
    );
    expect(() => trainLanguageModel({ ...base, validIds: [...ids.slice(0, 50), 96, ...ids.slice(51)] })).toThrow(
      "trainLanguageModel: validIds[50] is 96, not a token id of the model's vocabulary [0, 96)",
    );
    // masked: the last id (95) is [MASK], so the data may only hold 0…94
    expect(() => trainLanguageModel({ ...base, objective: "masked" })).toThrow(
      "trainLanguageModel: trainIds[95] is 95, not a token id of the model's vocabulary [0, 95)",
    );
    expect(forwards).toBe(0);
    const run = trainLanguageModel(base);
    expect([run.result.steps, forwards > 0]).toEqual([1, true]);
    disposeParams(model.params);
  });
});
