/**
 * Learning-rate schedules as pure functions of the step (0-based): `(step) => lr`.
 */

export type Schedule = (step: number) => number;

export function constantLR(lr: number): Schedule {
  return () => lr;
}

/** Linear warmup from 0 to `lr` over `warmupSteps` steps, then constant (Vaswani et al. warm up; Xiong et al. drop it). */
export function linearWarmup(lr: number, warmupSteps: number): Schedule {
  if (warmupSteps < 0) throw new Error(`linearWarmup: warmupSteps must be ≥ 0, got ${warmupSteps}`);
  return (step) => (warmupSteps > 0 && step < warmupSteps ? (lr * (step + 1)) / warmupSteps : lr);
}

/** Linear warmup, then cosine decay to `minLr` at `totalSteps` (GPT-style). */
export function warmupCosine(lr: number, warmupSteps: number, totalSteps: number, minLr = 0): Schedule {
  return (step) => {
    if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

export interface SlantedTriangularOptions {
  /** T: total number of training iterations. */
  totalSteps: number;
  /** Fraction of iterations spent increasing the rate (0.1 in ULMFiT). */
  cutFrac?: number;
  /** How much smaller the lowest rate is than the highest (32 in ULMFiT). */
  ratio?: number;
  /** η_max (0.01 in ULMFiT). */
  lrMax?: number;
}

/**
 * Slanted triangular learning rate (Howard & Ruder 2018, eq. 3), per iteration t:
 *   cut = ⌊T·cut_frac⌋
 *   p   = t/cut                                   if t < cut
 *         1 − (t − cut)/(cut·(1/cut_frac − 1))    otherwise
 *   η_t = η_max · (1 + p·(ratio − 1)) / ratio
 */
export function slantedTriangularLR(step: number, options: SlantedTriangularOptions): number {
  const { totalSteps, cutFrac = 0.1, ratio = 32, lrMax = 0.01 } = options;
  if (!(totalSteps > 0)) throw new Error(`slantedTriangularLR: totalSteps must be > 0, got ${totalSteps}`);
  if (!(cutFrac > 0 && cutFrac < 1)) throw new Error(`slantedTriangularLR: cutFrac must be in (0, 1), got ${cutFrac}`);
  if (!(ratio >= 1)) throw new Error(`slantedTriangularLR: ratio must be ≥ 1, got ${ratio}`);
  const cut = Math.max(1, Math.floor(totalSteps * cutFrac));
  const p = step < cut ? step / cut : 1 - (step - cut) / (cut * (1 / cutFrac - 1));
  return (lrMax * (1 + Math.max(0, p) * (ratio - 1))) / ratio;
}
