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

/**
 * The n-gram baseline of a masked LM: each scored position predicted from its two neighbours in
 * the model's input, as a count model fitted on the training ids, plus the copy rule BERT-style
 * masking allows. A masked LM that does not beat it has learnt nothing a count table of
 * (left, centre, right) characters does not know.
 *
 *   context  p(c | l, r) = λ₃ · c(l, c, r) / c(l, ·, r) + λ₂ · ½ (p(c | l) + p(c | r)) + λ₁ · p(c)
 *            (l or r missing — the window's edge, or [MASK] — backs off to the other side's
 *            bigram, or to the unigram; an unseen (l, r) pair drops the trigram term)
 *   copy     when the input at the position is not [MASK] it is the original token with
 *            probability `keepShare` (½ under 80/10/10 masking): p = keepShare · δ(input) + (1 − keepShare) · p_ctx
 *
 * λ₃ is the best of a fixed grid on the batches scored (the baseline at its strongest); λ₁ = 0.05.
 * Bigrams and the unigram are add-one smoothed as in `ngramBaselines`.
 */
export interface MaskedNeighbourBaseline {
  /** Cross-entropy on the scored positions, nats per token. */
  loss: number;
  lambda3: number;
  /** Positions scored. */
  tokens: number;
}

export const NEIGHBOUR_LAMBDAS = [0.3, 0.5, 0.7, 0.85, 0.95] as const;

export function maskedNeighbourBaseline(
  trainIds: ArrayLike<number>,
  batches: { inputs: ArrayLike<number>; targets: ArrayLike<number>; weights: ArrayLike<number>; seqLen: number }[],
  o: { vocabSize: number; maskId: number; keepShare?: number },
): MaskedNeighbourBaseline {
  const v = o.vocabSize;
  const keep = o.keepShare ?? 0.5;
  if (!(keep >= 0 && keep < 1)) throw new Error(`maskedNeighbourBaseline: keepShare must be in [0, 1), got ${keep}`);
  checkIds(trainIds, v, "trainIds");
  const n = trainIds.length;
  const uni = new Float64Array(v);
  const left = new Float64Array(v * v); // [l, c]
  const right = new Float64Array(v * v); // [r, c]
  const tri = new Float64Array(v * v * v); // [l, r, c]
  for (let i = 0; i < n; i++) {
    const c = trainIds[i];
    uni[c]++;
    if (i > 0) left[trainIds[i - 1] * v + c]++;
    if (i + 1 < n) right[trainIds[i + 1] * v + c]++;
    if (i > 0 && i + 1 < n) tri[(trainIds[i - 1] * v + trainIds[i + 1]) * v + c]++;
  }
  const sumRows = (m: Float64Array) => {
    const s = new Float64Array(v);
    for (let a = 0; a < v; a++) for (let c = 0; c < v; c++) s[a] += m[a * v + c];
    return s;
  };
  const leftSum = sumRows(left);
  const rightSum = sumRows(right);
  const pUni = (c: number) => (uni[c] + 1) / (n + v);
  const pLeft = (l: number, c: number) => (left[l * v + c] + 1) / (leftSum[l] + v);
  const pRight = (r: number, c: number) => (right[r * v + c] + 1) / (rightSum[r] + v);
  // the scored positions: (l, r, input, target), l/r = −1 when missing
  const cases: [number, number, number, number][] = [];
  for (const b of batches) {
    const t = b.seqLen;
    for (let k = 0; k < b.targets.length; k++) {
      if (!(b.weights[k] > 0)) continue;
      const pos = k % t;
      const side = (j: number) => (j < 0 || j >= t || b.inputs[k - pos + j] === o.maskId ? -1 : b.inputs[k - pos + j]);
      cases.push([side(pos - 1), side(pos + 1), b.inputs[k], b.targets[k]]);
    }
  }
  if (cases.length === 0) throw new Error("maskedNeighbourBaseline: no scored positions in the batches");
  const triTotal = new Map<number, number>();
  const totalOf = (l: number, r: number) => {
    const key = l * v + r;
    let s = triTotal.get(key);
    if (s === undefined) {
      s = 0;
      for (let c = 0; c < v; c++) s += tri[key * v + c];
      triTotal.set(key, s);
    }
    return s;
  };
  const lambda1 = 0.05;
  const score = (lambda3: number) => {
    let nll = 0;
    for (const [l, r, input, c] of cases) {
      let p: number;
      if (l >= 0 && r >= 0) {
        const total = totalOf(l, r);
        const bi = 0.5 * (pLeft(l, c) + pRight(r, c));
        p =
          total > 0
            ? lambda3 * (tri[(l * v + r) * v + c] / total) + (1 - lambda3 - lambda1) * bi + lambda1 * pUni(c)
            : (1 - lambda1) * bi + lambda1 * pUni(c);
      } else if (l >= 0) p = (1 - lambda1) * pLeft(l, c) + lambda1 * pUni(c);
      else if (r >= 0) p = (1 - lambda1) * pRight(r, c) + lambda1 * pUni(c);
      else p = pUni(c);
      if (input !== o.maskId) p = keep * (input === c ? 1 : 0) + (1 - keep) * p;
      nll -= Math.log(p);
    }
    return nll / cases.length;
  };
  let best = { loss: Number.POSITIVE_INFINITY, lambda3: NEIGHBOUR_LAMBDAS[0] as number };
  for (const lambda3 of NEIGHBOUR_LAMBDAS) {
    const loss = score(lambda3);
    if (loss < best.loss) best = { loss, lambda3 };
  }
  return { ...best, tokens: cases.length };
}
