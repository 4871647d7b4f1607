/**
 * A frozen-feature linear probe: how much a fixed encoder's pooled features say about the labels,
 * before any fine-tuning. Binary (or multinomial) logistic regression on standardised features,
 * with an L2 penalty λ‖W‖² chosen on validation data, trained full-batch with Adam.
 */
import * as tf from "@tensorflow/tfjs";
import { variableFrom, zerosVariable } from "../../models/params";
import { crossEntropy } from "../../models/loss";
import { train } from "../../train/trainer";

export interface LinearProbe {
  /** Feature means and standard deviations of the training features (the standardisation). */
  mean: number[];
  std: number[];
  /** [D, classes] and [classes]. */
  w: number[][];
  b: number[];
  l2: number;
}

function standardise(x: number[][], mean: number[], std: number[]): tf.Tensor2D {
  return tf.tensor2d(x.map((row) => row.map((v, k) => (v - mean[k]) / std[k])));
}

/** Fits the probe on (x, y) with penalty `l2` (λ, on the mean cross-entropy). */
export function fitLinearProbe(x: number[][], y: number[], o: { classes: number; l2: number; steps?: number; lr?: number }): LinearProbe {
  const n = x.length;
  if (n === 0 || n !== y.length) throw new Error(`fitLinearProbe: ${n} feature rows for ${y.length} labels`);
  if (!(o.l2 >= 0)) throw new Error(`fitLinearProbe: l2 must be ≥ 0, got ${o.l2}`);
  for (const label of y)
    if (!(Number.isInteger(label) && label >= 0 && label < o.classes))
      throw new Error(`fitLinearProbe: label ${label} is not one of 0…${o.classes - 1}`);
  const d = x[0].length;
  const mean = Array.from({ length: d }, (_, k) => x.reduce((s, r) => s + r[k], 0) / n);
  const std = Array.from({ length: d }, (_, k) => Math.sqrt(x.reduce((s, r) => s + (r[k] - mean[k]) ** 2, 0) / n) || 1);
  const xs = standardise(x, mean, std);
  const ys = tf.tensor1d(y, "int32");
  const params = { w: variableFrom(() => tf.zeros([d, o.classes])), b: zerosVariable([o.classes]) };
  train({
    params,
    steps: o.steps ?? 300,
    lr: o.lr ?? 0.05,
    loss: () => tf.add(crossEntropy(tf.add(tf.matMul(xs, params.w), params.b), ys), tf.mul(o.l2, tf.sum(tf.square(params.w)))) as tf.Scalar,
  });
  const probe = { mean, std, w: params.w.arraySync() as number[][], b: Array.from(params.b.dataSync()), l2: o.l2 };
  tf.dispose([xs, ys, params.w, params.b]);
  return probe;
}

/** The probe's error rate on (x, y). */
export function probeError(probe: LinearProbe, x: number[][], y: number[]): number {
  if (x.length === 0 || x.length !== y.length) throw new Error(`probeError: ${x.length} feature rows for ${y.length} labels`);
  const predicted = tf.tidy(
    () => tf.argMax(tf.add(tf.matMul(standardise(x, probe.mean, probe.std), tf.tensor2d(probe.w)), probe.b), 1).arraySync() as number[],
  );
  return predicted.filter((p, i) => p !== y[i]).length / y.length;
}

/** Fits a probe at each penalty of `l2s` and keeps the one with the lowest validation error (the smallest penalty on ties). */
export function chooseLinearProbe(
  train: { x: number[][]; y: number[] },
  valid: { x: number[][]; y: number[] },
  o: { classes: number; l2s: readonly number[] },
): { probe: LinearProbe; scores: { l2: number; validError: number }[] } {
  if (o.l2s.length === 0) throw new Error("chooseLinearProbe: give at least one penalty");
  let best: LinearProbe | undefined;
  let bestError = Infinity;
  const scores = [...o.l2s]
    .sort((a, b) => a - b)
    .map((l2) => {
      const probe = fitLinearProbe(train.x, train.y, { classes: o.classes, l2 });
      const validError = probeError(probe, valid.x, valid.y);
      if (validError < bestError) {
        best = probe;
        bestError = validError;
      }
      return { l2, validError };
    });
  return { probe: best!, scores };
}
