#!/usr/bin/env node
// npm run bench [-- --backends wasm,wasm-stock,cpu] [--steps N] [--vs-torch [--rounds R]] [--profile]
// The reference LM training step (B16, T128, d128, 4 layers, 4 heads, vocab 256, Adam) and
// square matmuls (256, 512, 1024) on every available backend, and on stock tfjs-wasm (our
// patches off) for comparison. With --vs-torch, also PyTorch on the CPU (scripts/bench_torch.py,
// Debian's python3-torch, installed if missing and possible), interleaved with tfjs-wasm round by
// round (A B A B …), with peak RSS, the ratio tfjs/torch and the machine's FP32 peak estimate.
// With --profile, the per-kernel time of one reference step on tfjs-wasm (tf.profile).
// On tfjs-wasm, also the effect of the fused kernels (norms, causal softmax, Adam, the LSTM layer):
// the reference step and notebook 08's LSTM LM step with them on and off, interleaved.
// Prints a table and writes build/bench.json. A benchmark, not a test: numbers depend on the
// machine and its load.
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const ta = require(path.join(ROOT, "dist")); // untyped (any): the built library, loaded at run time
const { tf } = ta;

/** @typedef {{ n: number, ms: number, gflops: number }} MatmulResult one square matmul size */
/** @typedef {{ msPerStep: number, steps: number, firstLoss: number, tensorGrowth: number }} StepResult */
/**
 * One row of the results table (bench_torch.py's row has no tensorGrowth).
 * @typedef {{ backend: string, threads: number, msPerStep: number, steps: number, firstLoss: number,
 *   tensorGrowth?: number, matmul: MatmulResult[] }} BackendResult
 */
/**
 * What bench_torch.py prints.
 * @typedef {BackendResult & { peakRssMiB: number, versions: { torch: string, python: string },
 *   config: Record<string, string | null> }} TorchRound
 */
/** @typedef {StepResult & { peakRssMiB: number }} TfjsRound what `--ref-only` prints */
/**
 * @typedef {{ rounds: number, tfjsMsPerStep: number, torchMsPerStep: number, ratio: number,
 *   tfjsRounds: number[], torchRounds: number[], tfjsPeakRssMiB: number, torchPeakRssMiB: number,
 *   tfjsTensorGrowth: number, torchMatmul: MatmulResult[], torchVersions: TorchRound["versions"],
 *   torchConfig: TorchRound["config"], fp32Peak: { gflops: number, formula: string } | null }} TorchComparison
 */

/**
 * @param {string} name
 * @returns {string | undefined} the command-line value after `name`
 */
const argValue = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const backends = (argValue("--backends") ?? [...ta.availableBackends(), "wasm-stock"].join(",")).split(",");
const wasmSteps = Number(argValue("--steps") ?? 7);

/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Seeded random token batches of the reference step (B16 × T): inputs and next-token targets.
 * @param {{ seqLen: number, vocabSize: number }} cfg
 */
function referenceBatches(cfg) {
  const rng = ta.createRng(0);
  const [B, T] = [16, cfg.seqLen];
  return () => {
    const ids = tf.tensor2d(
      Int32Array.from({ length: B * (T + 1) }, () => rng.int(cfg.vocabSize)),
      [B, T + 1],
      "int32",
    );
    return { inputs: tf.slice(ids, [0, 0], [B, T]), targets: tf.slice(ids, [0, 1], [B, T]) };
  };
}

/** Warm-up steps before timing (JIT and wasm tier-up, first-use allocations); bench_torch.py uses the same. */
const WARMUP = 3;

/**
 * ms per reference training step: median over `steps` after WARMUP warm-up steps.
 * @param {number} steps
 * @returns {StepResult}
 */
function referenceStep(steps) {
  const cfg = ta.transformerConfig("lm-reference", { seed: 0 });
  const params = ta.initTransformer(cfg);
  const batch = referenceBatches(cfg);
  /** @type {number[]} */
  const times = [];
  /** @type {number[]} */
  const tensors = [];
  let last = performance.now();
  const result = ta.train({
    params,
    steps: steps + WARMUP,
    lr: 1e-3,
    loss: () => {
      const b = batch();
      return ta.crossEntropy(ta.transformerForward(params, b.inputs).logits, b.targets);
    },
    callbacks: [
      {
        onStep() {
          const now = performance.now();
          times.push(now - last);
          tensors.push(tf.memory().numTensors);
          last = now;
        },
      },
    ],
  });
  ta.disposeParams(params);
  // Live tensors after each step (after warm-up): equal from step to step means nothing leaks.
  const live = tensors.slice(WARMUP);
  return {
    msPerStep: median(times.slice(WARMUP)),
    steps: times.length - WARMUP,
    firstLoss: result.losses[0],
    tensorGrowth: live[live.length - 1] - live[0],
  };
}

/**
 * GFLOP/s of an n×n·n×n matmul: median over repetitions after a warm-up. Kernels run
 * synchronously on these backends, so the timing excludes copying the result out.
 * @param {number} n
 * @param {number} reps timed repetitions (after one warm-up)
 * @returns {MatmulResult}
 */
function matmul(n, reps) {
  const a = tf.randomNormal([n, n]),
    b = tf.randomNormal([n, n]);
  /** @type {number[]} */
  const times = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    times.push(performance.now() - t0);
    if (i === 0 && !Number.isFinite(c.dataSync()[0])) throw new Error(`matmul ${n}: non-finite result`);
    c.dispose();
  }
  tf.dispose([a, b]);
  const ms = median(times.slice(1));
  return { n, ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

/**
 * Notebook 08's LSTM LM step (vocab 4000, embedding 64, 2 layers of 128 (the last 64, tied),
 * batch 64 × 20 tokens, Adam): median ms per step and tokens per second.
 * @param {number} steps timed steps (after warm-up)
 */
function lstmStep(steps) {
  const cfg = ta.rnnConfig({ vocabSize: 4000, embedDim: 64, hiddenDim: 128, nLayers: 2, dropout: 0.1, seed: 0 });
  const params = ta.initRnnLm(cfg);
  const rng = ta.createRng(0);
  const [B, T] = [64, 20];
  /** @type {number[]} */
  const times = [];
  let last = performance.now();
  ta.train({
    params,
    steps: steps + WARMUP,
    lr: 1e-3,
    loss: () => {
      const ids = tf.tensor2d(
        Int32Array.from({ length: B * (T + 1) }, () => rng.int(cfg.vocabSize)),
        [B, T + 1],
        "int32",
      );
      const logits = ta.rnnLmLogits(params, tf.slice(ids, [0, 0], [B, T]), { rng });
      return ta.crossEntropy(logits, tf.slice(ids, [0, 1], [B, T]));
    },
    callbacks: [
      {
        onStep() {
          const now = performance.now();
          times.push(now - last);
          last = now;
        },
      },
    ],
  });
  ta.disposeParams(params);
  const ms = median(times.slice(WARMUP));
  return { msPerStep: ms, tokensPerSec: (B * T) / (ms / 1000) };
}

/**
 * The fused kernels on and off, interleaved over `rounds` (same process, same engine): the
 * reference step and the LSTM LM step.
 * @param {number} rounds
 */
function fusedEffect(rounds) {
  /** @type {Record<"on" | "off", { reference: number[], lstm: number[], lstmTokensPerSec: number[] }>} */
  const out = { on: { reference: [], lstm: [], lstmTokensPerSec: [] }, off: { reference: [], lstm: [], lstmTokensPerSec: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const mode of /** @type {const} */ (["on", "off"])) {
      ta.setFusedKernels(mode === "on");
      out[mode].reference.push(referenceStep(wasmSteps).msPerStep);
      const l = lstmStep(wasmSteps);
      out[mode].lstm.push(l.msPerStep);
      out[mode].lstmTokensPerSec.push(l.tokensPerSec);
      console.error(
        `[bench] fused ${mode}, round ${r + 1}/${rounds}: reference ${out[mode].reference[r].toFixed(0)} ms, LSTM ${l.msPerStep.toFixed(0)} ms (${l.tokensPerSec.toFixed(0)} tokens/s)`,
      );
    }
  }
  ta.setFusedKernels(true);
  return {
    rounds,
    referenceMs: { on: median(out.on.reference), off: median(out.off.reference) },
    lstmMs: { on: median(out.on.lstm), off: median(out.off.lstm) },
    lstmTokensPerSec: { on: median(out.on.lstmTokensPerSec), off: median(out.off.lstmTokensPerSec) },
    perRound: out,
  };
}

// One tfjs round of the PyTorch comparison, in its own process like torch's (so peak RSS is the
// reference step's alone): prints {msPerStep, peakRssMiB, tensorGrowth} and exits.
if (process.argv.includes("--ref-only")) {
  await ta.ready({ backend: "wasm", quiet: true });
  const step = referenceStep(wasmSteps);
  console.log(JSON.stringify({ ...step, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

/** @type {BackendResult[]} */
const results = [];
for (const backend of backends) {
  if (backend === "wasm-stock") {
    // Stock tfjs (no patches) needs a fresh process: the patches register at import.
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), "--backends", "wasm", "--steps", String(wasmSteps), "--json-only"],
      {
        env: { ...process.env, TA_WASM_PATCHES: "off" },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    if (child.status !== 0) throw new Error("stock wasm benchmark failed");
    results.push(.../** @type {BackendResult[]} */ (JSON.parse(child.stdout).results).map((r) => ({ ...r, backend: "wasm-stock" })));
    continue;
  }
  const info = await ta.ready({ backend, quiet: true });
  console.error(`[bench] ${ta.formatEngine(info)}`);
  const slow = backend === "cpu";
  const step = referenceStep(slow ? 2 : wasmSteps);
  const mm = [256, 512, 1024].map((n) => matmul(n, slow ? 2 : n === 1024 ? 5 : 10));
  results.push({ backend, threads: info.threads, ...step, matmul: mm });
}

/**
 * Debian's PyTorch for /usr/bin/python3: present, or installed with apt (as root or with sudo), or a reason.
 * @returns {string | null} null when torch is there, else why not
 */
function ensureTorch() {
  const has = () => spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0;
  if (has()) return null;
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
  if (!root && !sudo)
    return "python3-torch is missing and apt-get needs root or sudo: run `sudo apt-get install python3-torch libopenblas0-pthread`";
  console.error("[bench] installing python3-torch and libopenblas0-pthread with apt-get (≈650 MB, once)");
  const cmd = ["apt-get", "install", "-y", "python3-torch", "libopenblas0-pthread"];
  const r = spawnSync(root ? cmd[0] : "sudo", root ? cmd.slice(1) : cmd, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return r.status === 0 && has() ? null : "apt-get could not install python3-torch";
}

/**
 * FP32 peak estimate: cores × clock × FLOPs/cycle (Intel AVX-512: 2 FMA units × 16 lanes × 2; AVX2+FMA or AMD: 2 × 8 × 2).
 * @returns {{ gflops: number, formula: string } | null}
 */
function fp32Peak() {
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    const mhz = Math.max(...[...info.matchAll(/cpu MHz\s*:\s*([\d.]+)/g)].map((m) => Number(m[1])));
    if (!(mhz > 0)) return null; // no "cpu MHz" lines (e.g. ARM): Math.max() of nothing is -Infinity
    const flags = /flags\s*:(.*)/.exec(info)?.[1] ?? "";
    // Intel with AVX-512: two 512-bit FMA units; AMD Zen (even with AVX-512) and AVX2 parts: two 256-bit FMA units.
    const amd = /AuthenticAMD/.test(info);
    const perCycle = / avx512f/.test(flags) && !amd ? 64 : / fma/.test(flags) ? 32 : 8;
    return {
      gflops: (os.cpus().length * mhz * perCycle) / 1000,
      formula: `${os.cpus().length} cores × ${(mhz / 1000).toFixed(2)} GHz × ${perCycle} FLOP/cycle`,
    };
  } catch {
    return null;
  }
}

/** @type {TorchComparison | { skipped: string } | undefined} */
let versusTorch;
if (process.argv.includes("--vs-torch")) {
  const missing = ensureTorch();
  if (missing) {
    console.error(`[bench] PyTorch comparison skipped: ${missing}`);
    versusTorch = { skipped: missing };
  } else {
    const rounds = Number(argValue("--rounds") ?? 3);
    /** @type {NodeJS.ProcessEnv} */
    const torchEnv = { ...process.env, OPENBLAS_NUM_THREADS: "1", TA_TORCH_THREADS: "2" };
    delete torchEnv.OPENBLAS_CORETYPE;
    /** @type {TfjsRound[]} */
    const tfjsRounds = [];
    /** @type {TorchRound[]} */
    const torchRounds = [];
    for (let r = 0; r < rounds; r++) {
      const own = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--ref-only", "--steps", String(wasmSteps)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      });
      if (own.status !== 0) throw new Error("tfjs reference round failed");
      tfjsRounds.push(JSON.parse(own.stdout));
      const child = spawnSync("/usr/bin/python3", [path.join(ROOT, "scripts", "bench_torch.py"), "--steps", String(wasmSteps)], {
        env: torchEnv,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      });
      if (child.status !== 0) {
        const said = /** @type {{ error?: string }} */ (JSON.parse(child.stdout || "{}")).error;
        throw new Error(said ? `PyTorch comparison refused: ${said}` : "bench_torch.py failed");
      }
      torchRounds.push(JSON.parse(child.stdout));
      console.error(
        `[bench] round ${r + 1}/${rounds}: tfjs-wasm ${tfjsRounds[r].msPerStep.toFixed(0)} ms, torch ${torchRounds[r].msPerStep.toFixed(0)} ms`,
      );
    }
    const torchLast = torchRounds[torchRounds.length - 1];
    const tfjsMs = median(tfjsRounds.map((t) => t.msPerStep)),
      torchMs = median(torchRounds.map((t) => t.msPerStep));
    versusTorch = {
      rounds,
      tfjsMsPerStep: tfjsMs,
      torchMsPerStep: torchMs,
      ratio: tfjsMs / torchMs,
      tfjsRounds: tfjsRounds.map((t) => t.msPerStep),
      torchRounds: torchRounds.map((t) => t.msPerStep),
      tfjsPeakRssMiB: median(tfjsRounds.map((t) => t.peakRssMiB)),
      torchPeakRssMiB: median(torchRounds.map((t) => t.peakRssMiB)),
      tfjsTensorGrowth: Math.max(...tfjsRounds.map((t) => Math.abs(t.tensorGrowth))),
      torchMatmul: torchLast.matmul,
      torchVersions: torchLast.versions,
      torchConfig: torchLast.config,
      fp32Peak: fp32Peak(),
    };
    results.push({
      backend: "torch-cpu",
      threads: torchLast.threads,
      msPerStep: torchMs,
      steps: wasmSteps,
      firstLoss: torchLast.firstLoss,
      matmul: torchLast.matmul,
    });
  }
}

/**
 * Time per kernel (summed over calls) of one reference step, after two warm-up steps.
 * @returns {Promise<{ name: string, ms: number, calls: number }[]>}
 */
async function profileStep() {
  await ta.ready({ backend: "wasm", quiet: true });
  const cfg = ta.transformerConfig("lm-reference", { seed: 0 });
  const params = ta.initTransformer(cfg);
  const adam = new ta.Adam(ta.namedVariables(params));
  const batch = referenceBatches(cfg);
  const step = () => {
    ta.train({
      params,
      steps: 1,
      lr: 1e-3,
      adam,
      loss: () => {
        const b = batch();
        return ta.crossEntropy(ta.transformerForward(params, b.inputs).logits, b.targets);
      },
    });
  };
  step();
  step();
  const info = await tf.profile(() => {
    step();
  });
  /** @type {Map<string, { name: string, ms: number, calls: number }>} */
  const byKernel = new Map();
  for (const k of info.kernels) {
    // tfjs records each custom-gradient op (our fused ops' wrappers) as an "unnamed scope" whose
    // time includes the kernels inside it, which are listed on their own: counting it too would
    // count them twice.
    if (k.name === "unnamed scope") continue;
    const e = byKernel.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  adam.dispose();
  ta.disposeParams(params);
  return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
}

const kernelProfile = process.argv.includes("--profile") ? await profileStep() : undefined;
let fused;
if (backends.includes("wasm") && !process.argv.includes("--json-only")) {
  await ta.ready({ backend: "wasm", quiet: true });
  fused = fusedEffect(Number(argValue("--rounds") ?? 3));
}

const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
  versions: { node: process.version, tfjs: tf.version.tfjs },
  reference: "LM step: B16, T128, dModel 128, 4 layers, 4 heads, dFF 512, vocab 256, Adam (forward + backward + update)",
  results,
  versusTorch,
  kernelProfile,
  fused,
};
if (process.argv.includes("--json-only")) {
  console.log(JSON.stringify(report));
  process.exit(0);
}
fs.mkdirSync(path.join(ROOT, "build"), { recursive: true });
fs.writeFileSync(path.join(ROOT, "build", "bench.json"), `${JSON.stringify(report, null, 2)}\n`);

const rows = results.map((r) => [r.backend, String(r.threads), r.msPerStep.toFixed(0), ...r.matmul.map((m) => m.gflops.toFixed(1))]);
const head = ["backend", "threads", "ref step ms", "mm256 GFLOP/s", "mm512 GFLOP/s", "mm1024 GFLOP/s"];
const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
/** @param {string[]} cells */
const line = (cells) => cells.map((c, j) => c.padStart(widths[j])).join("  ");
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log(`(written to build/bench.json; ${report.machine.cpus} CPUs, ${report.machine.model})`);
if (kernelProfile) {
  const total = kernelProfile.reduce((t, k) => t + k.ms, 0);
  console.log(`per-kernel time of one tfjs-wasm reference step (summed ${total.toFixed(0)} ms):`);
  for (const k of kernelProfile.slice(0, 12))
    console.log(
      `  ${k.name.padEnd(24)} ${k.ms.toFixed(1).padStart(7)} ms  ${String(k.calls).padStart(5)} calls  ${((100 * k.ms) / total).toFixed(1).padStart(5)}%`,
    );
}
if (fused) {
  const f = fused;
  console.log(
    `fused kernels (median of ${f.rounds} interleaved rounds): reference step ${f.referenceMs.on.toFixed(0)} ms on vs ${f.referenceMs.off.toFixed(0)} ms off; ` +
      `LSTM LM step (08) ${f.lstmMs.on.toFixed(0)} vs ${f.lstmMs.off.toFixed(0)} ms = ${f.lstmTokensPerSec.on.toFixed(0)} vs ${f.lstmTokensPerSec.off.toFixed(0)} tokens/s ` +
      `(${(f.lstmTokensPerSec.on / f.lstmTokensPerSec.off).toFixed(2)}×)`,
  );
}
if (versusTorch && !("skipped" in versusTorch)) {
  const v = versusTorch;
  console.log(
    `tfjs-wasm vs PyTorch ${v.torchVersions.torch}, interleaved over ${v.rounds} rounds: reference step ${v.tfjsMsPerStep.toFixed(0)} ms vs ${v.torchMsPerStep.toFixed(0)} ms ` +
      `(tfjs/torch ${v.ratio.toFixed(2)}×; per round ${v.tfjsRounds.map((t, i) => (t / v.torchRounds[i]).toFixed(2)).join(", ")}); torch's BLAS: ${v.torchConfig.blas ?? "?"}; peak RSS of a reference-step process ${v.tfjsPeakRssMiB.toFixed(0)} MiB vs ${v.torchPeakRssMiB.toFixed(0)} MiB ` +
      `(${(v.tfjsPeakRssMiB / v.torchPeakRssMiB).toFixed(2)}×); live tensors grew by ${v.tfjsTensorGrowth} over the timed steps` +
      (v.fp32Peak
        ? `; FP32 peak ≈ ${v.fp32Peak.gflops.toFixed(0)} GFLOP/s (${v.fp32Peak.formula}, at the nominal clock` +
          (Math.max(...v.torchMatmul.map((m) => m.gflops)) > v.fp32Peak.gflops
            ? "; torch's matmul exceeds it, so the cores boost above nominal)"
            : ")")
        : ""),
  );
}
await ta.closeRenderer();
