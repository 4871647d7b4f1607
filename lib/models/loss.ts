/**
 * Losses over logits. Cross-entropy picks each target's log-probability with a gather on the
 * flattened [N·V] log-softmax instead of multiplying by a one-hot [N, V] matrix: same result,
 * no N×V temporary in the forward pass.
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
    const logProbs = tf.reshape(tf.logSoftmax(tf.reshape(logits, [n, v])), [n * v]);
    const flatTargets = tf.reshape(tf.cast(targets, "int32"), [n]);
    const index = tf.add(tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")), flatTargets);
    const picked = tf.gather(logProbs, index); // [N]
    if (!weights) return tf.neg(tf.mean(picked)) as tf.Scalar;
    const w = tf.reshape(tf.cast(weights, "float32"), [n]);
    return tf.neg(tf.div(tf.sum(tf.mul(picked, w)), tf.maximum(tf.sum(w), 1e-9))) as tf.Scalar;
  });
}
