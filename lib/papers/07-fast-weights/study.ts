/**
 * Schlag, Irie & Schmidhuber's two retrieval experiments (§6.1, Fig. 2 and 3) as two pretrained
 * studies (`npm run pretrain -- fwp-capacity fwp-overwrites`, ≤ 40 minutes each on 2 cores; notebook
 * 07 loads them): every point trained to the paper's stopping rule with three seeds is too much for
 * a notebook's 15 minutes.
 *
 *   setting 1 (capacity): S distinct keys, one query; softmax, linear attention (ELU + 1) and DPFP
 *     ν = 1, 2 with the sum rule, at key dimension `keyDim` (D = dim φ = d, 2d, 4d)
 *   setting 2 (overwrites, the paper's `replace`): 2S keys drawn with replacement from S; the sum
 *     rule against the delta rule, both DPFP ν = 1
 *
 * Each run follows the official code's stopping rule (its main.py): evaluate every `evalEvery` steps,
 * stop when the validation loss reaches `solvedBelow` (the paper's stop criterion 0.001 on its loss
 * ½‖y − ŷ‖², which is 0.002 on ours, ‖y − ŷ‖²) or after `patience` evaluations without a new best,
 * at most `maxSteps`. A point is **solved** when its best validation loss is ≤ `solvedBelow` (the
 * paper's rule: the official code stops there and reports its evaluation loss); a fresh test set's
 * loss at the best evaluation's weights is reported beside it. Each arm's learning rate is chosen on the
 * rate seed's best validation loss (ties: fewer steps) at S = `probe` (the grid's S nearest D/2,
 * which every arm should solve), from a grid extended ×/÷ 3 at an edge. Each seed then sweeps S
 * upward until it fails ("swept until it breaks"); its **capacity** is the largest S below its first
 * failure. An untrained
 * control (rate 0) runs each arm at the smallest S: it must not count as solved.
 */
import type { Study } from "../../pretrain/studies";
import { chooseLearningRate } from "../../train/gates";
import { type RetrievalAttention, type RetrievalRun, featureDim, trainRetrieval } from "./index";

export interface FwpArm {
  name: string;
  setting: "capacity" | "overwrites";
  attention: RetrievalAttention;
}

export interface FwpStudyConfig {
  keyDim: number;
  valueDim: number;
  batchSize: number;
  evalBatches: number;
  evalEvery: number;
  patience: number;
  maxSteps: number;
  solvedBelow: number;
  lrGrid: number[];
  factor: number;
  extensions: number;
  rateSeed: number;
  seeds: number[];
  /** The S swept in each setting, ascending. */
  capacityPairs: number[];
  overwritePairs: number[];
  /** Consecutive failures that end a seed's sweep, by setting. */
  stopAfterFailures: Record<FwpArm["setting"], number>;
  /** Learn a map of the values before they are stored (a deviation: the official model's values are fixed one-hot embeddings). */
  learnValues: boolean;
  /** The arms; their names key the results. */
  arms: FwpArm[];
}

export interface FwpRun {
  arm: string;
  pairs: number;
  seed: number;
  lr: number;
  /** Test loss at the best evaluation's weights. */
  loss: number;
  /** Best validation loss ≤ solvedBelow (the paper's stop criterion). */
  solved: boolean;
  bestValidLoss: number;
  bestStep: number;
  steps: number;
  stopReason: RetrievalRun["stopReason"];
  validCurve: { step: number; loss: number }[];
  seconds: number;
}

export interface FwpArmResult {
  arm: string;
  setting: FwpArm["setting"];
  /** D = dim φ (softmax: 0). */
  featureDim: number;
  probe: number;
  lr: number;
  atEdge: boolean;
  tried: { lr: number; score: number }[];
  runs: FwpRun[];
  /** Per seed, in `seeds` order: the largest S below the first failure (0 when the smallest S fails), and whether the sweep reached its end without failing (then capacity is a lower bound). */
  capacity: { seed: number; capacity: number; censored: boolean }[];
  /** The untrained control (rate 0) at the smallest S. */
  control: FwpRun;
}

export interface FwpStudyResult {
  arms: FwpArmResult[];
}

export function armFeatureDim(arm: FwpArm, keyDim: number): number {
  return arm.attention.kind === "softmax" ? 0 : featureDim(keyDim, arm.attention.featureMap);
}

/** The seed's capacity from its sweep (runs in ascending S): the largest S below its first failure. */
export function capacityOf(runs: { pairs: number; solved: boolean }[]): { capacity: number; censored: boolean } {
  let capacity = 0;
  for (const r of runs) {
    if (!r.solved) return { capacity, censored: false };
    capacity = r.pairs;
  }
  return { capacity, censored: true };
}

function run(cfg: FwpStudyConfig, options: { progress?: (done: number, total: number, label: string) => void } = {}): FwpStudyResult {
  if (cfg.seeds.includes(cfg.rateSeed)) throw new Error(`fwp study: the rate seed ${cfg.rateSeed} must not be a comparison seed`);
  let done = 0;
  const estimate = cfg.arms.length * (cfg.lrGrid.length + 1 + cfg.seeds.length * 6);
  if (cfg.arms.length === 0) throw new Error("fwp study: no arms");
  const tick = (label: string) => options.progress?.(++done, Math.max(estimate, done + 1), label);
  const one = (arm: FwpArm, pairs: number, seed: number, lr: number): FwpRun => {
    const t0 = performance.now();
    const r = trainRetrieval({
      attention: arm.attention,
      pairs,
      replace: arm.setting === "overwrites",
      keyDim: cfg.keyDim,
      valueDim: cfg.valueDim,
      steps: cfg.maxSteps,
      lr,
      batchSize: cfg.batchSize,
      seed,
      evalBatches: cfg.evalBatches,
      evalEvery: cfg.evalEvery,
      patience: cfg.patience,
      solvedBelow: cfg.solvedBelow,
      learnValues: cfg.learnValues,
    });
    const bestValid = r.validCurve.length ? Math.min(...r.validCurve.map((e) => e.loss)) : r.finalLoss;
    const out: FwpRun = {
      arm: arm.name,
      pairs,
      seed,
      lr,
      loss: r.finalLoss,
      solved: bestValid <= cfg.solvedBelow,
      bestValidLoss: bestValid,
      bestStep: r.bestStep,
      steps: r.steps,
      stopReason: r.stopReason,
      validCurve: r.validCurve,
      seconds: (performance.now() - t0) / 1000,
    };
    tick(
      `${arm.name} · S = ${pairs} · seed ${seed} · rate ${lr}: loss ${out.loss.toFixed(4)} after ${out.steps} steps (${out.stopReason})`,
    );
    return out;
  };
  const arms = cfg.arms.map((arm): FwpArmResult => {
    const grid = arm.setting === "capacity" ? cfg.capacityPairs : cfg.overwritePairs;
    const D = armFeatureDim(arm, cfg.keyDim);
    // the probe: the grid's S nearest D/2, solvable by every arm, so the rate is chosen on how well it learns (softmax: half the largest D of the other arms)
    const target = (D || Math.max(...cfg.arms.map((a) => armFeatureDim(a, cfg.keyDim)))) / 2;
    const probe = grid.reduce((a, b) => (Math.abs(Math.log(b / target)) < Math.abs(Math.log(a / target)) ? b : a));
    const tried: { lr: number; score: number }[] = [];
    const choice = chooseLearningRate(
      cfg.lrGrid,
      (lr) => {
        const r = one(arm, probe, cfg.rateSeed, lr);
        // best validation loss; among solved runs (equal at the criterion) the one that solved sooner
        const score = Math.max(r.bestValidLoss, cfg.solvedBelow) + 1e-9 * r.bestStep;
        tried.push({ lr, score });
        return score;
      },
      { factor: cfg.factor, maxExtensions: cfg.extensions },
    );
    const runs: FwpRun[] = [];
    const capacity = cfg.seeds.map((seed) => {
      const mine: FwpRun[] = [];
      let failures = 0;
      for (const pairs of grid) {
        const r = one(arm, pairs, seed, choice.best);
        mine.push(r);
        failures = r.solved ? 0 : failures + 1;
        if (failures >= cfg.stopAfterFailures[arm.setting]) break;
      }
      runs.push(...mine);
      return { seed, ...capacityOf(mine) };
    });
    const control = one(arm, grid[0], cfg.seeds[0], 0);
    return {
      arm: arm.name,
      setting: arm.setting,
      featureDim: D,
      probe,
      lr: choice.best,
      atEdge: choice.atEdge,
      tried: tried.sort((a, b) => a.lr - b.lr),
      runs,
      capacity,
      control,
    };
  });
  return { arms };
}

const CAPACITY_ARMS: FwpArm[] = [
  { name: "softmax", setting: "capacity", attention: { kind: "softmax" } },
  { name: "linear (ELU + 1)", setting: "capacity", attention: { kind: "fast-weights", featureMap: { kind: "elu1" }, rule: "sum" } },
  { name: "DPFP ν = 1", setting: "capacity", attention: { kind: "fast-weights", featureMap: { kind: "dpfp", nu: 1 }, rule: "sum" } },
  { name: "DPFP ν = 2", setting: "capacity", attention: { kind: "fast-weights", featureMap: { kind: "dpfp", nu: 2 }, rule: "sum" } },
];
const OVERWRITE_ARMS: FwpArm[] = [
  { name: "sum rule", setting: "overwrites", attention: { kind: "fast-weights", featureMap: { kind: "dpfp", nu: 1 }, rule: "sum" } },
  { name: "delta rule", setting: "overwrites", attention: { kind: "fast-weights", featureMap: { kind: "dpfp", nu: 1 }, rule: "delta" } },
];

const common = {
  valueDim: 16,
  batchSize: 32,
  evalEvery: 100,
  patience: 10,
  solvedBelow: 0.002,
  lrGrid: [3e-3, 1e-2, 3e-2],
  factor: 3,
  extensions: 2,
  rateSeed: 0,
  learnValues: true,
  // one failure ends a sweep: the capacity is decided (a second failure at a larger S costs the most and decides nothing)
  stopAfterFailures: { capacity: 1, overwrites: 1 },
};
const fullCommon = {
  ...common,
  keyDim: 32,
  evalBatches: 8,
  maxSteps: 5000,
  seeds: [1, 2, 3],
  capacityPairs: [8, 16, 24, 32, 48, 64, 96, 128, 192, 256],
  overwritePairs: [4, 8, 16, 24, 32, 48, 64, 96, 128],
};
const smokeCommon = {
  ...common,
  keyDim: 4,
  evalBatches: 1,
  evalEvery: 5,
  patience: 2,
  maxSteps: 10,
  batchSize: 4,
  lrGrid: [1e-2, 3e-2],
  extensions: 0,
  seeds: [1, 2],
  capacityPairs: [2, 4],
  overwritePairs: [2, 4],
};

export const FWP_CAPACITY_STUDY: Study<FwpStudyConfig, FwpStudyResult> = {
  name: "fwp-capacity",
  description:
    "Associative retrieval at key dimension 32 (Schlag et al. 2021, §6.1 setting 1): the capacity of softmax, linear (ELU + 1) and DPFP ν = 1, 2 attention; each point trained to the paper's stopping rule, 3 seeds (≈ 35 min)",
  full: { ...fullCommon, arms: CAPACITY_ARMS },
  smoke: { ...smokeCommon, arms: CAPACITY_ARMS },
  run,
};

export const FWP_OVERWRITE_STUDY: Study<FwpStudyConfig, FwpStudyResult> = {
  name: "fwp-overwrites",
  description:
    "Associative retrieval with overwrites at key dimension 16 (Schlag et al. 2021, §6.1 setting 2): the sum rule against the delta rule, DPFP ν = 1 (D = 32); each point trained to the paper's stopping rule, 3 seeds (≈ 25 min)",
  // key dimension 16 (D = 32): the delta rule's update is sequential over 2S tokens, and at 32 its sweep alone would take an hour
  full: { ...fullCommon, keyDim: 16, overwritePairs: [4, 8, 12, 16, 24, 32, 48, 64], arms: OVERWRITE_ARMS },
  smoke: { ...smokeCommon, arms: OVERWRITE_ARMS },
  run,
};
