/**
 * One image-classifier training run (gMLP, ViT or the linear baseline): fresh model from a config,
 * seeded batches from the training images, periodic accuracy on a fixed validation subset (the
 * numbers a learning rate is chosen by), and at the end the accuracy on the whole validation set
 * and, when given, on the test set (reported, never chosen by).
 */
import { type OptionsSchema, checkOptions } from "../../config";
import { type ImageSet, disposeImageBatches, imageBatcher, imageEvalBatches } from "../../data/images";
import { crossEntropy } from "../../models/loss";
import { disposeParams } from "../../models/params";
import { type ClassifierEval, evaluateClassifier } from "../../train/evaluate";
import { RUN_OPTIONS_SCHEMA, type RunOptions, type TrainResult, train } from "../../train/trainer";
import { type VisionOverrides, type VisionParams, initVisionModel, visionForward } from "./vision";

export interface ClassifierRunOptions extends RunOptions {
  config: VisionOverrides;
  /** Training images; validation images (held out from training, e.g. by `holdOut`); test images (optional). */
  data: { train: ImageSet; valid: ImageSet; test?: ImageSet };
  batchSize: number;
  /** Seeds the batch order (the weights come from config.seed). */
  dataSeed: number;
  /** Random-translation augmentation of the training images, in pixels (0 = none). */
  maxShift?: number;
  evalEvery: number;
  /** Validation images scored at each evaluation (the first ones; fixed). */
  evalExamples: number;
  /** Return the trained params (the caller disposes them); otherwise they are freed. */
  keepParams?: boolean;
}

export interface ClassifierRun {
  result: TrainResult;
  /** Accuracy on the validation subset at step 0 and at every evaluation. */
  evalSteps: number[];
  evalAccuracies: number[];
  /** On the whole validation set at the end. */
  valid: ClassifierEval;
  /** On the whole test set at the end, if one was given. */
  test?: ClassifierEval;
  params?: VisionParams;
}

const CLASSIFIER_RUN_SCHEMA: OptionsSchema<ClassifierRunOptions> = {
  ...RUN_OPTIONS_SCHEMA,
  config: { kind: "object", what: "a vision config (visionConfig overrides)" },
  data: { kind: "object", what: "{ train, valid, test? } image sets" },
  batchSize: { kind: "int", min: 1 },
  dataSeed: { kind: "int" },
  maxShift: { kind: "int", min: 0, optional: true },
  evalEvery: { kind: "int", min: 1 },
  evalExamples: { kind: "int", min: 1 },
  keepParams: { kind: "bool", optional: true },
};

export function trainImageClassifier(o: ClassifierRunOptions): ClassifierRun {
  checkOptions("trainImageClassifier", o, CLASSIFIER_RUN_SCHEMA);
  const { train: trainSet, valid: validSet, test: testSet } = o.data;
  if (!trainSet || !validSet) throw new Error("trainImageClassifier: data needs train and valid image sets");
  const params = initVisionModel(o.config);
  const batcher = imageBatcher(trainSet, { batchSize: o.batchSize, seed: o.dataSeed, maxShift: o.maxShift });
  const evalSet = imageEvalBatches(validSet, { batchSize: 250, maxExamples: o.evalExamples });
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
    memoryLimitMB: o.memoryLimitMB,
    loss: () => {
      const b = batcher.next();
      return crossEntropy(logits(b.images), b.labels);
    },
    evaluate: () => ({ accuracy: accuracy() }),
    evalEvery: o.evalEvery,
  });
  disposeImageBatches(evalSet);
  const whole = (set: ImageSet) => {
    const batches = imageEvalBatches(set, { batchSize: 250 });
    const score = evaluateClassifier(logits, batches);
    disposeImageBatches(batches);
    return score;
  };
  const valid = whole(validSet);
  const test = testSet ? whole(testSet) : undefined;
  if (!o.keepParams) disposeParams(params);
  return {
    result,
    evalSteps: [0, ...result.evals.map((e) => e.step)],
    evalAccuracies: [first, ...result.evals.map((e) => e.metrics.accuracy)],
    valid,
    test,
    params: o.keepParams ? params : undefined,
  };
}
