/**
 * Losses over logits. Cross-entropy uses a one-hot mask, like tf.losses.softmaxCrossEntropy: its
 * gradient is elementwise. (Picking log-probabilities with a gather instead routes the gradient
 * through UnsortedSegmentSum with N·V segments, which the cpu backend computes in O(N²·V).)
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Mean cross-entropy in nats: −(1/Σw) Σᵢ wᵢ log softmax(logitsᵢ)[targetᵢ].
 * `logits` is [..., V]; `targets` (int) has the same leading shape; optional `weights` (same
 * shape as targets, e.g. 1 on masked-LM positions and 0 elsewhere).
 */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  const v = logits.shape[logits.rank - 1];
  const n = targets.size;
  if (logits.size !== n * v) {
    throw new Error(`crossEntropy: logits [${logits.shape}] do not match targets [${targets.shape}]`);
  }
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(tf.reshape(logits, [n, v]));
    const mask = tf.oneHot(tf.reshape(tf.cast(targets, "int32"), [n]), v); // [N, V]
    const picked = tf.sum(tf.mul(logProbs, mask), -1); // [N]
    if (!weights) return tf.neg(tf.mean(picked)) as tf.Scalar;
    const w = tf.reshape(tf.cast(weights, "float32"), [n]);
    return tf.neg(tf.div(tf.sum(tf.mul(picked, w)), tf.maximum(tf.sum(w), 1e-9))) as tf.Scalar;
  });
}
