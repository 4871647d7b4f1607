/**
 * ULMFiT's experiments on the UCI review sentences as a pretrained study (`npm run pretrain --
 * ulmfit-ladder`, about half an hour on 2 cores; notebook 08 loads it): too many classifier runs
 * for a notebook's 15 minutes once every arm has its own validated rate and five seeds.
 *
 *   1. the target vocabulary: every word of the target's train + valid text (`minCount`), the
 *      pretrained `word-lstm` carried over to it (`transferLm`: new words at the mean row)
 *   2. LM fine-tuning on the target's training text with discriminative rates and STLR, the peak
 *      rate chosen on the target's validation text (LM loss)
 *   3. frozen-feature linear probes of the random, pretrained and fine-tuned encoders
 *   4. the ablation ladder at `ladderLabels` labels: each rung chooses (rate, dropout) on the rate
 *      seed's validation error (ties broken by validation loss), then trains the comparison `seeds`
 *      (each seed draws its own label subset, shared across rungs). Validation loss alone is the wrong
 *      score here: with 100 labels the smallest rate won it by staying near chance with calibrated
 *      probabilities (the study's first run: validation error ≈ 45% at the rates chosen)
 *   5. the labels sweep: scratch and the full recipe at every count of `sweepLabels`, the rate
 *      chosen again per count (dropout from the ladder's choice), then `sweepSeeds`
 *
 * Every classifier uses Adam with β = (0.7, 0.99) (the paper's), trains `groups + extra` epochs
 * (gradual unfreezing reaches every group, then all train; `extra` chosen per arm on validation
 * between a short and a long schedule), and records its training,
 * validation and test error, its validation curve per epoch, and its test error after the head's
 * batch norms are recalibrated on the training sentences (no labels). Test data is never used to
 * choose anything.
 */
import { encodeSentences, lmEvalBatches, disposeBatches } from "../../data/batches";
import { type LabelledSentence, labelSubset, loadSentiment, stratifiedSplit } from "../../data/sentiment";
import { type Tokenizer, wordTokenizer } from "../../data/tokenizers";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../../engine/rng";
import { naiveBayesSentences } from "../../metrics/naive-bayes";
import { ngramBaselines } from "../../metrics/ngram";
import { type RnnLmParams, initRnnLm, rnnLmLogits } from "../../models/lstm";
import { cloneParams, disposeParams } from "../../models/params";
import { pretrainedLstm } from "../../pretrain/checkpoints";
import type { Study } from "../../pretrain/studies";
import { evaluateLm } from "../../train/evaluate";
import { chooseLearningRate } from "../../train/gates";
import { slantedTriangularLR } from "../../train/schedules";
import { initRnnClassifier } from "./classifier";
import { chooseLinearProbe, probeError } from "./probe";
import { evaluateRnnClassifier, lmDiscriminativeLrScale, rnnGroupCount, trainRnnClassifier, trainRnnLm } from "./training";
import { pooledFeatures, recalibrateBatchNorm } from "./classifier";
import { transferLm } from "./vocabulary";

export type Rung = "scratch" | "pretrained" | "lm-finetuned" | "discriminative" | "stlr" | "ulmfit";

/** The ladder, bottom to top: each rung adds one ingredient to the one before. */
export const RUNGS: {
  rung: Rung;
  name: string;
  encoder: "scratch" | "pretrained" | "tuned";
  discriminative: boolean;
  stlr: boolean;
  gradualUnfreezing: boolean;
}[] = [
  { rung: "scratch", name: "scratch", encoder: "scratch", discriminative: false, stlr: false, gradualUnfreezing: false },
  { rung: "pretrained", name: "pretrained LM", encoder: "pretrained", discriminative: false, stlr: false, gradualUnfreezing: false },
  { rung: "lm-finetuned", name: "+ LM fine-tuning", encoder: "tuned", discriminative: false, stlr: false, gradualUnfreezing: false },
  { rung: "discriminative", name: "+ discriminative rates", encoder: "tuned", discriminative: true, stlr: false, gradualUnfreezing: false },
  { rung: "stlr", name: "+ STLR", encoder: "tuned", discriminative: true, stlr: true, gradualUnfreezing: false },
  { rung: "ulmfit", name: "+ gradual unfreezing (ULMFiT)", encoder: "tuned", discriminative: true, stlr: true, gradualUnfreezing: true },
];

export interface UlmfitStudyConfig {
  /** Train the pretrained LM's smoke variant on the fly instead of loading the committed one. */
  smokeLm: boolean;
  splitSeed: number;
  maxWords: number;
  /** Target vocabulary: words seen at least this often in the target's train + valid text. */
  minCount: number;
  /** Keep only the first this many training sentences (0 = all; the smoke variant). */
  trainSentences: number;
  /** LM fine-tuning: peak rates (extended ×/÷ `factor` at an edge, at most `extensions` times), chosen on the target's validation text. */
  lmFinetune: {
    grid: number[];
    extensions: number;
    steps: number;
    batchSize: number;
    seqLen: number;
    evalEvery: number;
    evalBatches: number;
  };
  probe: { l2s: number[]; labels: number[] };
  ladderLabels: number;
  /** Classifier grid: peak rates (extended ×/÷ `factor` at an edge, at most `extensions` times) × encoder dropouts. */
  grid: number[];
  dropouts: number[];
  factor: number;
  extensions: number;
  rateSeed: number;
  seeds: number[];
  /** Label counts of the sweep (0 = all training sentences) and their seeds. */
  sweepLabels: number[];
  sweepSeeds: number[];
  /**
   * Epochs after every group is unfrozen, by label count ("0" = all): the rate grid runs at
   * `extraEpochs`; at the chosen (rate, dropout) the rate seed also trains `longExtraEpochs`, and
   * the schedule with the lower `validationScore` is the arm's.
   */
  extraEpochs: Record<string, number>;
  longExtraEpochs: Record<string, number>;
  batchSize: Record<string, number>;
  adam: { beta1: number; beta2: number };
  /** Controls at the full recipe's configuration: its seeds with their labels permuted. */
  controls: boolean;
}

export interface UlmfitClassifierRun {
  rung: Rung;
  labels: number;
  seed: number;
  lr: number;
  dropout: number;
  epochs: number;
  trainError: number;
  validError: number;
  validLoss: number;
  testError: number;
  /** Test error after the head's batch norms are recalibrated on the training sentences. */
  testErrorRecalibrated: number;
  validCurve: number[];
  /** Mean training loss of each epoch. */
  trainLossCurve: number[];
  /** Per test sentence, in order: "1" when classified right (for intervals over sentences as well as seeds). */
  testCorrect: string;
  /** Labels permuted (the shuffled-label control). */
  permuted: boolean;
  seconds: number;
}

export interface ArmChoice {
  rung: Rung;
  labels: number;
  lr: number;
  dropout: number;
  atEdge: boolean;
  /** Epochs after every group is unfrozen, chosen on validation from the two schedules tried. */
  extraEpochs: number;
  /** The rate seed at the chosen (rate, dropout) with each schedule: its validation score and its training-loss curve. */
  epochsTried: { extraEpochs: number; epochs: number; score: number; validError: number; trainLossCurve: number[] }[];
  /** Every (rate, dropout) the rate seed tried, with its validation loss and error and its `validationScore` (the lowest wins). */
  tried: { lr: number; dropout: number; validLoss: number; validError: number; score: number }[];
  runs: UlmfitClassifierRun[];
}

export interface UlmfitStudyResult {
  lmCheckpointSha256: string;
  data: { train: number; valid: number; test: number };
  vocabulary: { target: number; lm: number; knownToLm: number; unkRateTargetVocab: number; unkRateLmVocab: number };
  lm: {
    pretrainedValLoss: number;
    unigram: number;
    bigram: number;
    /** Target validation text, target vocabulary: the transferred LM before and after fine-tuning. */
    targetLossBefore: number;
    tried: { lr: number; valSteps: number[]; valLosses: number[] }[];
    chosenLr: number;
    atEdge: boolean;
    targetLossAfter: number;
    /** Word n-gram baselines of the target text (trained on its training text, scored on its validation text). */
    targetBaselines: { unigram: number; bigram: number };
    /** Mean distance from the mean row after fine-tuning: of the words new to the LM, and of the words it knew. */
    freshRowDistance: number;
    knownRowDistance: number;
  };
  probes: { encoder: "random" | "pretrained" | "tuned"; labels: number; seed: number; l2: number; validError: number; testError: number }[];
  naiveBayes: { labels: number; seed: number; validError: number; testError: number }[];
  ladder: ArmChoice[];
  sweep: ArmChoice[];
  /** The full recipe's seeds at its chosen configuration with permuted labels (must not learn). */
  shuffledLabels: UlmfitClassifierRun[];
}

const key = (labels: number) => String(labels);

/**
 * How a classifier run is chosen: its validation error averaged over its last three epochs (one
 * epoch's error on 300 sentences is noisy), ties broken by the final validation loss.
 */
export function validationScore(r: { validCurve: number[]; validLoss: number }): number {
  const last = r.validCurve.slice(-3);
  return last.reduce((a, b) => a + b, 0) / last.length + 1e-6 * r.validLoss;
}

function data(cfg: UlmfitStudyConfig) {
  const sentences = loadSentiment();
  const split = stratifiedSplit(sentences, { valid: 0.1, test: 0.2, seed: cfg.splitSeed });
  const train = cfg.trainSentences > 0 ? labelSubset(split.train, cfg.trainSentences, 0) : split.train; // stratified, as the full split
  return { train, valid: split.valid, test: split.test };
}

/** The target vocabulary (train + valid text; never test). */
export function targetTokenizer(train: LabelledSentence[], valid: LabelledSentence[], minCount: number): Tokenizer {
  return wordTokenizer([...train, ...valid].map((x) => x.text).join("\n"), { maxVocab: 1_000_000, minCount });
}

function unkShare(tok: Tokenizer, items: LabelledSentence[]): number {
  let unk = 0,
    total = 0;
  for (const x of items)
    for (const id of tok.encode(x.text)) {
      total++;
      if (id === tok.unkId) unk++;
    }
  return unk / total;
}

function run(cfg: UlmfitStudyConfig, options: { progress?: (done: number, total: number, label: string) => void } = {}): UlmfitStudyResult {
  const split = data(cfg);
  const lm = pretrainedLstm("word-lstm", { smoke: cfg.smokeLm });
  const lmTok = lm.tokenizer;
  const tok = targetTokenizer(split.train, split.valid, cfg.minCount);
  const text = (items: LabelledSentence[]) => items.map((x) => x.text).join("\n");
  const targetTrainIds = tok.encode(text(split.train)),
    targetValidIds = tok.encode(text(split.valid));
  const { params: transferred, known, fresh } = transferLm(lm.params, lmTok, tok);
  const entry = lm.manifest.files.find((f) => f.file === "model.safetensors");
  let done = 0;
  const ladderRuns = RUNGS.length * (cfg.grid.length * cfg.dropouts.length + 1 + cfg.seeds.length);
  const sweepRuns = cfg.sweepLabels.length * 2 * (cfg.grid.length + 1 + cfg.sweepSeeds.length);
  const total = cfg.lmFinetune.grid.length + ladderRuns + sweepRuns;
  const tick = (label: string) => options.progress?.(++done, Math.max(total, done), label);

  // --- LM fine-tuning on the target text: the peak rate chosen on the target's validation text
  const lmLossOn = (p: RnnLmParams, ids: ArrayLike<number>) => {
    const batches = lmEvalBatches(ids, {
      batchSize: cfg.lmFinetune.batchSize,
      seqLen: cfg.lmFinetune.seqLen,
      maxBatches: cfg.lmFinetune.evalBatches,
    });
    const loss = evaluateLm((x) => rnnLmLogits(p, x), batches).loss;
    disposeBatches(batches);
    return loss;
  };
  const targetLossBefore = lmLossOn(transferred, targetValidIds);
  const tried: UlmfitStudyResult["lm"]["tried"] = [];
  const lmRuns = new Map<number, RnnLmParams>();
  const lmChoice = chooseLearningRate(
    cfg.lmFinetune.grid,
    (lr) => {
      const p = cloneParams(transferred);
      const r = trainRnnLm({
        params: p,
        trainIds: targetTrainIds,
        validIds: targetValidIds,
        steps: cfg.lmFinetune.steps,
        batchSize: cfg.lmFinetune.batchSize,
        seqLen: cfg.lmFinetune.seqLen,
        seed: 2,
        lr: (s) => slantedTriangularLR(s, { totalSteps: cfg.lmFinetune.steps, lrMax: lr }),
        lrScale: lmDiscriminativeLrScale(p),
        evalEvery: cfg.lmFinetune.evalEvery,
        evalBatches: cfg.lmFinetune.evalBatches,
        clipNorm: 1,
      });
      tried.push({ lr, valSteps: r.valSteps, valLosses: r.valLosses });
      lmRuns.set(lr, p);
      tick(`LM fine-tuning at ${lr}`);
      return r.valLosses[r.valLosses.length - 1];
    },
    { factor: cfg.factor, maxExtensions: cfg.lmFinetune.extensions },
  );
  const chosenLr = lmChoice.best;
  const tuned = lmRuns.get(chosenLr)!;
  for (const [lr, p] of lmRuns) if (lr !== chosenLr) disposeParams(p);
  tried.sort((a, b) => a.lr - b.lr);
  const meanRow = tf.tidy(() => tf.mean(lm.params.embedding, 0).arraySync() as number[]);
  const tunedRows = tuned.embedding.arraySync() as number[][];
  const rowDistance = (ids: number[]) =>
    ids.length === 0
      ? 0
      : ids.reduce((acc, id) => acc + Math.sqrt(tunedRows[id].reduce((a, x, k) => a + (x - meanRow[k]) ** 2, 0)), 0) / ids.length;
  const targetBaselines = ngramBaselines(targetTrainIds, targetValidIds, tok.vocabSize);
  const targetConfig = { ...transferred.config };

  // --- sentences
  const encode = (items: LabelledSentence[]) => encodeSentences(tok, items, cfg.maxWords);
  const validSet = encode(split.valid),
    testSet = encode(split.test),
    trainAll = encode(split.train);
  const subsetOf = (labels: number, seed: number) => (labels > 0 ? labelSubset(split.train, labels, seed) : split.train);

  // --- frozen-feature probes and naive Bayes
  const encoders = { random: initRnnLm({ ...targetConfig, seed: 101 }), pretrained: transferred, tuned: tuned };
  const features = Object.fromEntries(
    Object.entries(encoders).map(([name, enc]) => [
      name,
      { valid: pooledFeatures(enc, validSet), test: pooledFeatures(enc, testSet), train: pooledFeatures(enc, trainAll) },
    ]),
  ) as Record<"random" | "pretrained" | "tuned", { valid: number[][]; test: number[][]; train: number[][] }>;
  const indexOf = new Map(split.train.map((x, i) => [x, i]));
  const probes: UlmfitStudyResult["probes"] = [];
  const naiveBayes: UlmfitStudyResult["naiveBayes"] = [];
  for (const labels of cfg.probe.labels)
    for (const seed of labels > 0 ? cfg.seeds : [cfg.seeds[0]]) {
      const subset = subsetOf(labels, seed);
      const y = subset.map((x) => x.label);
      for (const name of ["random", "pretrained", "tuned"] as const) {
        const f = features[name];
        const x = subset.map((s) => f.train[indexOf.get(s)!]);
        const { probe, scores } = chooseLinearProbe({ x, y }, { x: f.valid, y: validSet.labels }, { classes: 2, l2s: cfg.probe.l2s });
        probes.push({
          encoder: name,
          labels,
          seed,
          l2: probe.l2,
          validError: scores.find((s) => s.l2 === probe.l2)!.validError,
          testError: probeError(probe, f.test, testSet.labels),
        });
      }
      const nbTrain = encode(subset);
      naiveBayes.push({
        labels,
        seed,
        validError: 1 - naiveBayesSentences(nbTrain, validSet, tok.vocabSize).accuracy,
        testError: 1 - naiveBayesSentences(nbTrain, testSet, tok.vocabSize).accuracy,
      });
    }
  disposeParams(encoders.random);

  // --- classifiers
  const classify = (
    rungName: Rung,
    labels: number,
    seed: number,
    lr: number,
    dropout: number,
    extra: number,
    permuted = false,
  ): UlmfitClassifierRun => {
    const rung = RUNGS.find((r) => r.rung === rungName)!;
    const encoder =
      rung.encoder === "scratch"
        ? initRnnLm({ ...targetConfig, seed: 100 + seed })
        : cloneParams(rung.encoder === "pretrained" ? transferred : tuned);
    encoder.config = { ...encoder.config, dropout };
    const clf = initRnnClassifier(encoder, { classes: 2, seed });
    const subset = subsetOf(labels, seed);
    const permutedLabels = createRng(1000 + seed).shuffle(subset.map((x) => x.label));
    const trainSet = encode(permuted ? subset.map((x, i) => ({ ...x, label: permutedLabels[i] })) : subset);
    const epochs = rnnGroupCount(clf) + extra;
    const r = trainRnnClassifier({
      params: clf,
      data: trainSet,
      epochs,
      batchSize: cfg.batchSize[key(labels)],
      lr,
      discriminative: rung.discriminative,
      stlr: rung.stlr,
      gradualUnfreezing: rung.gradualUnfreezing,
      adam: cfg.adam,
      validation: validSet,
      seed,
    });
    const valid = evaluateRnnClassifier(clf, validSet);
    const test = evaluateRnnClassifier(clf, testSet);
    const out: UlmfitClassifierRun = {
      rung: rungName,
      labels,
      seed,
      lr,
      dropout,
      epochs,
      trainError: evaluateRnnClassifier(clf, trainSet).error,
      validError: valid.error,
      validLoss: valid.loss,
      testError: test.error,
      testErrorRecalibrated: NaN,
      validCurve: r.validationByEpoch.map((v) => v.error),
      trainLossCurve: r.trainLossByEpoch,
      testCorrect: Array.from(test.correct).join(""),
      permuted,
      seconds: r.seconds,
    };
    recalibrateBatchNorm(clf, trainAll);
    out.testErrorRecalibrated = evaluateRnnClassifier(clf, testSet).error;
    disposeParams(clf);
    return out;
  };
  /**
   * The rate seed at every (rate, dropout) of the grid (rates extended at an edge) on the short
   * schedule, then the long schedule at the best (rate, dropout), then the seeds at the best of all.
   */
  const arm = (rung: Rung, labels: number, dropouts: number[], seeds: number[]): ArmChoice => {
    const triedRuns: UlmfitClassifierRun[] = [];
    const short = cfg.extraEpochs[key(labels)],
      long = cfg.longExtraEpochs[key(labels)];
    const perDropout = dropouts.map((dropout) => {
      const choice = chooseLearningRate(
        cfg.grid,
        (lr) => {
          const r = classify(rung, labels, cfg.rateSeed, lr, dropout, short);
          triedRuns.push(r);
          tick(`${rung} · ${labels || "all"} labels · rate ${lr}, dropout ${dropout}: valid error ${(100 * r.validError).toFixed(1)}%`);
          return validationScore(r);
        },
        { factor: cfg.factor, maxExtensions: cfg.extensions },
      );
      const score = Math.min(...choice.scores.map((s) => s.score));
      return { dropout, choice, score };
    });
    const chosen = perDropout.reduce((a, b) => (b.score < a.score ? b : a));
    const shortRun = triedRuns.find((r) => r.lr === chosen.choice.best && r.dropout === chosen.dropout)!;
    const longRun = classify(rung, labels, cfg.rateSeed, chosen.choice.best, chosen.dropout, long);
    tick(`${rung} · ${labels || "all"} labels · ${longRun.epochs} epochs: valid error ${(100 * longRun.validError).toFixed(1)}%`);
    const epochsTried = [
      { run: shortRun, extraEpochs: short },
      { run: longRun, extraEpochs: long },
    ].map(({ run: r, extraEpochs }) => ({
      extraEpochs,
      epochs: r.epochs,
      score: validationScore(r),
      validError: r.validError,
      trainLossCurve: r.trainLossCurve,
    }));
    const extra = epochsTried.reduce((a, b) => (b.score < a.score ? b : a)).extraEpochs;
    const runs = seeds.map((seed) => {
      const r = classify(rung, labels, seed, chosen.choice.best, chosen.dropout, extra);
      tick(`${rung} · ${labels || "all"} labels · seed ${seed}: test error ${(100 * r.testError).toFixed(1)}%`);
      return r;
    });
    return {
      rung,
      labels,
      lr: chosen.choice.best,
      dropout: chosen.dropout,
      atEdge: chosen.choice.atEdge,
      extraEpochs: extra,
      epochsTried,
      tried: triedRuns.map((r) => ({
        lr: r.lr,
        dropout: r.dropout,
        validLoss: r.validLoss,
        validError: r.validError,
        score: validationScore(r),
      })),
      runs,
    };
  };
  const ladder = RUNGS.map((r) => arm(r.rung, cfg.ladderLabels, cfg.dropouts, cfg.seeds));
  const dropoutOf = (rung: Rung) => ladder.find((a) => a.rung === rung)!.dropout;
  const sweep = cfg.sweepLabels.flatMap((labels) =>
    (["scratch", "ulmfit"] as const).map((rung) => arm(rung, labels, [dropoutOf(rung)], cfg.sweepSeeds)),
  );
  const full = ladder.find((a) => a.rung === "ulmfit")!;
  const shuffledLabels = cfg.controls
    ? cfg.seeds.map((seed) => {
        const r = classify("ulmfit", cfg.ladderLabels, seed, full.lr, full.dropout, full.extraEpochs, true);
        tick(`ulmfit · permuted labels · seed ${seed}: test error ${(100 * r.testError).toFixed(1)}%`);
        return r;
      })
    : [];

  const result: UlmfitStudyResult = {
    lmCheckpointSha256: entry?.sha256 ?? "",
    data: { train: split.train.length, valid: split.valid.length, test: split.test.length },
    vocabulary: {
      target: tok.vocabSize,
      lm: lmTok.vocabSize,
      knownToLm: known.length,
      unkRateTargetVocab: unkShare(tok, split.test),
      unkRateLmVocab: unkShare(lmTok, split.test),
    },
    lm: {
      pretrainedValLoss: lm.manifest.finalValLoss,
      unigram: lm.manifest.baselines.unigram,
      bigram: lm.manifest.baselines.bigram,
      targetLossBefore,
      tried,
      chosenLr,
      atEdge: lmChoice.atEdge,
      targetLossAfter: lmLossOn(tuned, targetValidIds),
      targetBaselines: { unigram: targetBaselines.unigram, bigram: targetBaselines.bigram },
      freshRowDistance: rowDistance(fresh.filter((id) => id > 1)),
      knownRowDistance: rowDistance(known.filter((id) => id > 1)),
    },
    probes,
    naiveBayes,
    ladder,
    sweep,
    shuffledLabels,
  };
  disposeParams([lm.params, transferred, tuned]);
  return result;
}

const common = {
  splitSeed: 1,
  maxWords: 40,
  minCount: 1,
  factor: 3,
  extensions: 1,
  rateSeed: 1,
  adam: { beta1: 0.7, beta2: 0.99 },
  controls: true,
};

export const ULMFIT_STUDY: Study<UlmfitStudyConfig, UlmfitStudyResult> = {
  name: "ulmfit-ladder",
  description:
    "ULMFiT on the UCI review sentences: word-lstm transferred to the target vocabulary, LM fine-tuning, probes, the ablation ladder at 100 labels (5 seeds), the labels sweep and a shuffled-label control (≈ 30 min)",
  full: {
    ...common,
    smokeLm: false,
    trainSentences: 0,
    lmFinetune: { grid: [1e-3, 3e-3, 1e-2], extensions: 2, steps: 400, batchSize: 16, seqLen: 32, evalEvery: 50, evalBatches: 16 },
    probe: { l2s: [1e-4, 1e-3, 1e-2, 1e-1, 1, 10], labels: [100, 0] },
    ladderLabels: 100,
    grid: [1e-3, 3e-3, 1e-2],
    dropouts: [0.1, 0.4],
    extensions: 2,
    seeds: [2, 3, 4, 5, 6],
    sweepLabels: [500, 0],
    sweepSeeds: [2, 3, 4],
    extraEpochs: { "100": 6, "500": 4, "0": 2 },
    longExtraEpochs: { "100": 16, "500": 10, "0": 6 },
    batchSize: { "100": 16, "500": 32, "0": 64 },
  },
  smoke: {
    ...common,
    smokeLm: true,
    maxWords: 16,
    trainSentences: 200,
    lmFinetune: { grid: [1e-3, 1e-2], extensions: 0, steps: 4, batchSize: 4, seqLen: 8, evalEvery: 2, evalBatches: 2 },
    probe: { l2s: [1e-3, 1e-1], labels: [100] },
    ladderLabels: 100,
    grid: [1e-3, 1e-2],
    dropouts: [0.1],
    seeds: [2, 3],
    sweepLabels: [0],
    sweepSeeds: [2, 3],
    extraEpochs: { "100": 1, "500": 1, "0": 1 },
    longExtraEpochs: { "100": 2, "500": 2, "0": 2 },
    batchSize: { "100": 50, "500": 50, "0": 100 },
    extensions: 0,
  },
  run,
};
