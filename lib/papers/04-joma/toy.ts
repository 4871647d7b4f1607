/**
 * JoMA's toy dynamics (Tian et al. 2023, §4, Fig. 4): integrating out self-attention leaves, for
 * the attention logits' driver v ∈ ℝ^M,
 *
 *   v̇ = (μ − v) ⊙ softmax(v² / T)          (elementwise; μ = the tokens' saliency)
 *
 * Components with large μ grow first (softmax favours the largest v²), so the attention
 * softmax(v²/T) first gets sparser (entropy falls); once those saturate at μ the others catch up
 * and it gets denser again (entropy rises toward that of softmax(μ²/T)). Integrated with explicit
 * Euler steps v ← v + η·(μ − v) ⊙ softmax(v²/T). With η·softmax < 1 every component moves
 * monotonically from v₀ toward μ and never overshoots (tested).
 * The official script (`luckmatters/ssl/real-dataset/joma/draw_figure_4.py`) uses M = 10,
 * μ sorted from U(1, 4), v₀ = 0.05, η = 0.02, T = 3, 5000 iterations: our defaults.
 *
 * `drive: "constant"` is the linear-activation case: with a linear MLP the driving term does not
 * shrink as v grows (JoMA §3: Δ is constant), v̇ = μ ⊙ softmax(v²/T), so every component grows
 * without bound, the most salient fastest, and the attention only gets sparser. The default
 * `"saturating"`, (μ − v), is the nonlinear case of Fig. 4.
 */
import { ConfigError } from "../../config";
import { createRng } from "../../engine/rng";

export interface JomaToyOptions {
  /** Target μ; default: `size` values from U(1, 4) with `seed`, sorted. */
  mu?: number[];
  size?: number;
  seed?: number;
  v0?: number;
  temperature?: number;
  stepSize?: number;
  iterations?: number;
  /** "saturating": v̇ = (μ − v) ⊙ softmax (nonlinear MLP, Fig. 4); "constant": v̇ = μ ⊙ softmax (linear MLP). */
  drive?: "saturating" | "constant";
}

export interface JomaToyResult {
  mu: number[];
  /** v after every iteration (iterations + 1 rows, the first is v₀). */
  v: number[][];
  /** Entropy (nats) of softmax(v²/T) at every row of `v`. */
  entropy: number[];
}

function softmaxSquares(v: number[], temperature: number): number[] {
  const logits = v.map((x) => (x * x) / temperature);
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export function entropyOf(p: number[]): number {
  return -p.reduce((s, x) => s + (x > 0 ? x * Math.log(x) : 0), 0);
}

export function jomaToyDynamics(options: JomaToyOptions = {}): JomaToyResult {
  const { size = 10, seed = 0, v0 = 0.05, temperature = 3, stepSize = 0.02, iterations = 5000, drive = "saturating" } = options;
  if (drive !== "saturating" && drive !== "constant")
    throw new ConfigError(`jomaToyDynamics: drive must be "saturating" or "constant", got "${drive}"`);
  if (!(temperature > 0)) throw new ConfigError(`jomaToyDynamics: temperature must be > 0, got ${temperature}`);
  if (!(stepSize > 0)) throw new ConfigError(`jomaToyDynamics: stepSize must be > 0, got ${stepSize}`);
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new ConfigError(`jomaToyDynamics: iterations must be a non-negative integer, got ${iterations}`);
  let mu = options.mu;
  if (!mu) {
    const rng = createRng(seed);
    mu = Array.from({ length: size }, () => 1 + 3 * rng.uniform()).sort((a, b) => a - b);
  }
  if (mu.length === 0) throw new ConfigError("jomaToyDynamics: mu is empty");
  let v = new Array<number>(mu.length).fill(v0);
  const vs = [v.slice()];
  const entropy = [entropyOf(softmaxSquares(v, temperature))];
  for (let it = 0; it < iterations; it++) {
    const p = softmaxSquares(v, temperature);
    v = v.map((x, i) => x + stepSize * (drive === "saturating" ? mu![i] - x : mu![i]) * p[i]);
    vs.push(v.slice());
    entropy.push(entropyOf(softmaxSquares(v, temperature)));
  }
  return { mu, v: vs, entropy };
}
