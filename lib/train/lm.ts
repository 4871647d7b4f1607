/**
 * One language-model training run from token ids: the pattern most notebooks repeat (seeded
 * batches, periodic validation on fixed windows, optional time budget, optional probes). Causal LM
 * (next token) or masked LM (BERT-style, scored on the masked positions; the model's last
 * vocabulary id is [MASK]). The model is any `LmModel` — `transformerLm(config)` in the core,
 * `gmlpLm(config)` in papers/03-gmlp — so this loop knows no architecture.
 */
import type * as tf from "@tensorflow/tfjs";
import { type OptionsSchema, checkOptions } from "../config";
import {
  type LmBatch,
  type MlmBatch,
  disposeBatches,
  disposeMlmBatches,
  lmBatcher,
  lmEvalBatches,
  mlmBatcher,
  mlmEvalBatches,
} from "../data/batches";
import { crossEntropy } from "../models/loss";
import { evaluateLm } from "./evaluate";
import { type Callback, RUN_OPTIONS_SCHEMA, type RunOptions, type TrainResult, checkTrainingMemory, train } from "./trainer";

/** A language model as a training run sees it. */
/** Seeds of the masked-LM evaluation masks (validation, test): fixed, so every run is scored on the same masks. */
export const MLM_EVAL_SEEDS = { valid: 12345, test: 54321 } as const;

export interface LmModel {
  /** The params object whose variables train. */
  params: object;
  /** Longest input; the run's windows have this length. */
  seqLen: number;
  vocabSize: number;
  /** Token ids [B, T] → logits [B, T, V]. */
  logits(tokens: tf.Tensor): tf.Tensor;
  /**
   * The training loss of a batch, when it is more than the cross-entropy of `logits` (e.g. with a
   * regulariser). Validation always uses plain cross-entropy.
   */
  trainingLoss?(batch: { inputs: tf.Tensor; targets: tf.Tensor; weights?: tf.Tensor }): tf.Scalar;
  /**
   * Estimated peak bytes of one training step (forward and backward) on a batch of `batchSize`
   * windows of `seqLen`, for the memory check before the run; omitted, only the gradients count.
   */
  stepBytes?(batchSize: number): number;
}

export interface LmRunOptions extends RunOptions {
  /** Trained in place; the caller owns it (and disposes its params). */
  model: LmModel;
  /** "causal" (default): predict the next token; "masked": BERT-style, [MASK] = vocabSize − 1. */
  objective?: "causal" | "masked";
  trainIds: ArrayLike<number>;
  validIds: ArrayLike<number>;
  batchSize: number;
  /** Seeds the batch order (the weights come from the model's own seed). */
  dataSeed: number;
  evalEvery: number;
  evalBatches: number;
  /**
   * Test token ids, scored once at the end on windows spread over the split like validation's
   * (`testLoss`): the number a comparison reports, never one a choice is made by.
   */
  testIds?: ArrayLike<number>;
  /** Measurements of the model taken at step 0 and every `every` steps (e.g. attention entropy). */
  probe?: { every: number; measure: (model: LmModel) => Record<string, number> };
}

export interface LmRun {
  result: TrainResult;
  /** Validation loss at step 0 and at every evaluation. */
  valSteps: number[];
  valLosses: number[];
  finalValLoss: number;
  /** Loss on `testIds` at the end (NaN when no test ids were given). */
  testLoss: number;
  /** What `probe` measured, at step 0 and every `probe.every` steps. */
  probes: { step: number; values: Record<string, number> }[];
}

const LM_RUN_SCHEMA: OptionsSchema<LmRunOptions> = {
  ...RUN_OPTIONS_SCHEMA,
  model: { kind: "object", what: "a language model ({ params, seqLen, vocabSize, logits }, e.g. ta.transformerLm(config))" },
  objective: { kind: "enum", values: ["causal", "masked"], optional: true },
  trainIds: { kind: "numbers" },
  validIds: { kind: "numbers" },
  batchSize: { kind: "int", min: 1 },
  dataSeed: { kind: "int" },
  evalEvery: { kind: "int", min: 1 },
  evalBatches: { kind: "int", min: 1 },
  testIds: { kind: "numbers", optional: true },
  probe: { kind: "object", what: "{ every, measure }", optional: true },
};

/**
 * Token ids must be vocabulary entries of the model: an id outside [0, vocabSize) would make the
 * embedding lookup fail deep inside a step, or (as a target) be scored as something else.
 */
function checkTokenIds(who: string, field: string, ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new Error(`${who}: ${field}[${i}] is ${id}, not a token id of the model's vocabulary [0, ${vocabSize})`);
  }
}

export function trainLanguageModel(o: LmRunOptions): LmRun {
  checkOptions("trainLanguageModel", o, LM_RUN_SCHEMA);
  const { model } = o;
  const { seqLen, vocabSize } = model;
  const masked = o.objective === "masked";
  // The masked objective's last id is [MASK]: the data must not contain it.
  const dataVocab = masked ? vocabSize - 1 : vocabSize;
  checkTokenIds("trainLanguageModel", "trainIds", o.trainIds, dataVocab);
  checkTokenIds("trainLanguageModel", "validIds", o.validIds, dataVocab);
  if (o.testIds) checkTokenIds("trainLanguageModel", "testIds", o.testIds, dataVocab);
  // Before the first forward pass (validation at step 0): a run that cannot fit is refused at once.
  checkTrainingMemory("trainLanguageModel", {
    params: model.params,
    stepBytes: model.stepBytes?.(o.batchSize),
    memoryLimitMB: o.memoryLimitMB,
  });
  const mlm = { batchSize: o.batchSize, seqLen, maskId: vocabSize - 1, vocabSize: vocabSize - 1 };
  const batcher: { next(): LmBatch | MlmBatch } = masked
    ? mlmBatcher(o.trainIds, { ...mlm, seed: o.dataSeed })
    : lmBatcher(o.trainIds, { batchSize: o.batchSize, seqLen, seed: o.dataSeed });
  const valid: (LmBatch | MlmBatch)[] = masked
    ? mlmEvalBatches(o.validIds, { ...mlm, maxBatches: o.evalBatches, seed: MLM_EVAL_SEEDS.valid })
    : lmEvalBatches(o.validIds, { batchSize: o.batchSize, seqLen, maxBatches: o.evalBatches });
  const validLoss = () => evaluateLm((tokens) => model.logits(tokens), valid).loss;
  const first = validLoss();
  const probes: LmRun["probes"] = [];
  const probe = o.probe;
  if (probe && !(Number.isInteger(probe.every) && probe.every > 0))
    throw new Error(`trainLanguageModel: probe.every must be a positive integer, got ${probe.every}`);
  if (probe) probes.push({ step: 0, values: probe.measure(model) });
  const callbacks: Callback[] = [...(o.callbacks ?? [])];
  if (probe)
    callbacks.push({
      onStep: ({ step }) => {
        if ((step + 1) % probe.every === 0) probes.push({ step: step + 1, values: probe.measure(model) });
      },
    });
  const result = train({
    params: model.params,
    steps: o.steps,
    lr: o.lr,
    clipNorm: o.clipNorm,
    optimizer: o.optimizer,
    budgetSeconds: o.budgetSeconds,
    callbacks,
    progress: o.progress,
    memoryLimitMB: o.memoryLimitMB,
    stepBytes: model.stepBytes?.(o.batchSize),
    loss: () => {
      const b = batcher.next();
      const weights = "weights" in b ? b.weights : undefined;
      if (model.trainingLoss) return model.trainingLoss({ inputs: b.inputs, targets: b.targets, weights });
      return crossEntropy(model.logits(b.inputs), b.targets, weights);
    },
    evaluate: () => ({ valLoss: validLoss() }),
    evalEvery: o.evalEvery,
  });
  if (masked) disposeMlmBatches(valid as MlmBatch[]);
  else disposeBatches(valid as LmBatch[]);
  let testLoss = Number.NaN;
  if (o.testIds) {
    const test: (LmBatch | MlmBatch)[] = masked
      ? mlmEvalBatches(o.testIds, { ...mlm, maxBatches: o.evalBatches, seed: MLM_EVAL_SEEDS.test })
      : lmEvalBatches(o.testIds, { batchSize: o.batchSize, seqLen, maxBatches: o.evalBatches });
    testLoss = evaluateLm((tokens) => model.logits(tokens), test).loss;
    if (masked) disposeMlmBatches(test as MlmBatch[]);
    else disposeBatches(test as LmBatch[]);
  }
  const valSteps = [0, ...result.evals.map((e) => e.step)];
  const valLosses = [first, ...result.evals.map((e) => e.metrics.valLoss)];
  return { result, valSteps, valLosses, finalValLoss: valLosses[valLosses.length - 1], testLoss, probes };
}
