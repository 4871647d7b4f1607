/**
 * Losses over logits. Cross-entropy uses a one-hot mask, like tf.losses.softmaxCrossEntropy: its
 * gradient is elementwise. (Picking log-probabilities with a gather instead routes the gradient
 * through UnsortedSegmentSum with N·V segments, which the cpu backend computes in O(N²·V).)
 */
import * as tf from "@tensorflow/tfjs";
import { fusedCrossEntropyRows } from "../engine/fused";

/**
 * Mean cross-entropy in nats: −(1/Σw) Σᵢ wᵢ log softmax(logitsᵢ)[targetᵢ].
 * `logits` is [..., V]; `targets` (int) has the same leading shape; optional `weights` (same
 * shape as targets, e.g. 1 on masked-LM positions and 0 elsewhere). A target outside [0, V) is an
 * error (a one-hot mask would silently score it 0). On the patched wasm backend the per-position
 * losses and their gradient are one fused kernel each (engine/fused.ts).
 */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  if (!(logits instanceof tf.Tensor)) throw new Error(`crossEntropy: logits must be a tensor [..., V], got ${typeof logits}`);
  if (!(targets instanceof tf.Tensor))
    throw new Error(`crossEntropy: targets must be an int32 tensor of class ids (e.g. tf.tensor1d(ids, "int32")), got ${typeof targets}`);
  const v = logits.shape[logits.rank - 1];
  const n = targets.size;
  if (logits.size !== n * v) {
    throw new Error(`crossEntropy: logits [${logits.shape}] do not match targets [${targets.shape}]`);
  }
  if (weights !== undefined && (!(weights instanceof tf.Tensor) || weights.size !== n)) {
    throw new Error(
      `crossEntropy: weights must be a tensor shaped like the targets [${targets.shape}], got ${weights instanceof tf.Tensor ? `[${weights.shape}]` : typeof weights}`,
    );
  }
  // Float targets would be truncated by the cast (2.7 → 2, NaN → 0): each must already be a whole number.
  if (targets.dtype !== "int32") checkWholeTargets(targets.dataSync(), v);
  return tf.tidy(() => {
    const ids = tf.reshape(tf.cast(targets, "int32"), [n]) as tf.Tensor1D;
    checkTargets(ids.dataSync() as Int32Array, v);
    // −log p(target) per position, [N]
    const losses =
      fusedCrossEntropyRows(tf.reshape(logits, [n, v]) as tf.Tensor2D, ids) ??
      tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.reshape(logits, [n, v])), tf.oneHot(ids, v)), -1));
    if (!weights) return tf.mean(losses) as tf.Scalar;
    const w = tf.reshape(tf.cast(weights, "float32"), [n]);
    return tf.div(tf.sum(tf.mul(losses, w)), tf.maximum(tf.sum(w), 1e-9)) as tf.Scalar;
  });
}

function checkWholeTargets(values: ArrayLike<number>, v: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i]))
      throw new Error(`crossEntropy: target ${values[i]} at position ${i} is not a class id (an integer in [0, ${v}))`);
  }
}

function checkTargets(ids: Int32Array, v: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < v))
      throw new Error(`crossEntropy: target ${ids[i]} at position ${i} is outside the vocabulary [0, ${v})`);
  }
}

/**
 * Distillation loss: mean over positions of KL(teacher ‖ student) in nats, from logits [..., V]
 * of the same shape. Zero when the two distributions agree. tfjs has no stop-gradient: compute the
 * teacher's logits from variables that are not being trained.
 */
export function distillationKl(studentLogits: tf.Tensor, teacherLogits: tf.Tensor): tf.Scalar {
  if (studentLogits.shape.join() !== teacherLogits.shape.join()) {
    throw new Error(`distillationKl: student [${studentLogits.shape}] and teacher [${teacherLogits.shape}] logits differ in shape`);
  }
  const v = studentLogits.shape[studentLogits.rank - 1];
  const n = studentLogits.size / v;
  return tf.tidy(() => {
    const teacher = tf.logSoftmax(tf.reshape(teacherLogits, [n, v]));
    const student = tf.logSoftmax(tf.reshape(studentLogits, [n, v]));
    return tf.mean(tf.sum(tf.mul(tf.exp(teacher), tf.sub(teacher, student)), -1)) as tf.Scalar;
  });
}
