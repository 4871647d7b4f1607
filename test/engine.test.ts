/**
 * The patched wasm backend against the pure-JS cpu backend (the reference): every patched kernel,
 * its gradients, and a whole training step; threads, determinism and tensor counts.
 */
import { describe, expect, it } from "vitest";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { engineInfo, ready, setNativeProducts } from "../lib/engine";
import { createRng, normalArray } from "../lib/engine/rng";
import { activate } from "../lib/models/ops";
import { initTransformer, transformerConfig, transformerForward } from "../lib/models/transformer";
import { crossEntropy } from "../lib/models/loss";
import { namedVariables } from "../lib/models/params";
import { train } from "../lib/train/trainer";
import { liveHelperThreads } from "../lib/engine/kernels";
import { expectClose, onBackend } from "./helpers";

const rng = createRng(42);
const rand = (shape: number[]) => ({
  values: normalArray(
    rng,
    shape.reduce((p, s) => p * s, 1),
  ),
  shape,
});

describe("patched wasm matmul equals cpu", () => {
  // Odd sizes so a swapped axis cannot pass.
  const cases: [number[], number[], boolean, boolean][] = [
    [[7, 5], [5, 3], false, false],
    [[5, 7], [5, 3], true, false],
    [[7, 5], [3, 5], false, true],
    [[5, 7], [3, 5], true, true],
    [[3, 7, 5], [3, 5, 4], false, false],
    [[3, 5, 7], [3, 5, 4], true, false],
    [[3, 7, 5], [3, 4, 5], false, true],
    [[3, 5, 7], [3, 4, 5], true, true],
    [[2, 3, 7, 5], [5, 4], false, false], // shared right operand, folded
    [[7, 5], [2, 3, 5, 4], false, false], // shared left operand
    // Attention-sized batches go to our SIMD kernel: sizes that exercise its 4×8 / 2×4 tiles,
    // their edges and the k % 4 tail.
    [[5, 9, 13], [5, 13, 17], false, false],
    [[5, 13, 9], [5, 13, 17], true, false],
    [[5, 9, 13], [5, 17, 13], false, true],
    [[2, 3, 16, 8], [2, 3, 16, 8], false, true],
    [[9, 13], [4, 13, 17], false, false], // shared left operand: stride 0
    [[600, 13], [600, 300], true, false], // weight-gradient shape: takes the swapped route
    [[13, 600], [300, 600], false, true],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    it(`[${sa}]${ta ? "ᵀ" : ""} × [${sb}]${tb ? "ᵀ" : ""}`, async () => {
      const a = rand(sa),
        b = rand(sb);
      const f = () => tf.matMul(tf.tensor(a.values, sa), tf.tensor(b.values, sb), ta, tb);
      const [want] = await onBackend("cpu", f);
      const [got] = await onBackend("wasm", f);
      expect(got.shape).toEqual(want.shape);
      expectClose(got.values, want.values, 1e-4);
    });
  }

  // One large product: k and n span several cache blocks (256 × 128) with ragged ends, n not a
  // multiple of the 8-column panel, rows not a multiple of the 4-row tile or of the thread split.
  const large: [number[], number[], boolean, boolean][] = [
    [[301, 530], [530, 270], false, false],
    [[530, 67], [530, 264], true, false], // weight gradient Xᵀ·dY with k = 530
    [[45, 300], [131, 300], false, true], // dY·Wᵀ
    [[300, 45], [131, 300], true, true],
    [[2, 150, 290], [290, 136], false, false], // shared right operand folded into one tall product
  ];
  for (const [sa, sb, ta, tb] of large) {
    it(`large [${sa}]${ta ? "ᵀ" : ""} × [${sb}]${tb ? "ᵀ" : ""} within 1e-5 of cpu (relative to √k)`, async () => {
      const a = rand(sa),
        b = rand(sb);
      const f = () => tf.matMul(tf.tensor(a.values, sa), tf.tensor(b.values, sb), ta, tb);
      const [want] = await onBackend("cpu", f);
      const [got] = await onBackend("wasm", f);
      expect(got.shape).toEqual(want.shape);
      // Entries are sums of k unit-normal products, of size ≈ √k: compare on that scale.
      const k = ta ? sa[sa.length - 2] : sa[sa.length - 1];
      expectClose(
        got.values.map((v) => v / Math.sqrt(k)),
        want.values.map((v) => v / Math.sqrt(k)),
        1e-5,
      );
    });
  }

  it("broadcasts batch dims [2,1] × [1,3] like an explicit tile", async () => {
    // tfjs's own cpu kernel mishandles this broadcast, so the reference tiles explicitly.
    const a = rand([2, 1, 7, 5]),
      b = rand([1, 3, 5, 4]);
    const [want] = await onBackend("cpu", () =>
      tf.matMul(tf.tile(tf.tensor(a.values, a.shape), [1, 3, 1, 1]), tf.tile(tf.tensor(b.values, b.shape), [2, 1, 1, 1])),
    );
    const [got] = await onBackend("wasm", () => tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape)));
    expect(got.shape).toEqual([2, 3, 7, 4]);
    expectClose(got.values, want.values, 1e-4);
  });

  it("fused matmul with bias", async () => {
    const a = rand([9, 6]),
      b = rand([6, 5]),
      bias = rand([5]);
    const f = () =>
      tf.fused.matMul({ a: tf.tensor(a.values, a.shape), b: tf.tensor(b.values, b.shape), bias: tf.tensor(bias.values, bias.shape) });
    const [want] = await onBackend("cpu", f);
    const [got] = await onBackend("wasm", f);
    expectClose(got.values, want.values, 1e-4);
  });

  it("gradients of a batched product", async () => {
    const a = rand([2, 3, 7, 5]),
      b = rand([2, 3, 5, 4]),
      w = rand([2, 3, 7, 4]);
    const f = () => {
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), tf.tensor(w.values, w.shape))));
      return g([tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape)]);
    };
    const want = await onBackend("cpu", f);
    const got = await onBackend("wasm", f);
    for (let i = 0; i < 2; i++) expectClose(got[i].values, want[i].values, 1e-4);
  });
});

describe("other patched kernels equal cpu", () => {
  it("UnsortedSegmentSum, and gather's gradient (embedding lookup)", async () => {
    const x = rand([6, 4]);
    const ids = [2, 0, 2, 5, -1, 1];
    const f = () => tf.unsortedSegmentSum(tf.tensor(x.values, x.shape), tf.tensor1d(ids, "int32"), 4);
    const [want] = await onBackend("cpu", f);
    const [got] = await onBackend("wasm", f);
    expectClose(got.values, want.values, 1e-6);
    const table = rand([5, 3]);
    const g = () =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d([1, 4, 1, 0], "int32")))))(tf.tensor(table.values, table.shape));
    const [gw] = await onBackend("cpu", g);
    const [gg] = await onBackend("wasm", g);
    expectClose(gg.values, gw.values, 1e-5);
  });

  it("Sum over leading axes (bias gradients) and over other axes", async () => {
    const x = rand([3, 7, 21]); // 21 columns: the SIMD 8-column blocks and a scalar tail
    for (const axis of [0, [0, 1], 1, 2, [1, 2]] as (number | number[])[]) {
      for (const keepDims of [false, true]) {
        const f = () => tf.sum(tf.tensor(x.values, x.shape), axis, keepDims);
        const [want] = await onBackend("cpu", f);
        const [got] = await onBackend("wasm", f);
        expect(got.shape).toEqual(want.shape);
        expectClose(got.values, want.values, 1e-5);
      }
    }
  });

  it("Exp and Erf (SIMD polynomials) equal cpu, at the under- and overflow limits too", async () => {
    const special = [
      0,
      -0,
      1e-8,
      -1e-8,
      1,
      -1,
      0.5,
      10,
      -10,
      50,
      -50,
      87,
      -87.3,
      -100,
      -104,
      -200,
      88.7,
      88.8,
      89,
      1000,
      Infinity,
      -Infinity,
      NaN,
    ];
    const x = [...special, ...Array.from(rand([997]).values, (v) => 8 * v)]; // odd length: the scalar tail
    for (const op of ["exp", "erf"] as const) {
      const f = () => (op === "exp" ? tf.exp : tf.erf)(tf.tensor1d(x));
      const [want] = await onBackend("cpu", f);
      const [got] = await onBackend("wasm", f);
      for (let i = 0; i < x.length; i++) {
        const w = want.values[i],
          g = got.values[i];
        if (Number.isNaN(w) || !Number.isFinite(w)) {
          expect(g, `${op}(${x[i]})`).toBe(w);
          continue;
        }
        expect(Math.abs(g - w), `${op}(${x[i]}): ${g} vs ${w}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w)));
      }
    }
  });

  it("fused GELU and its gradient equal the composed x·Φ(x) on cpu", async () => {
    const x = [...Array.from(rand([1001]).values, (v) => 4 * v), 0, -0, 30, -30, 1e-6];
    const w = rand([x.length]).values;
    const f = () => {
      const t = tf.tensor1d(x);
      const y = activate("gelu", t);
      const g = tf.grad((u: tf.Tensor) => tf.sum(tf.mul(activate("gelu", u), tf.tensor1d(w))))(t);
      return [y, g];
    };
    const [wantY, wantG] = await onBackend("cpu", f);
    const [gotY, gotG] = await onBackend("wasm", f);
    expectClose(gotY.values, wantY.values, 1e-5);
    expectClose(gotG.values, wantG.values, 1e-5);
    // the fused path is the one taken on wasm: one kernel forward
    await ready({ backend: "wasm", quiet: true });
    const profile = await tf.profile(() => activate("gelu", tf.tensor1d(x)));
    expect(profile.kernels.map((k) => k.name)).toContain("TransformerAnatomyGelu");
  });

  it("GatherV2 over rows equals cpu; an out-of-range index is a clear error", async () => {
    const table = rand([7, 3, 2]);
    const ids = [6, 0, 0, 3, 5];
    const f = () => tf.gather(tf.tensor(table.values, table.shape), tf.tensor2d(ids, [5, 1], "int32"));
    const [want] = await onBackend("cpu", f);
    const [got] = await onBackend("wasm", f);
    expect(got.shape).toEqual([5, 1, 3, 2]);
    expect(got.values).toEqual(want.values);
    await ready({ backend: "wasm", quiet: true });
    const before = tf.memory().numTensors;
    const t = tf.tensor(table.values, table.shape),
      bad = tf.tensor1d([1, 7], "int32");
    // tfjs's own wording (its op spec expects it), with where the index sits.
    expect(() => tf.gather(t, bad)).toThrow(/GatherV2: the index value 7 is not in \[0, 6\] \(position 1 of the indices\)/);
    tf.dispose([t, bad]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("fused matmul with a bias of one value (broadcast) or one per column equals cpu (tfjs spec case)", async () => {
    // From tfjs-core's fused_mat_mul spec: a length-1 bias is broadcast to every output.
    const f = (bias: number[]) => () =>
      tf.fused.matMul({
        a: tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
        transposeA: true,
        b: tf.tensor2d([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1], [3, 4]),
        bias: tf.tensor1d(bias),
      });
    for (const bias of [[10], [10, 20, 30, 40]]) {
      const [want] = await onBackend("cpu", f(bias));
      const [got] = await onBackend("wasm", f(bias));
      expect(got.values, `bias of ${bias.length}`).toEqual(want.values);
    }
    const [one] = await onBackend("wasm", f([10]));
    expect(Array.from(one.values)).toEqual([11, 13, 15, 19, 12, 14, 16, 22]);
  });

  it("UnsortedSegmentSum takes float32 and int32 values", async () => {
    const f = (dtype: "float32" | "int32") => () =>
      tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], dtype), tf.tensor1d([0, 2, 0, 1], "int32"), 3);
    for (const dtype of ["float32", "int32"] as const) {
      const [got] = await onBackend("wasm", f(dtype));
      expect(Array.from(got.values), dtype).toEqual([4, 4, 2]);
      const [want] = await onBackend("cpu", f(dtype));
      expect(got.values, dtype).toEqual(want.values);
    }
  });

  it("Identity shares data but a clone outlives its source", async () => {
    await ready({ backend: "wasm", quiet: true });
    const a = tf.tensor([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
  });
});

describe("engine", () => {
  it("re-creating the backend ends the old kernels' helper threads, and the new ones compute right", async () => {
    await ready({ backend: "wasm", quiet: true });
    const live = liveHelperThreads();
    for (let i = 0; i < 3; i++) {
      tf.engine().reset(); // disposes the backend; tfjs makes a new one on next use
      await ready({ backend: "wasm", quiet: true });
    }
    expect(liveHelperThreads()).toBe(live);
    const a = rand([130, 70]),
      b = rand([70, 90]);
    const f = () => tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape));
    const [want] = await onBackend("cpu", f);
    const [got] = await onBackend("wasm", f);
    expectClose(got.values, want.values, 1e-4);
  });

  it("runs wasm with 2 threads on a machine with ≥ 2 cores", async () => {
    const info = await ready({ backend: "wasm", quiet: true });
    expect(info.backend).toBe("wasm");
    expect(info.simd).toBe(true);
    if (os.availableParallelism() >= 2 && !process.env.TA_THREADS) expect(info.threads).toBe(2);
  });

  it("rejects an unknown backend by name", async () => {
    await expect(ready({ backend: "gpu" as never, quiet: true })).rejects.toThrow(/tensorflow, wasm, cpu/);
  });
});

/** A few steps of a tiny LM; returns the loss sequence. */
function tinyRun(seed: number, steps: number, onStep?: () => void, size: "tiny" | "blocked" = "tiny"): number[] {
  // "blocked": big enough for the cache-blocked product (k = 264 and 320 > 256, n = 264 not a
  // multiple of 8) and the SIMD elementwise kernels' vector loops.
  const [B, T, V] = size === "tiny" ? [3, 7, 11] : [8, 40, 300];
  const cfg = transformerConfig(
    "lm-tiny",
    size === "tiny"
      ? { seed, vocabSize: V, seqLen: T, dModel: 12, nHeads: 3, nLayers: 2, dFF: 20 }
      : { seed, vocabSize: V, seqLen: T, dModel: 64, nHeads: 4, nLayers: 2, dFF: 264 },
  );
  const params = initTransformer(cfg);
  const data = createRng(seed + 1);
  const batch = () => Int32Array.from({ length: B * (T + 1) }, () => data.int(V));
  const result = train({
    params,
    steps,
    lr: 1e-2,
    clipNorm: 1,

    callbacks: onStep ? [{ onStep }] : [],
    loss: () => {
      const ids = tf.tensor2d(batch(), [B, T + 1], "int32");
      const inputs = tf.slice(ids, [0, 0], [B, T]),
        targets = tf.slice(ids, [0, 1], [B, T]);
      return crossEntropy(transformerForward(params, inputs).logits, targets);
    },
  });
  tf.dispose([...namedVariables(params).values()]);
  return result.losses;
}

describe("training", () => {
  it("same seed gives identical losses; another seed does not", async () => {
    await ready({ backend: "wasm", quiet: true });
    const a = tinyRun(3, 4),
      b = tinyRun(3, 4),
      c = tinyRun(4, 4);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("wasm and cpu give the same loss sequence (all patches in one step)", async () => {
    await ready({ backend: "cpu", quiet: true });
    const want = tinyRun(7, 3);
    await ready({ backend: "wasm", quiet: true });
    const got = tinyRun(7, 3);
    expectClose(got, want, 1e-5);
  });

  it("wasm and cpu give the same loss sequence at sizes that use the blocked kernels", async () => {
    await ready({ backend: "cpu", quiet: true });
    const want = tinyRun(8, 3, undefined, "blocked");
    await ready({ backend: "wasm", quiet: true });
    const got = tinyRun(8, 3, undefined, "blocked");
    expect(got.every(Number.isFinite) && got[2] !== got[0]).toBe(true); // finite, and the weights moved
    expectClose(got, want, 1e-5);
  });

  it("native (OpenBLAS) products equal cpu and the SIMD kernels: odd and blocked sizes, transposed, folded batches, gradients", async () => {
    await ready({ backend: "wasm", quiet: true });
    if (!setNativeProducts(true)) {
      console.warn("[engine test] native BLAS not built here: only the fallback is tested");
      return;
    }
    const cases: [number[], number[], boolean, boolean][] = [
      [[37, 53], [53, 29], false, false],
      [[53, 37], [53, 29], true, false],
      [[37, 53], [29, 53], false, true],
      [[53, 37], [29, 53], true, true],
      [[300, 530], [530, 270], false, false], // blocked sizes
      [[3, 41, 67], [67, 31], false, false], // a shared right operand, folded into one tall product
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = rand(sa),
        b = rand(sb);
      const f = () => tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), ta, tb);
      const [want] = await onBackend("cpu", f);
      const [native] = await onBackend("wasm", f);
      setNativeProducts(false);
      const [simdOut] = await onBackend("wasm", f);
      setNativeProducts(true);
      const k = ta ? sa[sa.length - 2] : sa[sa.length - 1];
      expectClose(native.values, want.values, 1e-5 * Math.sqrt(k));
      expectClose(native.values, simdOut.values, 1e-5 * Math.sqrt(k));
    }
    // gradients of both operands
    const a = rand([45, 70]),
      b = rand([70, 33]);
    const g = () =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([
        tf.tensor(a.values, a.shape),
        tf.tensor(b.values, b.shape),
      ]);
    const want = await onBackend("cpu", g);
    const got = await onBackend("wasm", g);
    // relative to the gradients' size (entries of order 100): float32 sums in another order
    got.forEach((x, i) => expectClose(x.values, want[i].values, 1e-6 * Math.max(...Array.from(want[i].values, Math.abs))));
  });

  it("a training run on native products gives the SIMD path's losses; the engine line says which runs", async () => {
    await ready({ backend: "wasm", quiet: true });
    if (!setNativeProducts(true)) return;
    const native = tinyRun(8, 3, undefined, "blocked");
    expect(engineInfo().products).toMatch(/^OpenBLAS [\d.]+, \d threads?$/);
    setNativeProducts(false);
    const simdLosses = tinyRun(8, 3, undefined, "blocked");
    setNativeProducts(true);
    expectClose(native, simdLosses, 1e-5);
  });

  it("falls back to the SIMD kernels with TA_NATIVE_BLAS=off, and says so (relaxed-SIMD FMA where the runtime has it)", () => {
    const run = (env: Record<string, string>) =>
      spawnSync(
        process.execPath,
        [
          "-e",
          'const ta = require("."); ta.ready().then(() => { const x = ta.tf.matMul(ta.tf.ones([64, 64]), ta.tf.ones([64, 64])); console.log(x.dataSync()[0]); })',
        ],
        { cwd: path.resolve(__dirname, ".."), env: { ...process.env, ...env }, encoding: "utf8" },
      );
    const relaxed = run({ TA_NATIVE_BLAS: "off" });
    expect(relaxed.status, relaxed.stderr).toBe(0);
    // Node 20 validates the relaxed build once the engine sets V8's flag
    expect(relaxed.stdout).toMatch(/products: SIMD kernels with relaxed-SIMD FMA \(native BLAS TA_NATIVE_BLAS=off\)/);
    expect(relaxed.stdout.trim().split("\n").pop()).toBe("64");
    const plain = run({ TA_NATIVE_BLAS: "off", TA_RELAXED_SIMD: "off" });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/products: SIMD kernels \(native BLAS TA_NATIVE_BLAS=off\)/);
    expect(plain.stdout.trim().split("\n").pop()).toBe("64");
  });

  it("keeps the tensor count stable across steps, and frees everything after", async () => {
    await ready({ backend: "wasm", quiet: true });
    tinyRun(5, 1); // creates the cached causal mask
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    tinyRun(5, 6, () => counts.push(tf.memory().numTensors));
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });
});
