/**
 * Attention-only transformers (Huben & Morris 2023, "Attention-Only Transformers and Implementing
 * MLPs with Attention Heads"; official code `RobertHuben/ffn_via_attention`, NumPy, float64).
 *
 *   heads.ts        the augmented stream [x | one-hot positions] with a bias token in row 0; head
 *                   stacks run in float32 (tfjs) and float64; masks in the weights (Theorem 9)
 *   mlp.ts          an MLP unit as a head (Theorem 3: weight σ(βs) on itself, value s), the
 *                   official code's float64 test of it, the linear maps (Theorem 7: W_OV = W − I
 *                   with the residual) and SiLU per channel (Theorem 8: output −xσ(−βx) added to
 *                   the residual) as separate heads
 *   transformer.ts  a Pre-LN transformer's attention and MLPs converted to heads (Theorem 6) with
 *                   the bias token and positions carried in the converted model's own stream; the
 *                   embedding, a norm before every layer (over the model columns only, its gain and
 *                   bias folded into the heads), the final norm and the unembedding are kept (our
 *                   extension: the paper has no norms); a float64 forward of the source model
 *
 * Notebook: notebooks/06-attention-only.ipynb. Tests: test/papers/06-attention-only.test.ts.
 */
export * from "./heads";
export * from "./mlp";
export * from "./transformer";
