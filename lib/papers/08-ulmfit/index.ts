/**
 * Howard & Ruder (2018), "Universal Language Model Fine-tuning for Text Classification" (ULMFiT):
 * an LSTM LM (the core `models/lstm.ts`) pretrained on general text, fine-tuned on the target
 * text, then a classifier on it, with three tricks:
 *
 *   discriminative rates   η^{l−1} = η^l / 2.6 (layer group l − 1 below group l)
 *   slanted triangular LR  rising for cut = ⌊T·cut_frac⌋ iterations, then falling (eq. 3)
 *   gradual unfreezing     one more layer group trains each epoch, from the top
 *
 * classifier.ts  concat pooling [h_T; maxpool(H); meanpool(H)] and the batch-norm head (§3.3)
 * training.ts    layer groups, the three tricks, sentence batches, LM and classifier training
 * study.ts       the experiments as a pretrained study (`npm run pretrain -- ulmfit-ladder`)
 * probe.ts       a frozen-feature linear probe (logistic regression, L2 chosen on validation)
 * vocabulary.ts  the target vocabulary and the pretrained embedding carried over to it (new words: the mean row)
 *
 * Notebook: notebooks/08-ulmfit.ipynb. Tests: test/papers/08-ulmfit.test.ts.
 */
export * from "./classifier";
export * from "./training";
export * from "./probe";
export * from "./study";
export * from "./vocabulary";
