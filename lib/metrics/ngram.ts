/**
 * n-gram baselines for every language-model experiment: the cross-entropy (nats per token) of a
 * unigram and a bigram model fitted on the training ids and scored on the validation ids, with
 * the same tokenisation as the model under test. A trained LM that does not beat the bigram has
 * not learnt to use context beyond the previous token.
 *
 *   unigram  p(w) = (c(w) + 1) / (N + V)                                   (add-one)
 *   bigram   p(w | v) = λ · c(v, w) / c(v) + (1 − λ) · p(w)                (interpolated; c(v) = 0 → p(w))
 *
 * λ is the best of a fixed grid on the validation ids: the baseline at its strongest, so a model
 * that beats it beats every λ. Targets are ids[1…], as a causal LM predicts them.
 */

export interface NgramBaselines {
  /** Validation cross-entropy, nats per token. */
  unigram: number;
  bigram: number;
  /** The interpolation weight the bigram used. */
  lambda: number;
  /** Validation tokens scored. */
  tokens: number;
}

export const BIGRAM_LAMBDAS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99] as const;

function checkIds(ids: ArrayLike<number>, vocabSize: number, name: string): void {
  if (ids.length < 2) throw new Error(`ngramBaselines: ${name} needs at least 2 tokens, got ${ids.length}`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new Error(`ngramBaselines: ${name}[${i}] = ${id} is not an id in 0…${vocabSize - 1}`);
  }
}

export function ngramBaselines(trainIds: ArrayLike<number>, validIds: ArrayLike<number>, vocabSize: number): NgramBaselines {
  if (!(Number.isInteger(vocabSize) && vocabSize >= 2))
    throw new Error(`ngramBaselines: vocabSize must be an integer ≥ 2, got ${vocabSize}`);
  checkIds(trainIds, vocabSize, "trainIds");
  checkIds(validIds, vocabSize, "validIds");
  const unigramCounts = new Float64Array(vocabSize);
  for (let i = 0; i < trainIds.length; i++) unigramCounts[trainIds[i]]++;
  const total = trainIds.length;
  const pUni = (w: number) => (unigramCounts[w] + 1) / (total + vocabSize);
  // Bigram counts c(v, w) keyed v·V + w; context counts c(v) over the pairs (every token but the last).
  const pairs = new Map<number, number>();
  const contexts = new Float64Array(vocabSize);
  for (let i = 0; i + 1 < trainIds.length; i++) {
    const key = trainIds[i] * vocabSize + trainIds[i + 1];
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
    contexts[trainIds[i]]++;
  }
  const n = validIds.length - 1;
  let unigram = 0;
  const bigramSums = new Float64Array(BIGRAM_LAMBDAS.length);
  for (let i = 0; i < n; i++) {
    const v = validIds[i],
      w = validIds[i + 1];
    const pu = pUni(w);
    unigram -= Math.log(pu);
    const pb = contexts[v] > 0 ? (pairs.get(v * vocabSize + w) ?? 0) / contexts[v] : pu;
    BIGRAM_LAMBDAS.forEach((lambda, k) => {
      bigramSums[k] -= Math.log(lambda * pb + (1 - lambda) * pu);
    });
  }
  let best = 0;
  for (let k = 1; k < BIGRAM_LAMBDAS.length; k++) if (bigramSums[k] < bigramSums[best]) best = k;
  return { unigram: unigram / n, bigram: bigramSums[best] / n, lambda: BIGRAM_LAMBDAS[best], tokens: n };
}
