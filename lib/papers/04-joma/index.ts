/**
 * Tian, Wang, Chen & Du (2023), "JoMA: Demystifying Multilayer Transformers via JOint Dynamics of
 * MLP and Attention". Integrating out self-attention gives joint dynamics of the MLP weights in
 * which attention first becomes sparse, then dense again (the salient tokens are learned first):
 *
 *   v̇ = (μ − v) ⊙ softmax(v² / T)
 *
 * toy.ts               those dynamics, integrated (Fig. 4)
 * attention-entropy.ts attention entropy H = −Σ_j a_ij log a_ij, the sparsity measure of §5
 * hierarchy.ts         the hierarchical binary latent model of §6 (tokens generated from latent trees)
 * latents.ts           how well MLP units encode those latents, per layer (Table 1)
 * study.ts             the word-LM runs (ReLU vs linear, depth, learning rates) as a pretrained study
 *
 * Notebook: notebooks/04-joma.ipynb. Tests: test/papers/04-joma.test.ts.
 */
export * from "./attention-entropy";
export * from "./hierarchy";
export * from "./latents";
export * from "./study";
export * from "./toy";
