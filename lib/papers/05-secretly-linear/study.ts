/**
 * The cosine regulariser of notebook 05 as a pretrained study (`npm run pretrain -- linear-cosine`,
 * 27 minutes on 2 cores). Razzhigaev et al. (2024, §5) pretrain small decoders with a
 * cosine-similarity term between consecutive layers' embeddings and report lower linearity and
 * better results. Our reading of the term is λ · mean over layer pairs and tokens of
 * (1 − cos(h_l, h_{l+1})) (`consecutiveCosinePenalty`): λ > 0 pulls consecutive layers together,
 * λ < 0 pushes them apart. The paper reports that its term lowers linearity without (in the text we
 * have) settling the sign, so both signs are arms: `lambdas`.
 *
 * For each arm, as in every comparison of the project: the rate seed (`rateSeed`, not a comparison
 * seed) is trained at every rate of `lrGrid`, extended at its edges (×/÷ `lrFactor`, at most
 * `lrExtensions` times); the rate with the lowest final validation loss (plain cross-entropy) is the
 * arm's; the comparison seeds then train at it. Each run records its validation curve, its final
 * validation and test cross-entropy, and the linearity profile (with and without the residual) on
 * fixed validation windows at step 0, every `evalEvery` steps and at the end — so the pretraining
 * trajectory of linearity is replicated over seeds on this second model.
 */
import { disposeBatches, lmEvalBatches } from "../../data/batches";
import { loadSotu } from "../../data/sotu";
import { charTokenizer } from "../../data/tokenizers";
import { type NgramBaselines, ngramBaselines } from "../../metrics/ngram";
import * as tf from "@tensorflow/tfjs";
import { disposeParams } from "../../models/params";
import { type TransformerParams, initTransformer, transformerConfig, transformerLm } from "../../models/transformer";
import type { Study } from "../../pretrain/studies";
import { rateThenSeeds } from "../../train/gates";
import { trainLanguageModel } from "../../train/lm";
import { warmupCosine } from "../../train/schedules";
import { type LinearityProfile, linearityProfile } from "./linearity";
import { consecutiveCosinePenalty, residualStreams, withHiddenPenalty } from "./linearize";

export interface CosineStudyConfig {
  dModel: number;
  nHeads: number;
  nLayers: number;
  seqLen: number;
  batchSize: number;
  steps: number;
  warmup: number;
  /** Regulariser weights; 0 is plain cross-entropy (the reference arm). */
  lambdas: number[];
  rateSeed: number;
  seeds: number[];
  lrGrid: number[];
  lrFactor: number;
  lrExtensions: number;
  evalEvery: number;
  evalBatches: number;
  /** Validation windows (each `batchSize` × `seqLen` tokens) the linearity profile is measured on. */
  probeBatches: number;
  /** Keep only the first this many characters of each split (0 = all; the smoke variant). */
  corpusChars: number;
}

export interface CosineStudyRun {
  lambda: number;
  seed: number;
  lr: number;
  valSteps: number[];
  valLosses: number[];
  /** Final validation cross-entropy (nats per character). */
  final: number;
  test: number;
  withResidual: number[];
  withoutResidual: number[];
  /** The profile at step 0 and every `evalEvery` steps: [probe][block]. */
  trajectory: { steps: number[]; withResidual: number[][]; withoutResidual: number[][] };
  seconds: number;
}

/** A profile as probe values: "with 1", "without 1", … (block numbers from 1). */
function flatProfile(p: LinearityProfile): Record<string, number> {
  const out: Record<string, number> = {};
  p.withResidual.forEach((v, l) => {
    out[`with ${l + 1}`] = v;
    out[`without ${l + 1}`] = p.withoutResidual[l];
  });
  return out;
}

export interface CosineStudyResult {
  config: CosineStudyConfig;
  vocabSize: number;
  /** Causal character baselines on the validation split. */
  baselines: NgramBaselines;
  /** Tokens the profiles use. */
  probeTokens: number;
  lr: Record<string, number>;
  lrTried: Record<string, number[]>;
  rateRuns: CosineStudyRun[];
  runs: CosineStudyRun[];
}

export function runCosineStudy(
  config: CosineStudyConfig,
  options: { progress?: (done: number, total: number, label: string) => void } = {},
): CosineStudyResult {
  if (config.seeds.includes(config.rateSeed))
    throw new Error(`runCosineStudy: the rate seed ${config.rateSeed} must not be a comparison seed (${config.seeds.join(", ")})`);
  if (!config.lambdas.includes(0))
    throw new Error(`runCosineStudy: lambdas must include 0 (the reference arm), got ${config.lambdas.join(", ")}`);
  const corpus = loadSotu();
  const cut = (s: string) => (config.corpusChars > 0 ? s.slice(0, config.corpusChars) : s);
  const tokenizer = charTokenizer(corpus.train);
  const [trainIds, validIds, testIds] = [corpus.train, corpus.valid, corpus.test].map((s) => tokenizer.encode(cut(s)));
  const v = tokenizer.vocabSize;
  const baselines = ngramBaselines(trainIds, validIds, v);
  const probe = lmEvalBatches(validIds, { batchSize: config.batchSize, seqLen: config.seqLen, maxBatches: config.probeBatches });
  const probeTokens = probe.length * config.batchSize * config.seqLen;
  const profileOf = (params: TransformerParams): LinearityProfile => {
    const streams = residualStreams(
      params,
      probe.map((b) => b.inputs),
    );
    const profile = linearityProfile(streams);
    tf.dispose(streams);
    return profile;
  };
  let total = config.lambdas.length * (config.lrGrid.length + config.seeds.length);
  let done = 0;
  const train = (lambda: number, seed: number, lr: number): CosineStudyRun => {
    const params = initTransformer(
      transformerConfig({
        vocabSize: v,
        seqLen: config.seqLen,
        dModel: config.dModel,
        nHeads: config.nHeads,
        nLayers: config.nLayers,
        dFF: 4 * config.dModel,
        seed,
      }),
    );
    const model = lambda === 0 ? transformerLm(params) : withHiddenPenalty(params, lambda, consecutiveCosinePenalty);
    const run = trainLanguageModel({
      model,
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
      probe: { every: config.evalEvery, measure: () => flatProfile(profileOf(params)) },
    });
    const profile = profileOf(params);
    disposeParams(params);
    options.progress?.(++done, total, `λ ${lambda} · seed ${seed} · lr ${lr}: val ${run.finalValLoss.toFixed(3)}`);
    return {
      lambda,
      seed,
      lr,
      valSteps: run.valSteps,
      valLosses: run.valLosses,
      final: run.finalValLoss,
      test: run.testLoss,
      withResidual: profile.withResidual,
      withoutResidual: profile.withoutResidual,
      trajectory: {
        steps: run.probes.map((p) => p.step),
        withResidual: run.probes.map((p) => profile.withResidual.map((_, l) => p.values[`with ${l + 1}`])),
        withoutResidual: run.probes.map((p) => profile.withResidual.map((_, l) => p.values[`without ${l + 1}`])),
      },
      seconds: run.result.seconds,
    };
  };
  const lr: Record<string, number> = {};
  const lrTried: Record<string, number[]> = {};
  const rateRuns: CosineStudyRun[] = [];
  const runs: CosineStudyRun[] = [];
  for (const lambda of config.lambdas) {
    let tried = 0;
    const choice = rateThenSeeds({
      grid: config.lrGrid,
      factor: config.lrFactor,
      maxExtensions: config.lrExtensions,
      rateSeed: config.rateSeed,
      seeds: config.seeds,
      train: (seed, rate) => {
        if (seed === config.rateSeed && ++tried > config.lrGrid.length) total++;
        return train(lambda, seed, rate);
      },
      score: (run) => run.final, // validation cross-entropy only
    });
    lr[String(lambda)] = choice.lr;
    lrTried[String(lambda)] = choice.scores.map((s) => s.lr);
    rateRuns.push(...choice.rateRuns);
    runs.push(...choice.runs);
  }
  disposeBatches(probe);
  return { config, vocabSize: v, baselines, probeTokens, lr, lrTried, rateRuns, runs };
}

/** The study of notebook 05: full (pretrained, ≈ 35 min) and smoke (seconds) variants. */
export const LINEAR_COSINE_STUDY: Study<CosineStudyConfig, CosineStudyResult> = {
  name: "linear-cosine",
  description:
    "character GPT, 4 blocks, d 64, with the cosine regulariser at λ = 0, −0.03, −0.1, +0.1; per arm 3+ rates on a rate seed, then 3 fresh seeds; 1,000 steps each (≈ 35 min on 2 cores)",
  full: {
    dModel: 64,
    nHeads: 4,
    nLayers: 4,
    seqLen: 64,
    batchSize: 16,
    steps: 1000,
    warmup: 50,
    lambdas: [0, -0.03, -0.1, 0.1],
    rateSeed: 1,
    seeds: [2, 3, 4],
    lrGrid: [3e-3, 6e-3, 1.2e-2],
    lrFactor: 2,
    lrExtensions: 2,
    evalEvery: 250,
    evalBatches: 6,
    probeBatches: 4,
    corpusChars: 0,
  },
  smoke: {
    dModel: 16,
    nHeads: 2,
    nLayers: 2,
    seqLen: 16,
    batchSize: 4,
    steps: 4,
    warmup: 1,
    lambdas: [0, -0.1, 0.1],
    rateSeed: 1,
    seeds: [2, 3],
    lrGrid: [1.5e-3, 3e-3, 6e-3],
    lrFactor: 2,
    lrExtensions: 1,
    evalEvery: 2,
    evalBatches: 1,
    probeBatches: 4,
    corpusChars: 200_000,
  },
  run: (config, options) => runCosineStudy(config, options),
};
