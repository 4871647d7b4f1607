/**
 * A model-agnostic training loop. The model is whatever the `loss` closure computes from the
 * params; the loop owns gradients, clipping, the optimizer, the schedule, evaluation, a wall-clock
 * budget and callbacks (logging, in-memory checkpoints, early stop). It shows nothing itself:
 * progress goes to a sink the caller supplies (in a notebook, `progressBar(label)`).
 */
import * as tf from "@tensorflow/tfjs";
import { type OptionsSchema, checkOptions } from "../config";
import { checkMemory, tensorBytesInUse } from "../engine/memory";
import { namedVariables, snapshotParams } from "../models/params";
import { Adam, type AdamConfig, globalNorm } from "./optimizer";
import type { Schedule } from "./schedules";

export interface StepInfo {
  step: number;
  loss: number;
  lr: number;
  /** Global gradient norm before clipping (when clipping or `recordGradNorm` is on). */
  gradNorm?: number;
  elapsedSeconds: number;
}

export interface EvalInfo {
  step: number;
  metrics: Record<string, number>;
}

export interface Callback {
  /** Return "stop" to end training after this step (anything else, or nothing, goes on). */
  // biome-ignore lint/suspicious/noConfusingVoidType: callbacks that return nothing must type-check, and "stop" is the one value that matters
  onStep?(info: StepInfo): void | "stop";
  onEval?(info: EvalInfo): void;
  onEnd?(result: TrainResult): void;
}

/** Receives a run's progress. The notebook layer supplies one (`progressBar(label)`); omitted, a run is silent. */
export interface ProgressSink {
  /** `done` of `total` units finished, with the latest metrics. */
  update(done: number, total: number, metrics: Record<string, number>): void;
  /** The run ended; `note` says why when it stopped early. */
  done(note?: string): void;
}

/** What every training run takes, whatever the model. */
export interface RunOptions {
  steps: number;
  /** A number or a schedule `(step) => lr`. */
  lr: number | Schedule;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
  optimizer?: Partial<AdamConfig>;
  /** Stop (cleanly, after a step) once this many seconds have passed. */
  budgetSeconds?: number;
  callbacks?: Callback[];
  progress?: ProgressSink;
  /**
   * Refuse the run when its estimated memory is above this many megabytes (default: the
   * TA_MEMORY_LIMIT_MB environment variable, else half the machine's memory; see engine/memory.ts).
   */
  memoryLimitMB?: number;
}

/** The checks on every run's options (each trainer adds its own fields): see `checkOptions` in config.ts. */
export const RUN_OPTIONS_SCHEMA: OptionsSchema<RunOptions> = {
  steps: { kind: "int", min: 0 },
  lr: {
    kind: "either",
    of: [
      { kind: "number", min: 0 },
      { kind: "function", signature: "(step) => learning rate" },
    ],
  },
  clipNorm: { kind: "number", min: 0, minExclusive: true, optional: true },
  optimizer: { kind: "object", what: "Adam settings ({ beta1, beta2, eps, weightDecay })", optional: true },
  budgetSeconds: { kind: "number", min: 0, minExclusive: true, optional: true },
  callbacks: { kind: "array", what: "an array of callbacks ({ onStep, onEval, onEnd })", optional: true },
  progress: { kind: "object", what: "a progress sink (in a notebook, ta.progressBar(label))", optional: true },
  memoryLimitMB: { kind: "number", min: 0, minExclusive: true, optional: true },
};

export interface TrainOptions extends RunOptions {
  /** The params object whose variables are trained. */
  params: object;
  /** Computes the training loss for step `step` (fetching its own batch). */
  loss: (step: number) => tf.Scalar;
  /** Reuse an optimizer (and its moments) across calls, e.g. for staged fine-tuning. */
  adam?: Adam;
  recordGradNorm?: boolean;
  /** Which variables train (default all); frozen ones get no gradient and no update. */
  trainable?: (name: string) => boolean;
  /** Per-variable learning-rate multiplier (default 1). */
  lrScale?: (name: string) => number;
  evaluate?: () => Record<string, number>;
  evalEvery?: number;
  /**
   * Estimated peak bytes of one step's forward and backward pass (activations and gradients), for
   * the memory check; by default only the gradients (4 bytes per trainable parameter) are counted.
   */
  stepBytes?: number;
}

const TRAIN_SCHEMA: OptionsSchema<TrainOptions> = {
  ...RUN_OPTIONS_SCHEMA,
  params: { kind: "object", what: "a params object (nested objects and arrays of tf.Variables)" },
  loss: { kind: "function", signature: "(step) => scalar loss" },
  adam: { kind: "object", what: "an Adam optimizer", optional: true },
  recordGradNorm: { kind: "bool", optional: true },
  trainable: { kind: "function", signature: "(name) => boolean", optional: true },
  lrScale: { kind: "function", signature: "(name) => number", optional: true },
  evaluate: { kind: "function", signature: "() => metrics", optional: true },
  evalEvery: { kind: "int", min: 1, optional: true },
  stepBytes: { kind: "number", min: 0, optional: true },
};

/**
 * The memory a training run needs on top of what tensors hold now (its weights included): Adam's
 * two moments per trainable parameter and one step's peak (`stepBytes`, at least the gradients).
 * Throws above the limit (engine/memory.ts) with the figures; returns the estimate in bytes.
 */
export function checkTrainingMemory(
  who: string,
  o: { params: object; trainable?: (name: string) => boolean; stepBytes?: number; memoryLimitMB?: number; adam?: Adam },
): number {
  let trainableBytes = 0;
  for (const [name, v] of namedVariables(o.params)) if (o.trainable?.(name) ?? true) trainableBytes += 4 * v.size;
  return checkMemory(
    who,
    {
      "tensors held now (weights included)": tensorBytesInUse(),
      "Adam moments": o.adam && o.adam.steps > 0 ? 0 : 2 * trainableBytes,
      "one step's activations and gradients (estimate)": Math.max(o.stepBytes ?? 0, trainableBytes),
    },
    o.memoryLimitMB,
  );
}

/** A learning rate must be a finite number ≥ 0 (0 freezes the step); anything else is an error before the update. */
function checkRate(lr: unknown, step: number, fromSchedule: boolean): number {
  if (typeof lr === "number" && Number.isFinite(lr) && lr >= 0) return lr;
  const shown = typeof lr === "string" ? `"${lr}"` : String(lr);
  throw new Error(
    `train: the learning rate at step ${step} is ${shown}${fromSchedule ? " (from the lr schedule)" : ""}; ` +
      `it must be a finite number ≥ 0. No update was applied at step ${step}: the weights are ${step > 0 ? `those after step ${step - 1}` : "the initial ones"}`,
  );
}

export interface TrainResult {
  losses: number[];
  lrs: number[];
  gradNorms: number[];
  evals: EvalInfo[];
  steps: number;
  seconds: number;
  msPerStep: number;
  stoppedEarly: boolean;
  stopReason?: string;
}

export function train(options: TrainOptions): TrainResult {
  checkOptions("train", options, TRAIN_SCHEMA);
  const { steps, clipNorm } = options;
  const all = namedVariables(options.params);
  const trainable = new Map([...all].filter(([name]) => options.trainable?.(name) ?? true));
  if (trainable.size === 0) throw new Error("train: no trainable variables");
  const byId = new Map([...trainable].map(([name, v]) => [v.name, name]));
  const lrOption = options.lr;
  const rateAt = (step: number) => checkRate(typeof lrOption === "number" ? lrOption : lrOption(step), step, typeof lrOption !== "number");
  const callbacks = options.callbacks ?? [];
  const bar = options.progress;
  if (bar !== undefined && (typeof bar?.update !== "function" || typeof bar.done !== "function")) {
    throw new Error(
      `train: progress must be a sink with update() and done() (in a notebook, ta.progressBar(label)), got ${JSON.stringify(bar)}`,
    );
  }
  checkTrainingMemory("train", options);
  const adam = options.adam ?? new Adam(all, options.optimizer);
  const result: TrainResult = { losses: [], lrs: [], gradNorms: [], evals: [], steps: 0, seconds: 0, msPerStep: 0, stoppedEarly: false };
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;

  const runEval = (step: number) => {
    if (!options.evaluate) return;
    const info = { step, metrics: options.evaluate() };
    result.evals.push(info);
    for (const c of callbacks) c.onEval?.(info);
  };

  for (let step = 0; step < steps; step++) {
    let lr: number;
    try {
      lr = rateAt(step);
    } catch (err) {
      if (!options.adam) adam.dispose();
      bar?.done(`stopped at step ${step}: bad learning rate`);
      throw err;
    }
    const { value, grads } = tf.variableGrads(() => options.loss(step), [...trainable.values()]);
    const loss = value.dataSync()[0];
    value.dispose();
    if (!Number.isFinite(loss)) {
      // Stop before the update: a non-finite loss would write NaNs into every weight.
      tf.dispose(Object.values(grads));
      result.losses.push(loss);
      result.lrs.push(lr);
      result.stoppedEarly = true;
      result.stopReason = `loss became ${loss} at step ${step}; that step was not applied`;
      break;
    }
    const named = new Map<string, tf.Tensor>();
    for (const [id, g] of Object.entries(grads)) named.set(byId.get(id)!, g);
    let gradNorm: number | undefined;
    if (clipNorm !== undefined || options.recordGradNorm) {
      const normT = globalNorm(named.values());
      gradNorm = normT.dataSync()[0];
      normT.dispose();
      if (clipNorm !== undefined && gradNorm > clipNorm) {
        const factor = clipNorm / (gradNorm + 1e-6);
        for (const [name, g] of named) {
          named.set(name, tf.mul(g, factor));
          g.dispose();
        }
      }
    }
    adam.apply(named, lr, options.lrScale);
    for (const g of named.values()) g.dispose();

    result.losses.push(loss);
    result.lrs.push(lr);
    if (gradNorm !== undefined) result.gradNorms.push(gradNorm);
    result.steps = step + 1;
    const info: StepInfo = { step, loss, lr, gradNorm, elapsedSeconds: elapsed() };
    bar?.update(step + 1, steps, { loss });
    let stop = false;
    for (const c of callbacks) if (c.onStep?.(info) === "stop") stop = true;
    if (options.evalEvery && (step + 1) % options.evalEvery === 0) runEval(step + 1);
    if (stop) {
      result.stoppedEarly = step + 1 < steps;
      result.stopReason = result.stoppedEarly ? "stopped by a callback" : undefined;
      break;
    }
    if (options.budgetSeconds !== undefined && elapsed() > options.budgetSeconds && step + 1 < steps) {
      result.stoppedEarly = true;
      result.stopReason = `time budget of ${options.budgetSeconds} s reached after ${step + 1} steps`;
      break;
    }
  }
  if (options.evaluate && (result.evals.length === 0 || result.evals[result.evals.length - 1].step !== result.steps)) runEval(result.steps);
  if (!options.adam) adam.dispose();
  result.seconds = elapsed();
  result.msPerStep = result.steps ? (1000 * result.seconds) / result.steps : 0;
  bar?.done(result.stopReason);
  for (const c of callbacks) c.onEnd?.(result);
  return result;
}

/** Callback: keep an in-memory snapshot of the params every `every` steps (and at step 0 if asked). */
export function checkpoints(params: object, every: number, store: { step: number; values: Map<string, Float32Array> }[]): Callback {
  if (!(Number.isInteger(every) && every > 0)) throw new Error(`checkpoints: every must be a positive integer, got ${every}`);
  return {
    onStep({ step }) {
      if ((step + 1) % every === 0) store.push({ step: step + 1, values: snapshotParams(params) });
    },
  };
}
