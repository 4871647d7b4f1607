/**
 * Razzhigaev et al. (2024), "Your Transformer is Secretly Linear". For consecutive residual
 * streams X (before a block) and Y (after), centred and scaled to unit Frobenius norm, the
 * linearity score is
 *
 *   score(X, Y) = 1 − min_A ‖X̃ A − Ỹ‖²_F
 *
 * linearity.ts   the score, the affine fit, its chance level, anisotropy and the TwoNN intrinsic
 *                dimension (all in float64)
 * linearize.ts   residual streams, blocks replaced by fitted linear maps, their distillation
 *                (§5), and the cosine regulariser between consecutive streams
 * finetune.ts    a sentence classifier on the decoder (mean-pooled head), its fine-tuning, and
 *                the residual streams of sentences (real tokens only)
 * study.ts       the regulariser's pretraining runs as a pretrained study (npm run pretrain -- linear-cosine)
 *
 * Notebook: notebooks/05-secretly-linear.ipynb. Tests: test/papers/05-secretly-linear.test.ts.
 */
export * from "./linearity";
export * from "./linearize";
export * from "./finetune";
export * from "./study";
