/**
 * Attention-only transformers (Huben & Morris 2023, "Attention-Only Transformers and Implementing
 * MLPs with Attention Heads"; official code `RobertHuben/ffn_via_attention`, NumPy, float64).
 *
 *   heads.ts        the augmented stream [x | one-hot positions] with a bias token in row 0; head
 *                   stacks run in float32 (tfjs) and float64; masks in the weights (Theorem 9)
 *   mlp.ts          an MLP unit as a head (Theorem 3: weight σ(βs) on itself, value s), the linear
 *                   maps (Theorem 7: W_OV = W − I with the residual) and SiLU per channel
 *                   (Theorem 8: output −xσ(−βx) added to the residual) as separate heads
 *   transformer.ts  a Pre-LN transformer made attention-only (Theorem 6) with the bias token and
 *                   positions carried in the converted model's own stream; its norms standardise
 *                   the model columns only, their gain and bias folded into the heads
 *
 * Notebook: notebooks/06-attention-only.ipynb. Tests: test/papers/06-attention-only.test.ts.
 */
export * from "./heads";
export * from "./mlp";
export * from "./transformer";
