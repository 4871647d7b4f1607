/**
 * Xiong et al. (2020), "On Layer Normalization in the Transformer Architecture". The two block
 * forms are the core transformer's `normPlacement` ("post": x ← N(x + F(x)), "pre": x ← x + F(N(x))).
 * Theorem 1 bounds the gradient of the last layer's FFN weights: for Post-LN
 * ‖∂L/∂W^{2,L}‖_F = O(d √(ln d)), independent of L; for Pre-LN O(d √(ln d / L)). Lemma 2: with
 * Pre-LN the stream grows linearly, (1 + l/2)·d ≤ E‖x_l‖² ≤ (1 + 3l/2)·d. What this paper's notebook measures:
 *   gradient norms   ‖∂L/∂W‖_F for every weight matrix, from one backward pass (averaged over batches)
 *   residual norms   E_t ‖x_{l,t}‖² of the residual stream after each layer (mean over tokens)
 *
 * Notebook: notebooks/01-pre-ln-vs-post-ln.ipynb. Tests: test/papers/01-pre-ln-vs-post-ln.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { namedVariables } from "../../models/params";

/** Frobenius norm of ∂loss/∂W for every variable in `params`, keyed by its dotted path. */
export function gradientNorms(params: object, loss: () => tf.Scalar): Map<string, number> {
  const named = namedVariables(params);
  const byId = new Map([...named].map(([name, v]) => [v.name, name]));
  const { value, grads } = tf.variableGrads(loss, [...named.values()]);
  const ids = Object.keys(grads);
  const norms = tf.tidy(() => tf.stack(ids.map((id) => tf.norm(grads[id]))));
  const values = norms.dataSync();
  tf.dispose([value, norms, ...Object.values(grads)]);
  return new Map(ids.map((id, i) => [byId.get(id)!, values[i]]));
}

/** Mean over tokens of ‖x‖² for each captured residual state [B, T, D]. */
export function residualNorms(hidden: tf.Tensor[]): number[] {
  return hidden.map((h) => tf.tidy(() => tf.mean(tf.sum(tf.mul(h, h), -1)).dataSync()[0]));
}

/** `gradientNorms` averaged over `batches` calls of `loss(i)` (each drawing its own batch). */
export function meanGradientNorms(params: object, loss: (i: number) => tf.Scalar, batches: number): Map<string, number> {
  const sums = new Map<string, number>();
  for (let i = 0; i < batches; i++) {
    for (const [name, n] of gradientNorms(params, () => loss(i))) sums.set(name, (sums.get(name) ?? 0) + n / batches);
  }
  return sums;
}
