/**
 * One causal-LM training run from token ids: the pattern most notebooks repeat (fresh model from
 * a config, seeded batches, periodic validation on fixed windows, optional time budget).
 */
import { disposeBatches, lmBatcher, lmEvalBatches } from "../data/batches";
import { crossEntropy } from "../models/loss";
import { disposeParams } from "../models/params";
import { TransformerConfig, TransformerParams, initTransformer, transformerForward } from "../models/transformer";
import { evaluateLm } from "./evaluate";
import { AdamConfig } from "./optimizer";
import { Schedule } from "./schedules";
import { Callback, TrainResult, train } from "./trainer";

export interface LmRunOptions {
  config: TransformerConfig;
  trainIds: ArrayLike<number>;
  validIds: ArrayLike<number>;
  steps: number;
  lr: number | Schedule;
  batchSize: number;
  /** Seeds the batch order (the weights come from config.seed). */
  dataSeed: number;
  evalEvery: number;
  evalBatches: number;
  clipNorm?: number;
  optimizer?: Partial<AdamConfig>;
  budgetSeconds?: number;
  callbacks?: Callback[];
  progress?: string | false;
  /** Return the trained params (the caller disposes them); otherwise they are freed. */
  keepParams?: boolean;
}

export interface LmRun {
  result: TrainResult;
  /** Validation loss at step 0 and at every evaluation. */
  valSteps: number[];
  valLosses: number[];
  finalValLoss: number;
  params?: TransformerParams;
}

export function trainLanguageModel(o: LmRunOptions): LmRun {
  const params = initTransformer(o.config);
  const seqLen = o.config.seqLen;
  const batcher = lmBatcher(o.trainIds, { batchSize: o.batchSize, seqLen, seed: o.dataSeed });
  const valid = lmEvalBatches(o.validIds, { batchSize: o.batchSize, seqLen, maxBatches: o.evalBatches });
  const logits = (x: Parameters<typeof transformerForward>[1]) => transformerForward(params, x).logits;
  const validLoss = () => evaluateLm(logits, valid).loss;
  const first = validLoss();
  const result = train({
    params,
    steps: o.steps,
    lr: o.lr,
    clipNorm: o.clipNorm,
    optimizer: o.optimizer,
    budgetSeconds: o.budgetSeconds,
    callbacks: o.callbacks,
    progress: o.progress,
    loss: () => {
      const b = batcher.next();
      return crossEntropy(logits(b.inputs), b.targets);
    },
    evaluate: () => ({ valLoss: validLoss() }),
    evalEvery: o.evalEvery,
  });
  disposeBatches(valid);
  const valSteps = [0, ...result.evals.map((e) => e.step)];
  const valLosses = [first, ...result.evals.map((e) => e.metrics.valLoss)];
  if (!o.keepParams) disposeParams(params);
  return { result, valSteps, valLosses, finalValLoss: valLosses[valLosses.length - 1], params: o.keepParams ? params : undefined };
}
