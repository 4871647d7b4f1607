/**
 * One image-classifier training run (gMLP or ViT on patches): fresh model from a config, seeded
 * batches, periodic test accuracy on a fixed subset, the whole test set at the end.
 */
import { type ImageDataset, disposeImageBatches, imageBatcher, imageEvalBatches } from "../../data/images";
import { crossEntropy } from "../../models/loss";
import { disposeParams } from "../../models/params";
import { type VisionOverrides, type VisionParams, initVisionModel, visionForward } from "./vision";
import { type ClassifierEval, evaluateClassifier } from "../../train/evaluate";
import { type RunOptions, type TrainResult, train } from "../../train/trainer";

export interface ClassifierRunOptions extends RunOptions {
  config: VisionOverrides;
  data: ImageDataset;
  batchSize: number;
  /** Seeds the batch order (the weights come from config.seed). */
  dataSeed: number;
  evalEvery: number;
  /** Test images scored at each evaluation (the first ones; fixed). */
  evalExamples: number;
  /** Test images scored at the end (default: all). */
  finalExamples?: number;
  /** Return the trained params (the caller disposes them); otherwise they are freed. */
  keepParams?: boolean;
}

export interface ClassifierRun {
  result: TrainResult;
  /** Accuracy on the evaluation subset at step 0 and at every evaluation. */
  evalSteps: number[];
  evalAccuracies: number[];
  final: ClassifierEval;
  params?: VisionParams;
}

export function trainImageClassifier(o: ClassifierRunOptions): ClassifierRun {
  const params = initVisionModel(o.config);
  const batcher = imageBatcher(o.data.train, { batchSize: o.batchSize, seed: o.dataSeed });
  const evalSet = imageEvalBatches(o.data.test, { batchSize: 250, maxExamples: o.evalExamples });
  const logits = (images: Parameters<typeof visionForward>[1]) => visionForward(params, images);
  const accuracy = () => evaluateClassifier(logits, evalSet).accuracy;
  const first = accuracy();
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
      return crossEntropy(logits(b.images), b.labels);
    },
    evaluate: () => ({ accuracy: accuracy() }),
    evalEvery: o.evalEvery,
  });
  disposeImageBatches(evalSet);
  const finalSet = imageEvalBatches(o.data.test, { batchSize: 250, maxExamples: o.finalExamples });
  const final = evaluateClassifier(logits, finalSet);
  disposeImageBatches(finalSet);
  if (!o.keepParams) disposeParams(params);
  return {
    result,
    evalSteps: [0, ...result.evals.map((e) => e.step)],
    evalAccuracies: [first, ...result.evals.map((e) => e.metrics.accuracy)],
    final,
    params: o.keepParams ? params : undefined,
  };
}
