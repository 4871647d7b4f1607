/**
 * The masked-LM comparison of notebook 03 as a pretrained study (`npm run pretrain -- gmlp-mlm`,
 * about 40 minutes on 2 cores): a Transformer, gMLP with each of the four gates of Table 3, and
 * aMLP, matched in parameter count, on the characters of the State of the Union corpus. For each arm
 * the rate seed (`rateSeed`) is trained at every rate of `lrGrid`, extended at its edges by ×/÷
 * `lrFactor` at most `lrExtensions` times (`chooseLearningRate`); the rate with the lowest final
 * validation loss is the arm's. The comparison seeds (`seeds`, which exclude the rate seed, so the
 * compared runs were not selected as the best of several) then train at that rate. Every run: `steps` steps of `batchSize` windows, warmup and cosine decay, validation loss every
 * `evalEvery` steps, test loss at the end. Also recorded: the masked n-gram baseline on the
 * validation masks every run is scored on (`maskedNeighbourBaseline`), and the causal baselines.
 */
import { charTokenizer } from "../../data/tokenizers";
import { disposeMlmBatches, mlmEvalBatches } from "../../data/batches";
import { loadSotu } from "../../data/sotu";
import { type MaskedNeighbourBaseline, type NgramBaselines, maskedNeighbourBaseline, ngramBaselines } from "../../metrics/ngram";
import { disposeParams } from "../../models/params";
import type { Study } from "../../pretrain/studies";
import { rateThenSeeds } from "../../train/gates";
import { MLM_EVAL_SEEDS, trainLanguageModel } from "../../train/lm";
import { warmupCosine } from "../../train/schedules";
import { MLM_ARMS, type MlmArm, armLm, mlmArms } from "./arms";

export interface MlmStudyConfig {
  dModel: number;
  nLayers: number;
  nHeads: number;
  seqLen: number;
  tinyAttention: number;
  batchSize: number;
  steps: number;
  warmup: number;
  /** The seed the learning rate is chosen on (not one of `seeds`). */
  rateSeed: number;
  /** The comparison seeds, trained at the chosen rate. */
  seeds: number[];
  evalEvery: number;
  evalBatches: number;
  lrGrid: number[];
  /** The grid's edge rule: the next rate out is × or ÷ this ... */
  lrFactor: number;
  /** ... at most this many times per arm. */
  lrExtensions: number;
  /** Keep only the first this many characters of each split (0 = all; the smoke variant). */
  corpusChars: number;
}

export interface MlmStudyRun {
  arm: MlmArm;
  seed: number;
  lr: number;
  valSteps: number[];
  valLosses: number[];
  /** Final validation loss (nats per masked character). */
  final: number;
  test: number;
  seconds: number;
}

export interface MlmStudyResult {
  config: MlmStudyConfig;
  /** Characters in the tokenizer (the models' vocabulary is this + 1 for [MASK]). */
  vocabSize: number;
  baselines: NgramBaselines;
  neighbour: MaskedNeighbourBaseline;
  /** The chosen learning rate of each arm. */
  lr: Record<MlmArm, number>;
  /** Every rate tried for each arm, ascending (the grid plus its edge extensions). */
  lrTried: Record<MlmArm, number[]>;
  /** Each arm's rate seed at every rate tried. */
  rateRuns: MlmStudyRun[];
  /** The comparison: each arm's comparison seeds at its chosen rate. */
  runs: MlmStudyRun[];
}

export function runMlmStudy(
  config: MlmStudyConfig,
  options: { progress?: (done: number, total: number, label: string) => void } = {},
): MlmStudyResult {
  const corpus = loadSotu();
  const cut = (s: string) => (config.corpusChars > 0 ? s.slice(0, config.corpusChars) : s);
  const tokenizer = charTokenizer(corpus.train);
  const [trainIds, validIds, testIds] = [corpus.train, corpus.valid, corpus.test].map((s) => tokenizer.encode(cut(s)));
  const v = tokenizer.vocabSize;
  const baselines = ngramBaselines(trainIds, validIds, v);
  const validMasks = mlmEvalBatches(validIds, {
    batchSize: config.batchSize,
    seqLen: config.seqLen,
    maskId: v,
    vocabSize: v,
    maxBatches: config.evalBatches,
    seed: MLM_EVAL_SEEDS.valid,
  });
  const neighbour = maskedNeighbourBaseline(
    trainIds,
    validMasks.map((b) => ({
      inputs: b.inputs.dataSync(),
      targets: b.targets.dataSync(),
      weights: b.weights.dataSync(),
      seqLen: config.seqLen,
    })),
    { vocabSize: v, maskId: v },
  );
  disposeMlmBatches(validMasks);
  const armsFor = (seed: number) =>
    mlmArms({
      vocabSize: v + 1,
      seqLen: config.seqLen,
      dModel: config.dModel,
      nLayers: config.nLayers,
      nHeads: config.nHeads,
      tinyAttention: config.tinyAttention,
      seed,
    });
  if (config.seeds.includes(config.rateSeed))
    throw new Error(`runMlmStudy: the rate seed ${config.rateSeed} must not be a comparison seed (${config.seeds.join(", ")})`);
  // the total grows by one for each edge extension
  let total = MLM_ARMS.length * (config.lrGrid.length + config.seeds.length);
  let done = 0;
  const train = (arm: MlmArm, seed: number, lr: number): MlmStudyRun => {
    const model = armLm(armsFor(seed)[arm]);
    const run = trainLanguageModel({
      model,
      objective: "masked",
      trainIds,
      validIds,
      testIds,
      steps: config.steps,
      lr: warmupCosine(lr, config.warmup, config.steps),
      batchSize: config.batchSize,
      dataSeed: 100 + seed,
      evalEvery: config.evalEvery,
      evalBatches: config.evalBatches,
      clipNorm: 1,
    });
    disposeParams(model.params);
    options.progress?.(++done, total, `${arm} · seed ${seed} · lr ${lr}: val ${run.finalValLoss.toFixed(3)}`);
    return {
      arm,
      seed,
      lr,
      valSteps: run.valSteps,
      valLosses: run.valLosses,
      final: run.finalValLoss,
      test: run.testLoss,
      seconds: run.result.seconds,
    };
  };
  const lr = {} as Record<MlmArm, number>;
  const lrTried = {} as Record<MlmArm, number[]>;
  const rateRuns: MlmStudyRun[] = [];
  const runs: MlmStudyRun[] = [];
  for (const arm of MLM_ARMS) {
    let tried = 0;
    const choice = rateThenSeeds({
      grid: config.lrGrid,
      factor: config.lrFactor,
      maxExtensions: config.lrExtensions,
      rateSeed: config.rateSeed,
      seeds: config.seeds,
      train: (seed, rate) => {
        if (seed === config.rateSeed && ++tried > config.lrGrid.length) total++;
        return train(arm, seed, rate);
      },
      score: (run) => run.final, // validation loss only
    });
    lr[arm] = choice.lr;
    lrTried[arm] = choice.scores.map((s) => s.lr);
    rateRuns.push(...choice.rateRuns);
    runs.push(...choice.runs);
  }
  return { config, vocabSize: v, baselines, neighbour, lr, lrTried, rateRuns, runs };
}

/** The study of notebook 03: full (pretrained, ≈ 40 min) and smoke (seconds) variants. */
export const GMLP_MLM_STUDY: Study<MlmStudyConfig, MlmStudyResult> = {
  name: "gmlp-mlm",
  description:
    "masked character LM: Transformer vs gMLP (4 gates) vs aMLP; per arm 3+ rates on a rate seed, then 3 fresh seeds at the chosen rate; 1,500 steps each (≈ 37 min on 2 cores)",
  full: {
    dModel: 32,
    nLayers: 2,
    nHeads: 4,
    seqLen: 32,
    tinyAttention: 16,
    batchSize: 128,
    steps: 1500,
    warmup: 50,
    rateSeed: 1,
    seeds: [2, 3, 4],
    evalEvery: 250,
    evalBatches: 8,
    lrGrid: [5e-3, 1e-2, 2e-2],
    lrFactor: 2,
    lrExtensions: 2,
    corpusChars: 0,
  },
  smoke: {
    dModel: 16,
    nLayers: 1,
    nHeads: 2,
    seqLen: 16,
    tinyAttention: 4,
    batchSize: 4,
    steps: 4,
    warmup: 1,
    rateSeed: 1,
    seeds: [2, 3],
    evalEvery: 2,
    evalBatches: 1,
    lrGrid: [5e-3, 1e-2, 2e-2],
    lrFactor: 2,
    lrExtensions: 1,
    corpusChars: 200_000,
  },
  run: (config, options) => runMlmStudy(config, options),
};
