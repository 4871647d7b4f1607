/**
 * The bag-of-words baseline of sentence classification: multinomial naive Bayes with add-α
 * smoothing (Manning, Raghavan & Schütze 2008, §13.2). A fine-tuned model that does not beat it
 * has not learned more than which words go with which label — the classification counterpart of
 * the n-gram baselines of language modelling.
 *
 *   log P(c | s) ∝ log P(c) + Σ_{w ∈ s} log P(w | c),  P(w | c) = (count(w, c) + α) / (Σ_w' count(w', c) + α·V)
 */
import type { EncodedSentences } from "../data/batches";

export interface NaiveBayesResult {
  accuracy: number;
  /** The predicted class of each test sentence. */
  predictions: number[];
}

export function naiveBayesSentences(
  train: EncodedSentences,
  test: EncodedSentences,
  vocabSize: number,
  options: { alpha?: number } = {},
): NaiveBayesResult {
  const alpha = options.alpha ?? 1;
  if (!(alpha > 0)) throw new Error(`naiveBayesSentences: alpha must be > 0, got ${alpha}`);
  if (!(Number.isInteger(vocabSize) && vocabSize >= 1))
    throw new Error(`naiveBayesSentences: vocabSize must be a positive integer, got ${vocabSize}`);
  if (train.ids.length === 0 || test.ids.length === 0) throw new Error("naiveBayesSentences: needs training and test sentences");
  if (train.ids.length !== train.labels.length || test.ids.length !== test.labels.length)
    throw new Error("naiveBayesSentences: every sentence needs a label");
  const classes = Math.max(...train.labels, ...test.labels) + 1;
  const counts = Array.from({ length: classes }, () => new Float64Array(vocabSize));
  const totals = new Float64Array(classes);
  const docs = new Float64Array(classes);
  train.ids.forEach((ids, i) => {
    const c = train.labels[i];
    docs[c]++;
    for (const w of ids) {
      if (!(w >= 0 && w < vocabSize))
        throw new Error(`naiveBayesSentences: token id ${w} of training sentence ${i} is outside 0…${vocabSize - 1}`);
      counts[c][w]++;
      totals[c]++;
    }
  });
  const logPrior = Array.from(docs, (d) => Math.log(d / train.ids.length));
  const predictions = test.ids.map((ids) => {
    let best = 0,
      bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = logPrior[c];
      const denominator = Math.log(totals[c] + alpha * vocabSize);
      for (const w of ids) s += Math.log((w >= 0 && w < vocabSize ? counts[c][w] : 0) + alpha) - denominator;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    return best;
  });
  const right = predictions.filter((p, i) => p === test.labels[i]).length;
  return { accuracy: right / test.ids.length, predictions };
}
