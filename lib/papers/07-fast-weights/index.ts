/**
 * Linear attention is a fast weight programmer (Schmidhuber 1991; Schlag, Irie & Schmidhuber 2021,
 * "Linear Transformers Are Secretly Fast Weight Programmers"). The parallel form
 *   y_i = Σ_{j≤i} (φ(q_i)·φ(k_j)) v_j / Σ_{j≤i} φ(q_i)·φ(k_j)
 * equals the recurrent one that writes a matrix: W_i = W_{i−1} + v_i ⊗ φ(k_i) (the sum rule),
 * z_i = z_{i−1} + φ(k_i), y_i = W_i φ(q_i) / (z_i·φ(q_i)). The delta rule writes only the change:
 * v̄ = W_{i−1} φ(k_i), W_i = W_{i−1} + β_i (v_i − v̄) ⊗ φ(k_i), with φ normalised to sum 1 (as the
 * paper; then a write makes W φ(k) = v̄ + β(v − v̄)‖φ(k)‖², a partial overwrite) or to unit length
 * (then β = 1 overwrites exactly). Tensors are [B, T, d] (or [T, d], treated as B = 1). Both forms
 * add DENOMINATOR_EPS to the sum rule's denominator: DPFP features can be exactly orthogonal, 0/0.
 *
 * Notebook: notebooks/07-fast-weights.ipynb. Tests: test/papers/07-fast-weights.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, type OptionsSchema, checkOptions, checkValue } from "../../config";
import { type Rng, createRng } from "../../engine/rng";
import { type ProgressSink, train } from "../../train/trainer";
import { disposeParams, normalVariable, variableFrom, zerosVariable } from "../../models/params";
import { scaledDotProductAttention } from "../../models/ops";

/** Added to Σ φ(q)·φ(k) in the normalised forms (DPFP's sparse features can make it exactly 0). */
export const DENOMINATOR_EPS = 1e-6;

export type FeatureMap = { kind: "elu1" } | { kind: "dpfp"; nu: number } | { kind: "identity" };

export const FEATURE_MAP_KINDS = ["elu1", "dpfp", "identity"] as const;
const FEATURE_MAPS_TEXT = '{ kind: "elu1" }, { kind: "identity" } or { kind: "dpfp", nu } (ν an integer ≥ 1)';

/**
 * Checks a feature-map option (`who` names the function in the error): an object of one of the
 * allowed kinds with exactly its fields. A bare name ("elu1") is refused with the object to write.
 */
export function checkFeatureMap(who: string, map: unknown): asserts map is FeatureMap {
  if (map === null || typeof map !== "object" || Array.isArray(map)) {
    const hint =
      typeof map === "string" && (FEATURE_MAP_KINDS as readonly string[]).includes(map)
        ? ` (write { kind: "${map}"${map === "dpfp" ? ", nu: 1" : ""} })`
        : "";
    throw new ConfigError(`${who}: featureMap must be ${FEATURE_MAPS_TEXT}, got ${JSON.stringify(map) ?? String(map)}${hint}`);
  }
  const kind = (map as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !(FEATURE_MAP_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError(
      `${who}: featureMap.kind must be one of ${FEATURE_MAP_KINDS.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(kind) ?? "nothing"}; allowed feature maps: ${FEATURE_MAPS_TEXT}`,
    );
  }
  const kindSpec = { kind: "enum", values: FEATURE_MAP_KINDS } as const;
  if (kind === "dpfp")
    checkOptions(`${who}: featureMap`, map as { kind: string; nu: number }, { kind: kindSpec, nu: { kind: "int", min: 1 } });
  else checkOptions(`${who}: featureMap`, map as { kind: string }, { kind: kindSpec });
}

/** Output width of a feature map on d inputs: d (elu1, identity) or 2νd (DPFP_ν). */
export function featureDim(d: number, map: FeatureMap): number {
  checkFeatureMap("featureDim", map);
  if (map.kind === "dpfp") {
    if (!(Number.isInteger(map.nu) && map.nu >= 1 && map.nu < 2 * d))
      throw new Error(`featureDim: DPFP ν must be an integer in 1…${2 * d - 1}, got ${map.nu}`);
    return 2 * map.nu * d;
  }
  return d;
}

/**
 * φ over the last axis. elu1: elu(x) + 1 (Katharopoulos et al. 2020). DPFP_ν (Schlag et al. 2021):
 * r = [relu(x), relu(−x)] (2d), then the products r ⊙ roll(r, i) for i = 1…ν, concatenated: 2νd.
 */
export function applyFeatureMap(x: tf.Tensor, map: FeatureMap): tf.Tensor {
  const d = x.shape[x.rank - 1];
  checkFeatureMap("applyFeatureMap", map);
  featureDim(d, map);
  return tf.tidy(() => {
    if (map.kind === "identity") return tf.clone(x);
    if (map.kind === "elu1") return tf.add(tf.elu(x), 1);
    const r = tf.concat([tf.relu(x), tf.relu(tf.neg(x))], -1); // [..., 2d]
    const w = 2 * d;
    const parts: tf.Tensor[] = [];
    for (let i = 1; i <= map.nu; i++) {
      // roll by i along the last axis: element j takes r[(j − i) mod 2d]
      const rolled = tf.concat(
        [
          tf.slice(
            r,
            Array(r.rank)
              .fill(0)
              .map((_, a) => (a === r.rank - 1 ? w - i : 0)),
            r.shape.map((s, a) => (a === r.rank - 1 ? i : s)),
          ),
          tf.slice(
            r,
            Array(r.rank).fill(0),
            r.shape.map((s, a) => (a === r.rank - 1 ? w - i : s)),
          ),
        ],
        -1,
      );
      parts.push(tf.mul(r, rolled));
    }
    return tf.concat(parts, -1);
  });
}

function asBatch(x: tf.Tensor, name: string): tf.Tensor3D {
  if (x.rank === 2) return tf.expandDims(x, 0) as tf.Tensor3D;
  if (x.rank === 3) return x as tf.Tensor3D;
  throw new Error(`${name}: expected [T, d] or [B, T, d], got [${x.shape}]`);
}

function checkQkv(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, who: string): void {
  const lead = (t: tf.Tensor) => t.shape.slice(0, -1).join(",");
  if (q.rank !== k.rank || k.rank !== v.rank || lead(q) !== lead(k) || lead(k) !== lead(v)) {
    throw new Error(`${who}: q [${q.shape}], k [${k.shape}] and v [${v.shape}] must share their leading dimensions`);
  }
  if (q.shape[q.rank - 1] !== k.shape[k.rank - 1])
    throw new Error(`${who}: q and k widths differ (${q.shape[q.rank - 1]} vs ${k.shape[k.rank - 1]})`);
}

/** Linear attention, parallel form: [B, T, dv]. Causal by default; normalised by Σ φ(q)·φ(k). */
export function linearAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  options: { featureMap: FeatureMap; causal?: boolean },
): tf.Tensor {
  checkOptions("linearAttention", options, { featureMap: { kind: "any" }, causal: { kind: "bool", optional: true } });
  checkFeatureMap("linearAttention", options.featureMap);
  checkQkv(q, k, v, "linearAttention");
  return tf.tidy(() => {
    const fq = applyFeatureMap(asBatch(q, "linearAttention q"), options.featureMap);
    const fk = applyFeatureMap(asBatch(k, "linearAttention k"), options.featureMap);
    let a = tf.matMul(fq, fk, false, true); // [B, T, T]
    if (options.causal ?? true) a = tf.mul(a, tf.linalg.bandPart(tf.onesLike(a), -1, 0));
    const y = tf.div(tf.matMul(a, asBatch(v, "linearAttention v")), tf.add(tf.sum(a, -1, true), DENOMINATOR_EPS));
    return q.rank === 2 ? tf.squeeze(y, [0]) : y;
  });
}

/** Softmax attention (scaled dot product), for comparison: [B, T, dv]. */
export function softmaxAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: { causal?: boolean; scale?: number } = {}): tf.Tensor {
  checkQkv(q, k, v, "softmaxAttention");
  return tf.tidy(() => {
    const { out } = scaledDotProductAttention(
      asBatch(q, "softmaxAttention q"),
      asBatch(k, "softmaxAttention k"),
      asBatch(v, "softmaxAttention v"),
      { causal: options.causal ?? true, scale: options.scale },
    );
    return q.rank === 2 ? tf.squeeze(out, [0]) : out;
  });
}

export interface FastWeightOptions {
  featureMap: FeatureMap;
  rule: "sum" | "delta";
  /** Delta rule's write strength: a number, or [B, T] per step (e.g. σ(W_β x)). Default 1. */
  beta?: number | tf.Tensor;
  /** Delta rule's normalisation of φ(k) and φ(q): "sum" (the paper's, default) or "l2". */
  normalization?: "sum" | "l2";
}

export interface FastWeightResult {
  /** [B, T, dv] (or [T, dv] for unbatched inputs). */
  outputs: tf.Tensor;
  /** The fast weight matrix after the last step, W_T [B, dv, D]. */
  weights: tf.Tensor3D;
}

/**
 * The recurrent fast weight programmer, one explicit W_i per step. Sum rule: y_i = W_i φ(q_i) /
 * (z_i·φ(q_i)) (= causal linear attention). Delta rule: φ normalised to sum 1, y_i = W_i φ(q_i).
 */
const FAST_WEIGHT_SCHEMA: OptionsSchema<FastWeightOptions> = {
  featureMap: { kind: "any" }, // checkFeatureMap
  rule: { kind: "enum", values: ["sum", "delta"] },
  beta: { kind: "either", of: [{ kind: "number" }, { kind: "object", what: "a [B, T] tensor" }], optional: true },
  normalization: { kind: "enum", values: ["sum", "l2"], optional: true },
};

export function fastWeightProgrammer(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: FastWeightOptions): FastWeightResult {
  checkOptions("fastWeightProgrammer", options, FAST_WEIGHT_SCHEMA);
  checkFeatureMap("fastWeightProgrammer", options.featureMap);
  checkQkv(q, k, v, "fastWeightProgrammer");
  return tf.tidy(() => {
    let fq = applyFeatureMap(asBatch(q, "fastWeightProgrammer q"), options.featureMap);
    let fk = applyFeatureMap(asBatch(k, "fastWeightProgrammer k"), options.featureMap);
    const vb = asBatch(v, "fastWeightProgrammer v");
    const [b, t, dv] = vb.shape;
    const D = fq.shape[fq.rank - 1] as number;
    if (options.rule === "delta") {
      const norm = (x: tf.Tensor) => ((options.normalization ?? "sum") === "sum" ? tf.sum(x, -1, true) : tf.norm(x, "euclidean", -1, true));
      fq = tf.div(fq, tf.add(norm(fq), DENOMINATOR_EPS));
      fk = tf.div(fk, tf.add(norm(fk), DENOMINATOR_EPS));
    }
    const beta = options.beta ?? 1;
    if (beta instanceof tf.Tensor && (beta.rank !== 2 || beta.shape[0] !== b || beta.shape[1] !== t)) {
      throw new Error(`fastWeightProgrammer: beta must be [B, T] = [${b}, ${t}], got [${beta.shape}]`);
    }
    let W: tf.Tensor = tf.zeros([b, dv, D]);
    let z: tf.Tensor = tf.zeros([b, 1, D]);
    const outputs: tf.Tensor[] = [];
    for (let i = 0; i < t; i++) {
      const ki = tf.slice(fk, [0, i, 0], [b, 1, D]); // [B, 1, D]
      const qi = tf.slice(fq, [0, i, 0], [b, 1, D]);
      const vi = tf.reshape(tf.slice(vb, [0, i, 0], [b, 1, dv]), [b, dv, 1]);
      if (options.rule === "sum") {
        W = tf.add(W, tf.matMul(vi, ki)); // + v ⊗ φ(k)
        z = tf.add(z, ki);
        const num = tf.matMul(W, qi, false, true); // [B, dv, 1]
        const den = tf.add(tf.sum(tf.mul(z, qi), -1, true), DENOMINATOR_EPS); // [B, 1, 1]
        outputs.push(tf.reshape(tf.div(num, den), [b, 1, dv]));
      } else {
        const bi = typeof beta === "number" ? beta : tf.reshape(tf.slice(beta, [0, i], [b, 1]), [b, 1, 1]);
        const vBar = tf.matMul(W, ki, false, true); // [B, dv, 1]
        W = tf.add(W, tf.mul(tf.matMul(tf.sub(vi, vBar), ki), bi));
        outputs.push(tf.reshape(tf.matMul(W, qi, false, true), [b, 1, dv]));
      }
    }
    const y = tf.concat(outputs, 1);
    return { outputs: q.rank === 2 ? tf.squeeze(y, [0]) : y, weights: W as tf.Tensor3D };
  });
}

/**
 * The delta rule's final memory W_T [B, dv, D] from keys φ̂(k) [B, L, D] (already normalised),
 * values [B, L, dv] and write strengths β [B, L], with W_0 = 0:
 *   W_i = W_{i−1} + β_i (v_i − W_{i−1} φ̂(k_i)) ⊗ φ̂(k_i).
 * The same numbers as `fastWeightProgrammer(…, { rule: "delta" }).weights`, in one pass over plain
 * arrays each way instead of a dozen engine calls per token: the recurrence is sequential and its
 * tensors are tiny, so dispatch, not arithmetic, is what costs. Reads and writes touch only a key's
 * non-zero entries (most of a DPFP key). Differentiable in all three inputs; the backward pass walks
 * the tokens in reverse from W_T (undoing each write, W_{i−1} = W_i − β_i e_i ⊗ φ̂(k_i), so no
 * history is stored) with G_i = ∂ℓ/∂W_i:
 *   g = G_i φ̂(k_i),  ∂v_i = β_i g,  ∂β_i = e_iᵀ g (e_i = v_i − W_{i−1} φ̂(k_i)),
 *   ∂φ̂(k_i) = β_i (G_iᵀ e_i − W_{i−1}ᵀ g),  G_{i−1} = G_i − β_i g φ̂(k_i)ᵀ.
 */
export function deltaRuleMemory(keys: tf.Tensor3D, values: tf.Tensor3D, beta: tf.Tensor2D): tf.Tensor3D {
  const [b, L, D] = keys.shape;
  const dv = values.shape[2];
  if (values.shape[0] !== b || values.shape[1] !== L || beta.shape[0] !== b || beta.shape[1] !== L) {
    throw new Error(`deltaRuleMemory: keys [${keys.shape}], values [${values.shape}] and beta [${beta.shape}] must agree on [B, L]`);
  }
  const size = dv * D;
  // The non-zero entries of each key (DPFP keys are mostly zeros): writes and reads touch only those columns.
  const nonZero = (K: Float32Array, off: number, into: Int32Array) => {
    let m = 0;
    for (let c = 0; c < D; c++) if (K[off + c] !== 0) into[m++] = c;
    return m;
  };
  const op = tf.customGrad(((k: tf.Tensor, v: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const K = k.dataSync() as Float32Array,
      V = v.dataSync() as Float32Array,
      Bt = bt.dataSync() as Float32Array;
    const out = new Float32Array(b * size);
    const errors = new Float32Array(b * L * dv); // e_i = v_i − W_{i−1} φ̂(k_i), kept for the backward pass
    const nz = new Int32Array(D);
    for (let n = 0; n < b; n++) {
      const W = out.subarray(n * size, (n + 1) * size);
      for (let i = 0; i < L; i++) {
        const kOff = (n * L + i) * D,
          vOff = (n * L + i) * dv,
          bi = Bt[n * L + i];
        const m = nonZero(K, kOff, nz);
        for (let r = 0; r < dv; r++) {
          const row = r * D;
          let a = 0;
          for (let j = 0; j < m; j++) a += W[row + nz[j]] * K[kOff + nz[j]];
          const e = V[vOff + r] - a;
          errors[vOff + r] = e;
          const be = bi * e;
          for (let j = 0; j < m; j++) W[row + nz[j]] += be * K[kOff + nz[j]];
        }
      }
    }
    save([k, bt]);
    return {
      value: tf.tensor3d(out, [b, dv, D]),
      gradFunc: (dy: tf.Tensor, [ks, bts]: tf.Tensor[]) => {
        const Ks = ks.dataSync() as Float32Array,
          Bs = bts.dataSync() as Float32Array;
        const G = Float32Array.from(dy.dataSync() as Float32Array);
        const W = Float32Array.from(out); // walked back from W_T: W_{i−1} = W_i − β_i e_i ⊗ φ̂(k_i)
        const dK = new Float32Array(b * L * D),
          dV = new Float32Array(b * L * dv),
          dB = new Float32Array(b * L);
        const g = new Float32Array(dv);
        for (let n = 0; n < b; n++) {
          const base = n * size;
          for (let i = L - 1; i >= 0; i--) {
            const kOff = (n * L + i) * D,
              vOff = (n * L + i) * dv,
              bi = Bs[n * L + i];
            const m = nonZero(Ks, kOff, nz);
            let db = 0;
            for (let r = 0; r < dv; r++) {
              const row = base + r * D;
              let a = 0;
              for (let j = 0; j < m; j++) a += G[row + nz[j]] * Ks[kOff + nz[j]];
              g[r] = a;
              dV[vOff + r] = bi * a;
              db += errors[vOff + r] * a;
              const be = bi * errors[vOff + r];
              for (let j = 0; j < m; j++) W[row + nz[j]] -= be * Ks[kOff + nz[j]]; // now W_{i−1}
            }
            dB[n * L + i] = db;
            // ∂φ̂(k_i) = β_i (G_iᵀ e_i − W_{i−1}ᵀ g), over every column (the zero entries get gradients too)
            for (let c = 0; c < D; c++) dK[kOff + c] = 0;
            for (let r = 0; r < dv; r++) {
              const row = base + r * D,
                e = errors[vOff + r],
                gr = g[r];
              for (let c = 0; c < D; c++) dK[kOff + c] += G[row + c] * e - W[row + c] * gr;
            }
            for (let c = 0; c < D; c++) dK[kOff + c] *= bi;
            for (let r = 0; r < dv; r++) {
              const row = base + r * D,
                bg = bi * g[r];
              for (let j = 0; j < m; j++) G[row + nz[j]] -= bg * Ks[kOff + nz[j]];
            }
          }
        }
        return [tf.tensor3d(dK, [b, L, D]), tf.tensor3d(dV, [b, L, dv]), tf.tensor2d(dB, [b, L])];
      },
    };
  }) as never) as unknown as (k: tf.Tensor, v: tf.Tensor, bt: tf.Tensor) => tf.Tensor3D;
  return op(keys, values, beta);
}

// ---------------------------------------------------------------------------------------------
// Associative retrieval (Schlag et al. 2021, §6.1)

export interface RetrievalOptions {
  batchSize: number;
  /** S: distinct keys stored per sequence (the key vocabulary has S keys, all used). */
  pairs: number;
  valueDim: number;
  /** Extra key–value pairs after the first S that re-use keys with new values (0 = none). */
  overwrites?: number;
  /**
   * The paper's setting 2 (its `replace` flag): 2S keys drawn uniformly with replacement from the
   * S keys, so some keys are written several times and some not at all; the query is the key at a
   * uniformly random position, its target the latest value written to it. Excludes `overwrites`.
   */
  replace?: boolean;
  /**
   * Ask for every key of the vocabulary (Q = S queries per sequence, in key order), as the official
   * evaluation does (its `get_all_queries`); a key never written has mask 0. Default: one query.
   */
  queryAll?: boolean;
  /** A control: each query's target is the value at a uniformly random position, unrelated to the key asked for. */
  shuffleTargets?: boolean;
}

export interface RetrievalBatch {
  /** [B, L] key ids, L = S + overwrites (2S with `replace`). */
  keys: Int32Array;
  /** [B, L, dv] values, entries ±1/√dv. */
  values: Float32Array;
  /** [B, Q] the keys asked for. */
  query: Int32Array;
  /** [B, Q, dv] their most recent values (zeros where the mask is 0). */
  target: Float32Array;
  /** [B, Q] 1 for a query that counts, 0 for a key never written (only with `queryAll` and `replace`). */
  mask: Float32Array;
  length: number;
  /** Q: queries per sequence (1, or S with `queryAll`). */
  queriesPerSequence: number;
}

/** S keys (a random order of all S) with random ±1/√dv values, then `overwrites` re-assignments; one query (or all S). */
export function retrievalBatch(rng: Rng, o: RetrievalOptions): RetrievalBatch {
  const { batchSize: b, pairs: s, valueDim: dv } = o;
  const extra = o.overwrites ?? 0;
  if (!(Number.isInteger(s) && s >= 1)) throw new Error(`retrievalBatch: pairs must be a positive integer, got ${s}`);
  if (!(Number.isInteger(extra) && extra >= 0)) throw new Error(`retrievalBatch: overwrites must be a non-negative integer, got ${extra}`);
  checkValue("retrievalBatch", "batchSize", b, { kind: "int", min: 1 });
  checkValue("retrievalBatch", "valueDim", dv, { kind: "int", min: 1 });
  if (o.replace && extra > 0) throw new Error("retrievalBatch: `replace` draws its own 2S keys; do not also pass `overwrites`");
  const L = o.replace ? 2 * s : s + extra;
  const Q = o.queryAll ? s : 1;
  const keys = new Int32Array(b * L),
    values = new Float32Array(b * L * dv),
    query = new Int32Array(b * Q),
    target = new Float32Array(b * Q * dv),
    mask = new Float32Array(b * Q);
  const scale = 1 / Math.sqrt(dv);
  const last = new Int32Array(s);
  for (let n = 0; n < b; n++) {
    const order = o.replace ? [] : rng.shuffle(Array.from({ length: s }, (_, i) => i));
    for (let i = 0; i < L; i++) {
      keys[n * L + i] = i < order.length ? order[i] : rng.int(s);
      for (let c = 0; c < dv; c++) values[(n * L + i) * dv + c] = rng.uniform() < 0.5 ? -scale : scale;
    }
    last.fill(-1);
    for (let i = 0; i < L; i++) last[keys[n * L + i]] = i;
    for (let j = 0; j < Q; j++) {
      const qk = o.queryAll ? j : o.replace ? keys[n * L + rng.int(L)] : rng.int(s);
      const at = n * Q + j;
      query[at] = qk;
      if (last[qk] < 0) continue; // never written: mask 0, target 0
      mask[at] = 1;
      const from = o.shuffleTargets ? rng.int(L) : last[qk];
      target.set(values.subarray((n * L + from) * dv, (n * L + from + 1) * dv), at * dv);
    }
  }
  return { keys, values, query, target, mask, length: L, queriesPerSequence: Q };
}

/**
 * The sum rule's floor in setting 2 (`replace`): a reader that cannot tell the order of writes
 * (the sum rule, whose every write of a key has the same φ(k)) can do no better than the mean of the
 * m values written to the key asked for, whose expected squared error against the latest is
 * (m − 1)/m for independent values of unit norm. Returns E[(m − 1)/m] for the queries as drawn:
 * "position" (training: the key at a uniform position of the 2S, so m − 1 ~ Binomial(2S − 1, 1/S))
 * or "key" (`queryAll`: every key written at least once, equally; m ~ Binomial(2S, 1/S) given m ≥ 1).
 */
export function sumRuleOverwriteFloor(pairs: number, query: "position" | "key" = "position"): number {
  checkValue("sumRuleOverwriteFloor", "pairs", pairs, { kind: "int", min: 1 });
  if (query !== "position" && query !== "key")
    throw new ConfigError(`sumRuleOverwriteFloor: query must be "position" or "key", got ${JSON.stringify(query)}`);
  const n = query === "position" ? 2 * pairs - 1 : 2 * pairs,
    p = 1 / pairs;
  // Binomial(n, p) probabilities in logs (n up to thousands)
  const logChoose = (k: number) => {
    let l = 0;
    for (let i = 1; i <= k; i++) l += Math.log((n - k + i) / i);
    return l;
  };
  const prob = (k: number) => (p === 1 ? (k === n ? 1 : 0) : Math.exp(logChoose(k) + k * Math.log(p) + (n - k) * Math.log1p(-p)));
  let total = 0,
    mass = 0;
  for (let k = 0; k <= n; k++) {
    const m = query === "position" ? k + 1 : k;
    if (m === 0) continue;
    const pk = prob(k);
    total += pk * ((m - 1) / m);
    mass += pk;
  }
  return total / mass;
}

/** How the retrieval model reads its memory. */
export type RetrievalAttention = { kind: "softmax" } | { kind: "fast-weights"; featureMap: FeatureMap; rule: "sum" | "delta" };

/** Checks a retrieval model's attention option: `{ kind: "softmax" }` or `{ kind: "fast-weights", featureMap, rule }`. */
export function checkRetrievalAttention(who: string, a: unknown): asserts a is RetrievalAttention {
  const kind = a !== null && typeof a === "object" ? (a as { kind?: unknown }).kind : undefined;
  if (kind === "softmax") {
    checkOptions(`${who}: attention`, a as { kind: string }, { kind: { kind: "enum", values: ["softmax"] } });
    return;
  }
  if (kind === "fast-weights") {
    checkOptions(`${who}: attention`, a as { kind: string; featureMap: unknown; rule: string }, {
      kind: { kind: "enum", values: ["fast-weights"] },
      featureMap: { kind: "any" },
      rule: { kind: "enum", values: ["sum", "delta"] },
    });
    checkFeatureMap(`${who}: attention`, (a as { featureMap: unknown }).featureMap);
    return;
  }
  throw new ConfigError(
    `${who}: attention must be { kind: "softmax" } or { kind: "fast-weights", featureMap, rule: "sum" | "delta" }, got ${JSON.stringify(a) ?? String(a)}`,
  );
}

export function retrievalAttentionName(a: RetrievalAttention): string {
  checkRetrievalAttention("retrievalAttentionName", a);
  if (a.kind === "softmax") return "softmax";
  const map = a.featureMap.kind === "dpfp" ? `DPFP ν=${a.featureMap.nu}` : a.featureMap.kind === "elu1" ? "linear (ELU+1)" : "identity";
  return `${map}, ${a.rule} rule`;
}

export interface RetrievalModel {
  attention: RetrievalAttention;
  /** Key and query embeddings of the S key ids, [S, dKey] each. */
  keyEmbedding: tf.Variable;
  queryEmbedding: tf.Variable;
  /** Delta rule: β_i = σ(k_i·betaWeight + betaBias). */
  betaWeight: tf.Variable;
  betaBias: tf.Variable;
  /**
   * A learned map of the values before they are stored, [dv, dv], identity at the start (when
   * the model was made with `valueDim`). Not in the official model: its values are fixed one-hot
   * embeddings (V = v_emb; its W_v is never used), while its keys and β see the value embedding too.
   * Added after a first overwrite study in which the delta rule, whose sum-normalised write moves
   * W φ̂(k) only ‖φ̂(k)‖² of the way to v, failed from S = 8: a result-driven deviation.
   */
  valueProjection?: tf.Variable;
}

/** Predicted values [B·Q, dv] for a batch: store the L pairs, then read with each of the Q queries. */
export function retrievalReadout(model: RetrievalModel, batch: RetrievalBatch): tf.Tensor2D {
  const Q = batch.queriesPerSequence,
    b = batch.query.length / Q,
    L = batch.length,
    dv = batch.values.length / (b * L);
  return tf.tidy(() => {
    const keys = tf.reshape(tf.gather(model.keyEmbedding, tf.tensor1d(batch.keys, "int32")), [b, L, -1]);
    const query = tf.reshape(tf.gather(model.queryEmbedding, tf.tensor1d(batch.query, "int32")), [b, Q, -1]);
    const raw = tf.tensor3d(batch.values, [b, L, dv]);
    const values = model.valueProjection
      ? (tf.reshape(tf.matMul(tf.reshape(raw, [b * L, dv]), model.valueProjection), [b, L, dv]) as tf.Tensor3D)
      : raw;
    const a = model.attention;
    if (a.kind === "softmax") {
      return tf.reshape(tf.matMul(tf.softmax(tf.matMul(query, keys, false, true)), values), [b * Q, dv]) as tf.Tensor2D;
    }
    if (a.rule === "sum") {
      const fq = applyFeatureMap(query, a.featureMap),
        fk = applyFeatureMap(keys, a.featureMap);
      const w = tf.matMul(fq, fk, false, true); // [B, Q, L]
      return tf.reshape(tf.div(tf.matMul(w, values), tf.add(tf.sum(w, -1, true), DENOMINATOR_EPS)), [b * Q, dv]) as tf.Tensor2D;
    }
    const beta = tf.sigmoid(
      tf.add(tf.reshape(tf.matMul(tf.reshape(keys, [b * L, -1]), tf.reshape(model.betaWeight, [-1, 1])), [b, L]), model.betaBias),
    );
    let fk = applyFeatureMap(keys, a.featureMap);
    fk = tf.div(fk, tf.add(tf.sum(fk, -1, true), DENOMINATOR_EPS));
    const weights = deltaRuleMemory(fk as tf.Tensor3D, values, beta as tf.Tensor2D);
    let fq = applyFeatureMap(query, a.featureMap);
    fq = tf.div(fq, tf.add(tf.sum(fq, -1, true), DENOMINATOR_EPS));
    return tf.reshape(tf.matMul(fq, weights, false, true), [b * Q, dv]) as tf.Tensor2D; // [B, Q, D]·[B, dv, D]ᵀ
  });
}

/** Retrieval loss: squared error summed over the value's entries, mean over the queries that count (predicting 0 scores 1). */
export function retrievalLoss(predicted: tf.Tensor, batch: RetrievalBatch): tf.Scalar {
  const counted = batch.mask.reduce((a, m) => a + m, 0);
  return tf.tidy(() => {
    const err = tf.sum(tf.square(tf.sub(predicted, tf.tensor2d(batch.target, predicted.shape as [number, number]))), -1);
    return tf.div(tf.sum(tf.mul(err, tf.tensor1d(batch.mask))), Math.max(counted, 1)) as tf.Scalar;
  });
}

/** Fresh embeddings for S keys of width `keyDim` (N(0, initStd²) entries, default 1/√keyDim, from `seed`). */
export function initRetrievalModel(
  attention: RetrievalAttention,
  o: { pairs: number; keyDim: number; seed: number; initStd?: number; valueDim?: number },
): RetrievalModel {
  const std = o.initStd ?? 1 / Math.sqrt(o.keyDim);
  checkRetrievalAttention("initRetrievalModel", attention);
  if (attention.kind === "fast-weights") featureDim(o.keyDim, attention.featureMap);
  const rng = createRng(o.seed);
  return {
    attention,
    keyEmbedding: normalVariable(rng, [o.pairs, o.keyDim], std),
    queryEmbedding: normalVariable(rng, [o.pairs, o.keyDim], std),
    betaWeight: normalVariable(rng, [o.keyDim], 0.1),
    betaBias: zerosVariable([1]),
    ...(o.valueDim !== undefined ? { valueProjection: variableFrom(() => tf.eye(o.valueDim!)) } : {}),
  };
}

export interface RetrievalRunOptions extends Omit<RetrievalOptions, "batchSize"> {
  attention: RetrievalAttention;
  keyDim: number;
  /** Training steps (with the stopping rule: the most it may take). */
  steps: number;
  lr: number;
  batchSize: number;
  seed: number;
  /** Std of the initial embeddings (default 1/√keyDim: softmax logits start at unit scale). */
  initStd?: number;
  /** Fresh batches for the final evaluation (default 8). */
  evalBatches?: number;
  /**
   * The paper's stopping rule (its main.py): every `evalEvery` steps score the validation batches
   * (`evalBatches` of them, drawn once, apart from the test batches); stop when that loss is ≤
   * `stopBelow`, or after `patience` evaluations without a new best; the test batches then score the
   * parameters of the best evaluation. Off when `evalEvery` is not given.
   */
  evalEvery?: number;
  patience?: number;
  stopBelow?: number;
  /** Validation and test sequences ask for every key (the official evaluation); training asks one. Default false. */
  evalQueryAll?: boolean;
  /** Test batches scored after training (default `evalBatches`). */
  testBatches?: number;
  /** Learn a [dv, dv] map of the values before they are stored (identity at the start); not in the official model, see RetrievalModel.valueProjection. */
  learnValues?: boolean;
  progress?: ProgressSink;
}

export interface RetrievalRun {
  losses: number[];
  /** Mean loss on the test batches after training (0 = perfect recall, 1 = predicting zeros). */
  finalLoss: number;
  /** The best validation loss (the final loss when there is no stopping rule). */
  bestValidLoss: number;
  msPerStep: number;
  steps: number;
  /** With the stopping rule: why it stopped, the validation curve and the best evaluation's step. */
  stopReason: "solved" | "plateau" | "max-steps";
  validCurve: { step: number; loss: number }[];
  bestStep: number;
}

const RETRIEVAL_RUN_SCHEMA: OptionsSchema<RetrievalRunOptions> = {
  attention: { kind: "object", what: '{ kind: "softmax" } or { kind: "fast-weights", featureMap, rule }' },
  keyDim: { kind: "int", min: 1 },
  steps: { kind: "int", min: 0 },
  lr: { kind: "number", min: 0 },
  batchSize: { kind: "int", min: 1 },
  seed: { kind: "int" },
  initStd: { kind: "number", min: 0, minExclusive: true, optional: true },
  evalBatches: { kind: "int", min: 1, optional: true },
  progress: { kind: "object", what: "a progress sink (in a notebook, ta.progressBar(label))", optional: true },
  pairs: { kind: "int", min: 1 },
  valueDim: { kind: "int", min: 1 },
  overwrites: { kind: "int", min: 0, optional: true },
  replace: { kind: "bool", optional: true },
  learnValues: { kind: "bool", optional: true },
  evalEvery: { kind: "int", min: 1, optional: true },
  patience: { kind: "int", min: 1, optional: true },
  stopBelow: { kind: "number", min: 0, optional: true },
  evalQueryAll: { kind: "bool", optional: true },
  testBatches: { kind: "int", min: 1, optional: true },
  shuffleTargets: { kind: "bool", optional: true },
  queryAll: { kind: "bool", optional: true },
};

/** Trains the key and query embeddings (and β for the delta rule) on fresh retrieval batches. */
export function trainRetrieval(o: RetrievalRunOptions): RetrievalRun {
  checkOptions("trainRetrieval", o, RETRIEVAL_RUN_SCHEMA);
  checkRetrievalAttention("trainRetrieval", o.attention);
  const patience = o.patience ?? 10,
    stopBelow = o.stopBelow ?? 0;
  const model = initRetrievalModel(o.attention, {
    pairs: o.pairs,
    keyDim: o.keyDim,
    seed: o.seed,
    initStd: o.initStd,
    valueDim: o.learnValues ? o.valueDim : undefined,
  });
  const data = createRng(o.seed + 1_000_003);
  const shape = {
    batchSize: o.batchSize,
    pairs: o.pairs,
    valueDim: o.valueDim,
    overwrites: o.overwrites,
    replace: o.replace,
    shuffleTargets: o.shuffleTargets,
    queryAll: o.queryAll,
  };
  const batchOf = (rng: Rng) => retrievalBatch(rng, shape);
  const evalBatchOf = (rng: Rng) => retrievalBatch(rng, { ...shape, queryAll: o.evalQueryAll || o.queryAll });
  const { attention: _kind, ...params } = model;
  const trainable =
    o.attention.kind === "fast-weights" && o.attention.rule === "delta"
      ? params
      : {
          keyEmbedding: params.keyEmbedding,
          queryEmbedding: params.queryEmbedding,
          ...(params.valueProjection ? { valueProjection: params.valueProjection } : {}),
        };
  // weighted by each batch's counted queries: the mean over every query that counts
  const score = (batches: RetrievalBatch[]) => {
    let sum = 0,
      count = 0;
    for (const b of batches) {
      const n = b.mask.reduce((a, m) => a + m, 0);
      sum += n * tf.tidy(() => retrievalLoss(retrievalReadout(model, b), b).dataSync()[0]);
      count += n;
    }
    return sum / Math.max(count, 1);
  };
  const nEval = o.evalBatches ?? 8;
  const validRng = createRng(o.seed + 4_000_037);
  const valid = o.evalEvery ? Array.from({ length: nEval }, () => evalBatchOf(validRng)) : [];
  const validCurve: { step: number; loss: number }[] = [];
  let best: { step: number; loss: number; values: tf.Tensor[] } | null = null;
  let stopReason: RetrievalRun["stopReason"] = "max-steps";
  const variables = Object.values(trainable) as tf.Variable[];
  const result = train({
    params: trainable,
    steps: o.steps,
    lr: o.lr,
    progress: o.progress,
    loss: () => {
      const b = batchOf(data);
      return retrievalLoss(retrievalReadout(model, b), b);
    },
    callbacks: o.evalEvery
      ? [
          {
            onStep: ({ step }) => {
              if ((step + 1) % o.evalEvery! !== 0) return;
              const loss = score(valid);
              validCurve.push({ step: step + 1, loss });
              if (best === null || loss < best.loss) {
                if (best) tf.dispose(best.values);
                best = { step: step + 1, loss, values: variables.map((v) => tf.clone(v)) };
              }
              if (loss <= stopBelow) {
                stopReason = "solved";
                return "stop";
              }
              if (validCurve.length - validCurve.findIndex((e) => e.step === best!.step) - 1 >= patience) {
                stopReason = "plateau";
                return "stop";
              }
            },
          },
        ]
      : [],
  });
  const chosen = best as { step: number; loss: number; values: tf.Tensor[] } | null;
  if (chosen) {
    variables.forEach((v, i) => v.assign(chosen.values[i]));
    tf.dispose(chosen.values);
  }
  const evalRng = createRng(o.seed + 2_000_003);
  const finalLoss = score(Array.from({ length: o.testBatches ?? nEval }, () => evalBatchOf(evalRng)));
  disposeParams(params);
  return {
    losses: result.losses,
    finalLoss,
    bestValidLoss: validCurve.length ? Math.min(...validCurve.map((e) => e.loss)) : finalLoss,
    msPerStep: result.msPerStep,
    steps: result.steps,
    stopReason,
    validCurve,
    bestStep: chosen ? chosen.step : result.steps,
  };
}
