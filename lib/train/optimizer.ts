/**
 * Adam (Kingma & Ba 2015) and AdamW (decoupled weight decay, Loshchilov & Hutter 2019), over named
 * variables, with per-variable learning-rate scales (ULMFiT's discriminative rates) and frozen
 * variables. Written out instead of tf.train.adam so both are possible and the state is ours:
 *   m ← β₁m + (1−β₁)g;   v ← β₂v + (1−β₂)g²
 *   w ← w − η·s·( m̂ / (√v̂ + ε) + λ·w ),   m̂ = m/(1−β₁ᵗ),  v̂ = v/(1−β₂ᵗ),  s = the variable's scale
 */
import * as tf from "@tensorflow/tfjs";
import { resolveConfig, type Schema } from "../config";
import { fusedAdam } from "../engine/fused";
import { variableFrom } from "../models/params";

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ (AdamW); 0 gives plain Adam. */
  weightDecay: number;
}

const SCHEMA: Schema<AdamConfig> = {
  beta1: { kind: "number", min: 0, max: 1 },
  beta2: { kind: "number", min: 0, max: 1 },
  eps: { kind: "number", min: 0, minExclusive: true },
  weightDecay: { kind: "number", min: 0 },
};

export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export class Adam {
  readonly config: AdamConfig;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private t = 0;

  constructor(
    private readonly variables: Map<string, tf.Variable>,
    config: Partial<AdamConfig> = {},
  ) {
    this.config = resolveConfig("AdamConfig", ADAM_DEFAULTS, SCHEMA, config);
  }

  /** Number of updates applied so far. */
  get steps(): number {
    return this.t;
  }

  /**
   * One update from gradients keyed like the variables. Variables without a gradient, or whose
   * scale is 0, are left untouched (frozen).
   */
  apply(grads: Map<string, tf.Tensor>, lr: number, scale: (name: string) => number = () => 1): void {
    // Every check before the first write: a bad rate or scale must leave all the weights as they were.
    if (!(typeof lr === "number" && Number.isFinite(lr) && lr >= 0))
      throw new Error(`Adam.apply: the learning rate must be a finite number ≥ 0, got ${lr}; no weight was updated`);
    const scales = new Map<string, number>();
    for (const name of grads.keys()) {
      if (!this.variables.has(name)) throw new Error(`Adam.apply: gradient for unknown variable "${name}"`);
      const s = scale(name);
      if (!(typeof s === "number" && Number.isFinite(s) && s >= 0))
        throw new Error(`Adam.apply: the learning-rate scale of "${name}" must be a finite number ≥ 0, got ${s}; no weight was updated`);
      scales.set(name, s);
    }
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const c1 = 1 / (1 - beta1 ** this.t);
    const c2 = 1 / (1 - beta2 ** this.t);
    for (const [name, g] of grads) {
      const w = this.variables.get(name)!;
      const s = scales.get(name)!;
      if (s === 0) continue;
      let state = this.moments.get(name);
      if (!state) {
        state = { m: variableFrom(() => tf.zerosLike(w), false), v: variableFrom(() => tf.zerosLike(w), false) };
        this.moments.set(name, state);
      }
      const { m, v } = state;
      tf.tidy(() => {
        // One kernel on the patched wasm backend (equal to the ops below within 1e-5).
        const fused = fusedAdam(w, g, m, v, { beta1, beta2, c1, c2, eps, lr: lr * s, decay: weightDecay });
        if (fused) {
          w.assign(fused[0]);
          m.assign(fused[1]);
          v.assign(fused[2]);
          return;
        }
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        let update = tf.div(tf.mul(m1, c1), tf.add(tf.sqrt(tf.mul(v1, c2)), eps));
        if (weightDecay > 0) update = tf.add(update, tf.mul(w, weightDecay));
        m.assign(m1);
        v.assign(v1);
        w.assign(tf.sub(w, tf.mul(update, lr * s)));
      });
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}

/** Global L2 norm of a set of gradients: √Σ‖g‖². */
export function globalNorm(grads: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const squares = [...grads].map((g) => tf.sum(tf.mul(g, g)));
    return tf.sqrt(squares.length ? tf.addN(squares) : tf.scalar(0)) as tf.Scalar;
  });
}
