/**
 * Does a learned code place similar meanings close? With meanings 0..N−1 and the structured
 * reward R_ij = exp(−|i − j|), "similar" is a small gap |i − j|; the order statistic is
 *
 *   ρ(c) = Spearman(|i − j|, ‖c_i − c_j‖) over the N(N−1)/2 pairs i < j
 *
 * and its null is the same points with the meanings shuffled: a random relabelling keeps every
 * distance and breaks only the assignment of meanings to points (E[ρ] = 0 under it, since every
 * pair's gap has the same distribution).
 */
import { createRng } from "../../engine/rng";
import { mean, spearman } from "../../metrics/stats";
import type { Codebook } from "./game";

/** ‖c_i − c_j‖ for i < j, in the order (0,1), (0,2), …, (N−2, N−1). */
export function pairDistances(codebook: Codebook): number[] {
  const out: number[] = [];
  for (let i = 0; i < codebook.length; i++)
    for (let j = i + 1; j < codebook.length; j++) out.push(Math.hypot(...codebook[i].map((v, k) => v - codebook[j][k])));
  return out;
}

/** |i − j| for i < j, in the order of `pairDistances`. */
export function meaningGaps(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push(j - i);
  return out;
}

/** ρ = Spearman(|i − j|, ‖c_i − c_j‖) over pairs: > 0 when similar meanings sit closer. */
export function orderCorrelation(codebook: Codebook): number {
  return spearman(meaningGaps(codebook.length), pairDistances(codebook));
}

/** The codebook with its meanings relabelled by `perm`: row i becomes row perm[i]. */
export function relabel(codebook: Codebook, perm: readonly number[]): Codebook {
  if (perm.length !== codebook.length || new Set(perm).size !== perm.length || perm.some((p) => !(p >= 0 && p < perm.length)))
    throw new Error(`relabel: not a permutation of 0..${codebook.length - 1}: ${perm.join(",")}`);
  return perm.map((p) => codebook[p]);
}

/**
 * Permutation test of the mean order statistic over several codebooks (e.g. seeds): the null
 * relabels each codebook's meanings independently at random, `permutations` times (seeded).
 * Returns the observed mean ρ, the null's `quantile` (the threshold a mean ρ must exceed), and the
 * one-sided p-value (k + 1)/(permutations + 1), k = null means ≥ the observed one.
 */
export function orderPermutationTest(
  codebooks: Codebook[],
  o: { permutations: number; seed: number; quantile?: number },
): { observed: number; perCodebook: number[]; threshold: number; p: number; null: Float64Array } {
  if (codebooks.length < 1) throw new Error("orderPermutationTest: no codebooks");
  if (!(Number.isInteger(o.permutations) && o.permutations >= 99))
    throw new Error(`orderPermutationTest: permutations must be an integer ≥ 99, got ${o.permutations}`);
  const q = o.quantile ?? 0.95;
  if (!(q > 0 && q < 1)) throw new Error(`orderPermutationTest: quantile must be in (0, 1), got ${q}`);
  const perCodebook = codebooks.map(orderCorrelation);
  const observed = mean(perCodebook);
  const rng = createRng(o.seed);
  const nullMeans = new Float64Array(o.permutations);
  let reach = 0;
  for (let r = 0; r < o.permutations; r++) {
    let sum = 0;
    for (const c of codebooks) sum += orderCorrelation(relabel(c, rng.shuffle(c.map((_, i) => i))));
    nullMeans[r] = sum / codebooks.length;
    if (nullMeans[r] >= observed - 1e-12) reach++;
  }
  const sorted = Float64Array.from(nullMeans).sort();
  const threshold = sorted[Math.min(o.permutations - 1, Math.floor(q * o.permutations))];
  return { observed, perCodebook, threshold, p: (reach + 1) / (o.permutations + 1), null: nullMeans };
}
