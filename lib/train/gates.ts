/**
 * Training-quality gates: an arm of a comparison is compared only once it is trained properly.
 * A gate is a named check with the numbers behind it; a claim that depends on an arm that failed
 * its gate is "inconclusive" (see `claim` in lib/notebook/claims.ts).
 *
 *   baseline gate   final validation loss ≤ bigram baseline − margin (nats/token), the margin stated
 *   plateau gate    relative improvement of the validation loss over the last 20% of training,
 *                   (L(0.8·T) − L(T)) / L(0.8·T), at most `maxImprovement`
 *
 * And the per-arm learning-rate choice, scored on validation data only: `chooseLearningRate` (a grid
 * extended at its edges), `rateThenSeeds` (choose on one seed, then train the comparison seeds) and
 * `rateGate` (the chosen rate was bracketed).
 */

export interface QualityGate {
  /** What was checked, e.g. "Pre-LN, seed 1: beats the bigram by 0.1 nats". */
  name: string;
  passed: boolean;
  /** The numbers, e.g. "val 1.62 vs bigram 2.36 − 0.10". */
  detail: string;
}

/** Passes when `valLoss` ≤ `bigram` − `margin`. */
export function baselineGate(name: string, o: { valLoss: number; bigram: number; margin: number }): QualityGate {
  if (!(o.margin >= 0)) throw new Error(`baselineGate: margin must be ≥ 0, got ${o.margin}`);
  if (!Number.isFinite(o.bigram)) throw new Error(`baselineGate: bigram must be finite, got ${o.bigram}`);
  const passed = Number.isFinite(o.valLoss) && o.valLoss <= o.bigram - o.margin;
  return { name, passed, detail: `val ${o.valLoss.toFixed(3)} vs bigram ${o.bigram.toFixed(3)} − margin ${o.margin}` };
}

/**
 * Relative improvement of a validation curve over its last `fraction` of training: the loss at
 * the first evaluation at or after (1 − fraction)·lastStep against the last loss.
 */
export function lateImprovement(steps: readonly number[], losses: readonly number[], fraction = 0.2): number {
  if (steps.length !== losses.length) throw new Error(`lateImprovement: ${steps.length} steps for ${losses.length} losses`);
  if (steps.length < 2) throw new Error("lateImprovement: needs at least 2 evaluations");
  if (!(fraction > 0 && fraction < 1)) throw new Error(`lateImprovement: fraction must be in (0, 1), got ${fraction}`);
  const last = steps[steps.length - 1];
  const from = steps.findIndex((s) => s >= (1 - fraction) * last);
  const start = Math.min(from, steps.length - 2); // at least one interval to compare
  return (losses[start] - losses[losses.length - 1]) / losses[start];
}

/** Passes when the validation loss improved by at most `maxImprovement` (relative) over the last 20% of training. */
export function plateauGate(
  name: string,
  o: { steps: readonly number[]; losses: readonly number[]; maxImprovement: number; fraction?: number },
): QualityGate {
  const improvement = lateImprovement(o.steps, o.losses, o.fraction ?? 0.2);
  const passed = Number.isFinite(improvement) && improvement <= o.maxImprovement;
  return {
    name,
    passed,
    detail: `val loss improved ${(100 * improvement).toFixed(2)}% over the last ${Math.round(100 * (o.fraction ?? 0.2))}% of training (allowed ≤ ${(100 * o.maxImprovement).toFixed(1)}%)`,
  };
}

export interface LearningRateSweep {
  best: number;
  /** Validation score of each rate (lower is better), in the order given. */
  scores: { lr: number; score: number }[];
}

/**
 * Chooses a learning rate on validation data: `score(lr)` trains a short run at that rate and
 * returns its validation loss (never test data). Non-finite scores (diverged runs) never win.
 */
export function sweepLearningRate(rates: readonly number[], score: (lr: number) => number): LearningRateSweep {
  if (rates.length < 2) throw new Error(`sweepLearningRate: give at least 2 rates, got ${rates.length}`);
  for (const lr of rates)
    if (!(lr > 0 && Number.isFinite(lr))) throw new Error(`sweepLearningRate: rates must be positive numbers, got ${lr}`);
  const scores = rates.map((lr) => ({ lr, score: score(lr) }));
  const finite = scores.filter((s) => Number.isFinite(s.score));
  if (finite.length === 0) throw new Error(`sweepLearningRate: every rate diverged (${rates.join(", ")})`);
  const best = finite.reduce((a, b) => (b.score < a.score ? b : a)).lr;
  return { best, scores };
}

/**
 * `sweepLearningRate` with a rule for the grid's edges, fixed in advance: while the best rate is the
 * grid's largest (smallest), the next rate out — × `factor` (÷ `factor`) — is scored too, at most
 * `maxExtensions` times. A rate still at an edge after that is reported (`atEdge`), so a claim can
 * carry it as a failed gate. Non-finite scores never win.
 */
export function chooseLearningRate(
  grid: readonly number[],
  score: (lr: number) => number,
  o: { factor: number; maxExtensions: number },
): LearningRateSweep & { atEdge: boolean } {
  if (!(o.factor > 1)) throw new Error(`chooseLearningRate: factor must be > 1, got ${o.factor}`);
  if (!(Number.isInteger(o.maxExtensions) && o.maxExtensions >= 0))
    throw new Error(`chooseLearningRate: maxExtensions must be an integer ≥ 0, got ${o.maxExtensions}`);
  const first = sweepLearningRate(grid, score);
  const scores = [...first.scores];
  const best = () => scores.filter((s) => Number.isFinite(s.score)).reduce((a, b) => (b.score < a.score ? b : a)).lr;
  const edge = () => {
    const rates = scores.map((s) => s.lr);
    const b = best();
    return b === Math.max(...rates) ? "top" : b === Math.min(...rates) ? "bottom" : null;
  };
  for (let k = 0; k < o.maxExtensions && edge(); k++) {
    const rates = scores.map((s) => s.lr);
    const lr = edge() === "top" ? Math.max(...rates) * o.factor : Math.min(...rates) / o.factor;
    scores.push({ lr, score: score(lr) });
  }
  scores.sort((a, b) => a.lr - b.lr);
  return { best: best(), scores, atEdge: edge() !== null };
}

/** An arm's learning rate chosen by `chooseLearningRate` on one seed, then its comparison seeds at that rate. */
export interface RateThenSeeds<R> {
  /** The chosen rate. */
  lr: number;
  /** True when the chosen rate is still the smallest or largest rate tried. */
  atEdge: boolean;
  /** Every rate tried, ascending, with its validation score. */
  scores: { lr: number; score: number }[];
  /** The rate seed's run at every rate tried, ascending by rate. */
  rateRuns: R[];
  /** One run per comparison seed, at the chosen rate, in the order of `seeds`. */
  runs: R[];
}

/**
 * The per-arm procedure of a comparison: train `rateSeed` at every rate of `grid` (extended at its
 * edges by `chooseLearningRate`), choose the rate with the lowest validation `score`, then train
 * each of `seeds` at that rate. When `rateSeed` is one of `seeds` its run at the chosen rate is reused
 * — cheaper, but that run was selected as the best of several, so it is biased low (winner's curse);
 * keep `rateSeed` out of `seeds` for an unbiased comparison. `release` is called on each rate run
 * that is not reused (to free its parameters).
 */
export function rateThenSeeds<R>(o: {
  grid: readonly number[];
  factor: number;
  maxExtensions: number;
  rateSeed: number;
  seeds: readonly number[];
  train: (seed: number, lr: number) => R;
  /** Validation score of a run, lower is better (never test data). */
  score: (run: R) => number;
  release?: (run: R) => void;
}): RateThenSeeds<R> {
  if (o.seeds.length === 0) throw new Error("rateThenSeeds: give at least one comparison seed");
  if (new Set(o.seeds).size !== o.seeds.length) throw new Error(`rateThenSeeds: seeds repeat (${o.seeds.join(", ")})`);
  const tried = new Map<number, R>();
  const choice = chooseLearningRate(
    o.grid,
    (lr) => {
      const run = o.train(o.rateSeed, lr);
      tried.set(lr, run);
      return o.score(run);
    },
    { factor: o.factor, maxExtensions: o.maxExtensions },
  );
  const reuse = o.seeds.includes(o.rateSeed);
  for (const [lr, run] of tried) if (!(reuse && lr === choice.best)) o.release?.(run);
  const runs = o.seeds.map((seed) => (seed === o.rateSeed ? tried.get(choice.best)! : o.train(seed, choice.best)));
  return {
    lr: choice.best,
    atEdge: choice.atEdge,
    scores: choice.scores,
    rateRuns: choice.scores.map((s) => tried.get(s.lr)!),
    runs,
  };
}

/**
 * Passes when the chosen rate has a tried rate on each side of it (it is not at an edge of what was
 * tried), so the best rate was bracketed rather than cut off by the grid.
 */
export function rateGate(name: string, chosen: number, tried: readonly number[]): QualityGate {
  if (!tried.includes(chosen)) throw new Error(`rateGate: chosen rate ${chosen} is not among the rates tried (${tried.join(", ")})`);
  const sorted = [...tried].sort((a, b) => a - b);
  return {
    name: `${name}: learning rate inside the rates tried`,
    passed: chosen > sorted[0] && chosen < sorted[sorted.length - 1],
    detail: `chose ${chosen} of ${sorted.join(", ")}`,
  };
}
