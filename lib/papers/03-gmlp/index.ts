/**
 * Liu, Dai, So & Le (2021), "Pay Attention to MLPs" (gMLP, aMLP). A gMLP block, with the spatial
 * gating unit s(Z) = Z₁ ⊙ f(Z₂), f(Z) = W·LN(Z) + b mixing tokens:
 *
 *   Z = GELU(LN(X) U);   Y = X + s(Z) V
 *
 * gmlp.ts        the block, the four gates of Table 3, aMLP's tiny attention, the token model
 * vision.ts      patch classifiers: gMLP and a ViT (mean pooling) on small grey images
 * arms.ts        configs of matched parameter count for the comparisons
 * spatial.ts     locality and shift invariance of the learned spatial weights W (Fig. 4)
 * classifier.ts  one image-classifier training run
 * study.ts       the masked-LM comparison as a pretrained study (npm run pretrain -- gmlp-mlm)
 *
 * Notebook: notebooks/03-gmlp.ipynb. Tests: test/papers/03-gmlp.test.ts.
 */
export * from "./arms";
export * from "./classifier";
export * from "./gmlp";
export * from "./spatial";
export * from "./study";
export * from "./vision";
