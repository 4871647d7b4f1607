/**
 * One language-model training run from token ids: the pattern most notebooks repeat (fresh model
 * from a config, seeded batches, periodic validation on fixed windows, optional time budget).
 * Causal LM (next token) or masked LM (BERT-style, scored on the masked positions; the config's
 * last vocabulary id is [MASK]). The model is a Transformer or a gMLP, chosen by its config.
 */
import * as tf from "@tensorflow/tfjs";
import { LmBatch, MlmBatch, disposeBatches, disposeMlmBatches, lmBatcher, lmEvalBatches, mlmBatcher, mlmEvalBatches } from "../data/batches";
import { GmlpConfig, GmlpParams, gmlpForward, initGmlp } from "../models/gmlp";
import { crossEntropy } from "../models/loss";
import { disposeParams } from "../models/params";
import { TransformerConfig, TransformerParams, initTransformer, transformerForward } from "../models/transformer";
import { evaluateLm } from "./evaluate";
import { AdamConfig } from "./optimizer";
import { Schedule } from "./schedules";
import { Callback, TrainResult, train } from "./trainer";

export interface LmModel {
  params: TransformerParams | GmlpParams;
  /** Token ids [B, T] → logits [B, T, V]. */
  logits(tokens: tf.Tensor): tf.Tensor;
}

/** A fresh Transformer or gMLP (a config with a `gate` field) with its forward function. */
export function lmModel(config: TransformerConfig | GmlpConfig): LmModel {
  if ("gate" in config) {
    const params = initGmlp(config);
    return { params, logits: (tokens) => gmlpForward(params, tokens) };
  }
  const params = initTransformer(config);
  return { params, logits: (tokens) => transformerForward(params, tokens).logits };
}

export interface LmRunOptions {
  config: TransformerConfig | GmlpConfig;
  /** "causal" (default): predict the next token; "masked": BERT-style, [MASK] = config.vocabSize − 1. */
  objective?: "causal" | "masked";
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
  /**
   * A regulariser on the residual streams, added to the training loss as weight · term(streams)
   * (Transformer only; e.g. `consecutiveCosinePenalty`). Validation loss stays plain cross-entropy.
   */
  hiddenPenalty?: { weight: number; term: (streams: tf.Tensor[]) => tf.Scalar };
  /** Measurements of the model taken at step 0 and every `every` steps (e.g. attention entropy). */
  probe?: { every: number; measure: (model: LmModel) => Record<string, number> };
}

export interface LmRun {
  result: TrainResult;
  /** Validation loss at step 0 and at every evaluation. */
  valSteps: number[];
  valLosses: number[];
  finalValLoss: number;
  params?: TransformerParams | GmlpParams;
  /** What `probe` measured, at step 0 and every `probe.every` steps. */
  probes: { step: number; values: Record<string, number> }[];
}

export function trainLanguageModel(o: LmRunOptions): LmRun {
  const model = lmModel(o.config);
  const { seqLen, vocabSize } = o.config;
  const masked = o.objective === "masked";
  const mlm = { batchSize: o.batchSize, seqLen, maskId: vocabSize - 1, vocabSize: vocabSize - 1 };
  const batcher: { next(): LmBatch | MlmBatch } = masked
    ? mlmBatcher(o.trainIds, { ...mlm, seed: o.dataSeed })
    : lmBatcher(o.trainIds, { batchSize: o.batchSize, seqLen, seed: o.dataSeed });
  const valid: (LmBatch | MlmBatch)[] = masked
    ? mlmEvalBatches(o.validIds, { ...mlm, maxBatches: o.evalBatches, seed: 12345 })
    : lmEvalBatches(o.validIds, { batchSize: o.batchSize, seqLen, maxBatches: o.evalBatches });
  const penalty = o.hiddenPenalty;
  if (penalty && "gate" in o.config) throw new Error("trainLanguageModel: hiddenPenalty needs a Transformer config (a gMLP has no captured streams)");
  if (penalty && !Number.isFinite(penalty.weight)) throw new Error(`trainLanguageModel: hiddenPenalty.weight must be finite, got ${penalty.weight}`);
  const penalised = (inputs: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar => {
    const out = transformerForward(model.params as TransformerParams, inputs, { hiddenTerm: penalty!.term });
    const total = tf.tidy(() => tf.add(crossEntropy(out.logits, targets, weights), tf.mul(out.hiddenTerm!, penalty!.weight)) as tf.Scalar);
    tf.dispose([out.logits, out.hiddenTerm!]);
    return total;
  };
  const validLoss = () => evaluateLm(model.logits, valid).loss;
  const first = validLoss();
  const probes: LmRun["probes"] = [];
  const probe = o.probe;
  if (probe && !(Number.isInteger(probe.every) && probe.every > 0)) throw new Error(`trainLanguageModel: probe.every must be a positive integer, got ${probe.every}`);
  if (probe) probes.push({ step: 0, values: probe.measure(model) });
  const callbacks: Callback[] = [...(o.callbacks ?? [])];
  if (probe) callbacks.push({ onStep: ({ step }) => { if ((step + 1) % probe.every === 0) probes.push({ step: step + 1, values: probe.measure(model) }); } });
  const result = train({
    params: model.params,
    steps: o.steps,
    lr: o.lr,
    clipNorm: o.clipNorm,
    optimizer: o.optimizer,
    budgetSeconds: o.budgetSeconds,
    callbacks,
    progress: o.progress,
    loss: () => {
      const b = batcher.next();
      if (penalty && penalty.weight !== 0) return penalised(b.inputs, b.targets, "weights" in b ? b.weights : undefined);
      return crossEntropy(model.logits(b.inputs), b.targets, "weights" in b ? b.weights : undefined);
    },
    evaluate: () => ({ valLoss: validLoss() }),
    evalEvery: o.evalEvery,
  });
  if (masked) disposeMlmBatches(valid as MlmBatch[]);
  else disposeBatches(valid as LmBatch[]);
  const valSteps = [0, ...result.evals.map((e) => e.step)];
  const valLosses = [first, ...result.evals.map((e) => e.metrics.valLoss)];
  if (!o.keepParams) disposeParams(model.params);
  return { result, valSteps, valLosses, finalValLoss: valLosses[valLosses.length - 1], params: o.keepParams ? model.params : undefined, probes };
}
