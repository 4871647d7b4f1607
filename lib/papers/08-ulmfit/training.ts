/**
 * ULMFiT's training recipe (Howard & Ruder 2018) for the LSTM of `models/lstm.ts` and the classifier in `classifier.ts`, as
 * composable options: discriminative learning rates per layer group (lr_{l−1} = lr_l / 2.6), the
 * slanted triangular schedule per iteration (`slantedTriangularLR`), and gradual unfreezing (in
 * epoch e = 0, 1, … the top e + 1 groups train). Layer groups, bottom to top: the embedding, each
 * LSTM layer, the classifier head.
 */
import { type EncodedSentences, type LmBatch, disposeBatches, lmBatcher, lmEvalBatches, sentenceBatch } from "../../data/batches";
import { type Rng, createRng } from "../../engine/rng";
import { crossEntropy } from "../../models/loss";
import { namedVariables } from "../../models/params";
import { type RnnLmParams, rnnLmLogits } from "../../models/lstm";
import { type RnnClassifierParams, rnnClassify } from "./classifier";
import { evaluateLm, evaluateSentences } from "../../train/evaluate";
import { Adam, type AdamConfig } from "../../train/optimizer";
import { slantedTriangularLR } from "../../train/schedules";
import { type ProgressSink, RUN_OPTIONS_SCHEMA, type RunOptions, type TrainResult, train } from "../../train/trainer";
import { type OptionsSchema, checkOptions } from "../../config";

/** Group of each classifier variable: 0 embedding, 1…L the LSTM layers, L + 1 the head; −1 for the LM decoder (unused). */
export function rnnLayerGroup(name: string): number {
  if (name === "encoder.embedding") return 0;
  const layer = /^encoder\.layers\.(\d+)\./.exec(name);
  if (layer) return Number(layer[1]) + 1;
  if (name.startsWith("head.")) return Number.POSITIVE_INFINITY; // resolved against the group count by callers
  if (name.startsWith("encoder.decoder")) return -1;
  throw new Error(`rnnLayerGroup: no layer group for "${name}"`);
}

/** Number of layer groups of a classifier: embedding + LSTM layers + head. */
export function rnnGroupCount(params: RnnClassifierParams): number {
  return params.encoder.layers.length + 2;
}

function groupOf(params: RnnClassifierParams, name: string): number {
  const g = rnnLayerGroup(name);
  return g === Number.POSITIVE_INFINITY ? rnnGroupCount(params) - 1 : g;
}

/** Discriminative fine-tuning: the top group at scale 1, each group below at 1/factor of the one above. */
export function discriminativeLrScale(params: RnnClassifierParams, factor = 2.6): (name: string) => number {
  if (!(factor >= 1)) throw new Error(`discriminativeLrScale: factor must be ≥ 1, got ${factor}`);
  const top = rnnGroupCount(params) - 1;
  return (name) => {
    const g = groupOf(params, name);
    return g < 0 ? 0 : factor ** -(top - g);
  };
}

/** Gradual unfreezing: in epoch e (0-based) the top e + 1 groups train (all of them from epoch groups − 1 on). */
export function unfrozenAt(params: RnnClassifierParams, epoch: number): (name: string) => boolean {
  if (!(Number.isInteger(epoch) && epoch >= 0)) throw new Error(`unfrozenAt: epoch must be a non-negative integer, got ${epoch}`);
  const n = rnnGroupCount(params);
  const lowest = Math.max(0, n - 1 - epoch);
  return (name) => groupOf(params, name) >= lowest;
}

/**
 * Layer groups of the language model itself (the LM fine-tuning stage): 0 the embedding, l the
 * LSTM layer l − 1 for l = 1…L; the decoder (tied or not) and its bias go with the top layer, L.
 */
export function lmLayerGroup(name: string, nLayers: number): number {
  if (name === "embedding") return 0;
  const layer = /^layers\.(\d+)\./.exec(name);
  if (layer) return Number(layer[1]) + 1;
  if (name === "decoder" || name === "decoderBias") return nLayers;
  throw new Error(`lmLayerGroup: no layer group for "${name}"`);
}

/** Discriminative LM fine-tuning (§3.2): the top group at scale 1, each group below at 1/factor of the one above. */
export function lmDiscriminativeLrScale(params: RnnLmParams, factor = 2.6): (name: string) => number {
  if (!(factor >= 1)) throw new Error(`lmDiscriminativeLrScale: factor must be ≥ 1, got ${factor}`);
  const top = params.layers.length;
  return (name) => factor ** -(top - lmLayerGroup(name, top));
}

// ---------------------------------------------------------------------------------------------
// Sentences as padded batches

/** Error rate (and loss) of a classifier on sentences, in batches. */
export function evaluateRnnClassifier(
  params: RnnClassifierParams,
  data: EncodedSentences,
  batchSize = 64,
): { error: number; loss: number; correct: Uint8Array } {
  const e = evaluateSentences((tokens, lengths) => rnnClassify(params, tokens, lengths), data, batchSize);
  return { error: (e.count - e.right) / e.count, loss: e.loss, correct: e.correct };
}

// ---------------------------------------------------------------------------------------------
// Training

export interface ClassifierTrainOptions {
  params: RnnClassifierParams;
  data: EncodedSentences;
  epochs: number;
  batchSize: number;
  /** Peak learning rate (the top group's). */
  lr: number;
  /** Discriminative rates: false, true (factor 2.6) or the factor. */
  discriminative?: boolean | number;
  /** Slanted triangular schedule over all iterations (else constant lr). */
  stlr?: boolean;
  /**
   * Gradual unfreezing: in epoch e the top e + 1 layer groups train; from epoch groups − 1 on, all
   * of them. `epochs` must leave at least one epoch with every group unfrozen.
   */
  gradualUnfreezing?: boolean;
  /** Adam's settings (ULMFiT: β₁ 0.7, β₂ 0.99); the library's defaults otherwise. */
  adam?: Partial<AdamConfig>;
  /** Scored after every epoch (error and loss), to show the run has converged; never used to train. */
  validation?: EncodedSentences;
  /** Seeds the batch order and dropout. */
  seed: number;
  progress?: ProgressSink;
  /** Called after each epoch (0-based), e.g. to look at the weights. */
  onEpoch?: (epoch: number) => void;
}

const CLASSIFIER_TRAIN_SCHEMA: OptionsSchema<ClassifierTrainOptions> = {
  params: { kind: "object", what: "classifier params (initRnnClassifier)" },
  data: { kind: "object", what: "encoded sentences (encodeSentences)" },
  epochs: { kind: "int", min: 1 },
  batchSize: { kind: "int", min: 1 },
  lr: { kind: "number", min: 0 },
  discriminative: { kind: "either", of: [{ kind: "bool" }, { kind: "number", min: 0, minExclusive: true }], optional: true },
  stlr: { kind: "bool", optional: true },
  gradualUnfreezing: { kind: "bool", optional: true },
  adam: { kind: "object", what: "Adam settings ({ beta1, beta2, eps, weightDecay })", optional: true },
  validation: { kind: "object", what: "encoded sentences (encodeSentences)", optional: true },
  seed: { kind: "int" },
  progress: { kind: "object", what: "a progress sink (in a notebook, ta.progressBar(label))", optional: true },
  onEpoch: { kind: "function", signature: "(epoch) => void", optional: true },
};

export interface ClassifierTrainResult {
  losses: number[];
  lrs: number[];
  /** Trainable variable names in each epoch (to check unfreezing). */
  trainableByEpoch: string[][];
  /** Validation error and loss after each epoch (when `validation` was given). */
  validationByEpoch: { error: number; loss: number }[];
  /** Mean training loss (with dropout) of each epoch's steps. */
  trainLossByEpoch: number[];
  seconds: number;
}

/** Fine-tunes a classifier with any combination of ULMFiT's three tricks. */
export function trainRnnClassifier(o: ClassifierTrainOptions): ClassifierTrainResult {
  checkOptions("trainRnnClassifier", o, CLASSIFIER_TRAIN_SCHEMA);
  const n = o.data.ids.length;
  if (n === 0) throw new Error("trainRnnClassifier: no training sentences");
  const groups = rnnGroupCount(o.params);
  if (o.gradualUnfreezing && o.epochs < groups)
    throw new Error(
      `trainRnnClassifier: gradual unfreezing of ${groups} layer groups needs at least ${groups} epochs (the last with every group unfrozen), got ${o.epochs}`,
    );
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const total = stepsPerEpoch * o.epochs;
  const factor = o.discriminative === true ? 2.6 : typeof o.discriminative === "number" ? o.discriminative : 1;
  const discriminative = discriminativeLrScale(o.params, factor);
  const usedByClassifier = (name: string) => groupOf(o.params, name) >= 0;
  const all = namedVariables(o.params);
  const adam = new Adam(all, o.adam);
  const rng = createRng(o.seed);
  const result: ClassifierTrainResult = {
    losses: [],
    lrs: [],
    trainableByEpoch: [],
    validationByEpoch: [],
    trainLossByEpoch: [],
    seconds: 0,
  };
  const start = performance.now();
  const bar = o.progress;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const unfrozen = o.gradualUnfreezing ? unfrozenAt(o.params, epoch) : () => true;
    const trainable = (name: string) => usedByClassifier(name) && unfrozen(name);
    result.trainableByEpoch.push([...all.keys()].filter(trainable));
    const order = rng.fork(`epoch ${epoch}`).shuffle(Array.from({ length: n }, (_, i) => i));
    const offset = epoch * stepsPerEpoch;
    const dropoutRng: Rng = rng.fork(`dropout ${epoch}`);
    const run: TrainResult = train({
      params: o.params,
      steps: stepsPerEpoch,
      adam,
      trainable,
      lrScale: discriminative,
      callbacks: bar ? [{ onStep: ({ step, loss }) => bar.update(offset + step + 1, total, { loss }) }] : [],
      lr: (s) => (o.stlr ? slantedTriangularLR(offset + s, { totalSteps: total, lrMax: o.lr }) : o.lr),
      loss: (s) => {
        const b = sentenceBatch(o.data, order.slice(s * o.batchSize, (s + 1) * o.batchSize));
        return crossEntropy(rnnClassify(o.params, b.tokens, b.lengths, { rng: dropoutRng }), b.labels);
      },
    });
    result.losses.push(...run.losses);
    result.lrs.push(...run.lrs);
    result.trainLossByEpoch.push(run.losses.reduce((a, b) => a + b, 0) / run.losses.length);
    if (o.validation) {
      const v = evaluateRnnClassifier(o.params, o.validation);
      result.validationByEpoch.push({ error: v.error, loss: v.loss });
    }
    o.onEpoch?.(epoch);
  }
  adam.dispose();
  bar?.done();
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

export interface RnnLmTrainOptions extends RunOptions {
  params: RnnLmParams;
  trainIds: ArrayLike<number>;
  validIds: ArrayLike<number>;
  batchSize: number;
  seqLen: number;
  seed: number;
  evalEvery: number;
  evalBatches: number;
  /** Per-variable rate multiplier (names "embedding", "layers.0.wx", …, "decoderBias"): discriminative fine-tuning. */
  lrScale?: (name: string) => number;
}

const RNN_LM_TRAIN_SCHEMA: OptionsSchema<RnnLmTrainOptions> = {
  ...RUN_OPTIONS_SCHEMA,
  params: { kind: "object", what: "LSTM LM params (initRnnLm)" },
  trainIds: { kind: "numbers" },
  validIds: { kind: "numbers" },
  batchSize: { kind: "int", min: 1 },
  seqLen: { kind: "int", min: 1 },
  seed: { kind: "int" },
  evalEvery: { kind: "int", min: 1 },
  evalBatches: { kind: "int", min: 1 },
  lrScale: { kind: "function", signature: "(name) => number", optional: true },
};

/** Next-token training of an LSTM LM (with dropout); validation loss at the start and every `evalEvery` steps. */
export function trainRnnLm(o: RnnLmTrainOptions): { result: TrainResult; valSteps: number[]; valLosses: number[] } {
  checkOptions("trainRnnLm", o, RNN_LM_TRAIN_SCHEMA);
  const batches = lmBatcher(o.trainIds, { batchSize: o.batchSize, seqLen: o.seqLen, seed: o.seed });
  const valid: LmBatch[] = lmEvalBatches(o.validIds, { batchSize: o.batchSize, seqLen: o.seqLen, maxBatches: o.evalBatches });
  const dropoutRng = createRng(o.seed + 7919);
  const validLoss = () => evaluateLm((x) => rnnLmLogits(o.params, x), valid).loss;
  const first = validLoss();
  const result = train({
    params: { embedding: o.params.embedding, layers: o.params.layers, decoderBias: o.params.decoderBias, decoder: o.params.decoder },
    steps: o.steps,
    lr: o.lr,
    clipNorm: o.clipNorm,
    optimizer: o.optimizer,
    budgetSeconds: o.budgetSeconds,
    lrScale: o.lrScale,
    progress: o.progress,
    callbacks: o.callbacks,
    memoryLimitMB: o.memoryLimitMB,
    evaluate: () => ({ valLoss: validLoss() }),
    evalEvery: o.evalEvery,
    loss: () => {
      const b = batches.next();
      return crossEntropy(rnnLmLogits(o.params, b.inputs, { rng: dropoutRng }), b.targets);
    },
  });
  disposeBatches(valid);
  return { result, valSteps: [0, ...result.evals.map((e) => e.step)], valLosses: [first, ...result.evals.map((e) => e.metrics.valLoss)] };
}
