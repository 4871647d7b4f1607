/**
 * Tucker et al. (2021), "Emergent Discrete Communication in Semantic Spaces", NeurIPS 2021,
 * §3.2 and Appendix A: a speaker sends token c_i ∈ [0, 1]^d for meaning i, the channel adds
 * Gaussian noise, the listener decodes the nearest token j, and both get reward R_ij:
 *
 *   E[R](c) = (1/N) Σ_i E_ε[R_{i, dec(c_i + ε)}],  ε ~ N(0, σ²I),  dec(y) = argmin_j ‖y − c_j‖
 *
 * Appendix A: with R = I one-hot tokens satisfy the KKT conditions of max E[R] s.t. 0 ≤ c ≤ 1 —
 * the gradient points out of the box at every bound — a local optimum, not a global one. The main
 * text: with structured rewards, learned continuous tokens do better.
 *
 * game.ts   the game: codebooks (one-hot, the [8,4,4] Hamming code, random, clustered), the
 *           Monte Carlo reward (nearest-token or Bayes decoding) and its gradient (the paper's
 *           objective), the smooth surrogate, projected ascent, the KKT check and margin (with a
 *           simultaneous interval)
 * order.ts  whether a code places similar meanings close: Spearman(|i − j|, ‖c_i − c_j‖) and its
 *           permutation test (the same points with the meanings shuffled)
 *
 * Notebook: notebooks/09-one-hot-tokens.ipynb. Tests: test/papers/09-one-hot-tokens.test.ts.
 */
export * from "./game";
export * from "./order";
