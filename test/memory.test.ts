/**
 * The memory guard (engine/memory.ts): a model or a run far too large for the machine is refused
 * before anything is allocated, with the figures, and the limit can be set (issue 24, item 10).
 */
import * as os from "node:os";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { fusedKernelsActive } from "../lib/engine/fused";
import { WASM_HEAP_LIMIT_BYTES, formatBytes, memoryLimit } from "../lib/engine/memory";
import { createRng } from "../lib/engine/rng";
import { crossEntropy } from "../lib/models/loss";
import { disposeParams, namedVariables, normalVariable, variableFrom } from "../lib/models/params";
import { initTransformer, transformerConfig, transformerForward, transformerLm, transformerStepBytes } from "../lib/models/transformer";
import { trainLanguageModel } from "../lib/train/lm";
import { train } from "../lib/train/trainer";

const saved = process.env.TA_MEMORY_LIMIT_MB;
afterEach(() => {
  if (saved === undefined) delete process.env.TA_MEMORY_LIMIT_MB;
  else process.env.TA_MEMORY_LIMIT_MB = saved;
});

beforeAll(async () => {
  delete process.env.TA_MEMORY_LIMIT_MB;
  await ready({ backend: "cpu", quiet: true });
});

describe("memory guard", () => {
  it("refuses dModel 50000 at init, at once and before allocating, naming the parameters and the bytes", () => {
    delete process.env.TA_MEMORY_LIMIT_MB;
    // By hand (defaults V 256, T 128, F 512, 4 layers, tied, LayerNorm): V·D + T·D = 19,200,000;
    // a block 4(D² + D) + (D·F + F) + (F·D + D) + 4D = 10,051,650,512, four of them 40,206,602,048;
    // final norm 2D = 100,000: 40,225,902,048 parameters, 4 bytes each = 149.9 GB.
    const tensors = tf.memory().numTensors;
    const start = performance.now();
    expect(() => initTransformer(transformerConfig({ dModel: 50000 }))).toThrow(
      /^initTransformer \(40,225,902,048 parameters\): needs about 149\.9 GB \(weights 149\.9 GB\), above the memory limit of [\d.]+ [GM]B \(/,
    );
    expect(performance.now() - start).toBeLessThan(1000);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it("the limit: half the machine's memory by default (at most 4 GiB on wasm), TA_MEMORY_LIMIT_MB, or a run's memoryLimitMB", async () => {
    delete process.env.TA_MEMORY_LIMIT_MB;
    expect(memoryLimit().bytes).toBe(os.totalmem() / 2);
    await ready({ backend: "wasm", quiet: true });
    expect(memoryLimit().bytes).toBe(Math.min(os.totalmem() / 2, WASM_HEAP_LIMIT_BYTES));
    await ready({ backend: "cpu", quiet: true });
    process.env.TA_MEMORY_LIMIT_MB = "3";
    expect(memoryLimit()).toEqual({ bytes: 3 * 2 ** 20, source: "TA_MEMORY_LIMIT_MB=3" });
    expect(memoryLimit(7).bytes).toBe(7 * 2 ** 20);
    // lm-reference: 842,496 parameters (pinned in config.test.ts) = 3,369,984 bytes = 3.2 MB > 3 MB
    expect(() => initTransformer(transformerConfig("lm-reference"))).toThrow(
      /^initTransformer \(842,496 parameters\): needs about 3\.2 MB \(.*weights 3\.2 MB\), above the memory limit of 3\.0 MB \(TA_MEMORY_LIMIT_MB=3\)/,
    );
    process.env.TA_MEMORY_LIMIT_MB = "4";
    disposeParams(initTransformer(transformerConfig("lm-reference")));
    process.env.TA_MEMORY_LIMIT_MB = "lots";
    expect(() => memoryLimit()).toThrow('TA_MEMORY_LIMIT_MB must be a number of megabytes > 0, got "lots"');
  });

  it("every weight is checked as it is made: any model stops at the first weight over the limit", () => {
    process.env.TA_MEMORY_LIMIT_MB = "1";
    // 1000 × 1000 floats = 4,000,000 bytes = 3.8 MB
    expect(() => normalVariable(createRng(0), [1000, 1000], 0.1)).toThrow(
      /^normalVariable \[1000,1000\]: needs about 3\.8 MB \(.*this weight 3\.8 MB\), above the memory limit of 1\.0 MB \(TA_MEMORY_LIMIT_MB=1\)/,
    );
  });

  it("a training run counts Adam's moments and one step's activations, and is refused before it starts", () => {
    delete process.env.TA_MEMORY_LIMIT_MB;
    const params = { w: variableFrom(() => tf.zeros([1000])) };
    const loss = () => tf.sum(tf.square(tf.sub(params.w, 1))) as tf.Scalar;
    // moments 2 × 4000 bytes and the gradients 4000 bytes alone exceed 10 kB
    expect(() => train({ params, loss, steps: 3, lr: 0.1, memoryLimitMB: 0.01 })).toThrow(
      /^train: needs about [\d.]+ kB \(tensors held now \(weights included\) [\d.]+ kB \+ Adam moments 7\.8 kB \+ one step's activations and gradients \(estimate\) 3\.9 kB\), above the memory limit of 10\.2 kB \(the run's memoryLimitMB option \(0\.01 MB\)\)/,
    );
    expect(tf.sum(params.w).dataSync()[0]).toBe(0);
    expect(train({ params, loss, steps: 1, lr: 0.1, memoryLimitMB: 1 }).steps).toBe(1);
    params.w.dispose();

    const model = transformerLm(transformerConfig("lm-tiny"));
    let forwards = 0;
    const counted = {
      ...model,
      logits: (t: tf.Tensor) => {
        forwards++;
        return model.logits(t);
      },
    };
    const ids = Array.from({ length: 3000 }, (_, i) => (i * 7) % 96);
    const step = transformerStepBytes(model.params.config, 64);
    expect(() =>
      trainLanguageModel({
        model: counted,
        trainIds: ids,
        validIds: ids,
        steps: 1,
        lr: 1e-3,
        batchSize: 64,
        dataSeed: 0,
        evalEvery: 1,
        evalBatches: 1,
        memoryLimitMB: 8,
      }),
    ).toThrow(`one step's activations and gradients (estimate) ${formatBytes(step)}), above the memory limit of 8.0 MB`);
    expect(forwards).toBe(0);
    disposeParams(model.params);
  });

  it("the step estimate: the formula by hand, and within 10% of tf.profile's peak on an unfitted configuration (cpu and wasm)", async () => {
    await ready({ backend: "wasm", quiet: true });
    expect(fusedKernelsActive()).toBe(true);
    // lm-tiny (P 29,568; D 32, F 128, H·T 64, V 96, 2 layers), one window of 32, fused:
    //   2.2·29,568 + 32·(2·(50·32 + 6·128 + 4·64) + 12·32 + 7·96) = 65,049.6 + 32·6,304 floats, × 4 bytes
    expect(transformerStepBytes(transformerConfig("lm-tiny"), 1)).toBeCloseTo(4 * (2.2 * 29_568 + 32 * 6_304), 3);
    for (const backend of ["wasm", "cpu"] as const) {
      await ready({ backend, quiet: true });
      const cfg = transformerConfig({ vocabSize: 200, seqLen: 24, dModel: 48, nHeads: 3, nLayers: 3, dFF: 96, norm: "rms" });
      const params = initTransformer(cfg);
      const vars = [...namedVariables(params).values()];
      const x = tf.randomUniform([5, 24], 0, 200, "int32");
      const y = tf.randomUniform([5, 24], 0, 200, "int32");
      const before = tf.memory().numBytes;
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => crossEntropy(transformerForward(params, x).logits, y), vars);
        tf.dispose([value, ...Object.values(grads)]);
      });
      const ratio = transformerStepBytes(cfg, 5) / (profile.peakBytes - before);
      expect(ratio, `${backend}: estimate / measured`).toBeGreaterThan(0.9);
      expect(ratio, `${backend}: estimate / measured`).toBeLessThan(1.1);
      disposeParams(params);
      tf.dispose([x, y]);
    }
  });
});
