// AssemblyScript (compiled with matmul.as.ts into dist/kernels/simd.wasm by scripts/build.mjs).
//
// Fused training kernels: each replaces a chain of tfjs ops (each a full pass over memory, a
// kernel dispatch and a saved tensor) by one pass. Layouts are row-major; pointers are byte
// offsets on the tfjs heap; float arguments arrive as their float32 bit patterns (i32) so the
// worker threads' integer control block can carry them. Every entry takes a range of rows (or
// elements) [begin, end) so the calling thread and the helpers can split the work.
//
//   norm:     y = (x − μ)·r·g + b,  r = 1/√(σ² + ε)          (LayerNorm; centre = 1)
//             y = x·r·g,            r = 1/√(mean_{j<k} x² + ε) (RMSNorm, pRMSNorm with k < d)
//   softmax:  y = softmax(s·x + causal mask) along rows of n, row r being query r mod tq
//   adam:     m' = β₁m + (1−β₁)g;  v' = β₂v + (1−β₂)g²;  w' = w − η·(m'c₁/(√(v'c₂) + ε) + λw)
//   lstm:     c' = σ(f + 1)·c + σ(i)·tanh(g);  h' = σ(o)·tanh(c')   (z = [i | f | g | o])

import { expLanes } from "./lanes.as";

@inline function ptr(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

@inline function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function lanesMax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Σ_{j<n} x[j] (SIMD partial sums, then the tail). */
@inline function rowSum(x: usize, n: i32): f32 {
  const n4 = n & ~3;
  let acc = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) acc = f32x4.add(acc, v128.load(ptr(x, j)));
  let s = lanesSum(acc);
  for (let j = n4; j < n; j++) s += load<f32>(ptr(x, j));
  return s;
}

/** Σ_{j<n} (x[j] − c)·(y[j] − e). */
@inline function rowDot(x: usize, c: f32, y: usize, e: f32, n: i32): f32 {
  const n4 = n & ~3;
  const vc = f32x4.splat(c), ve = f32x4.splat(e);
  let acc = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    acc = f32x4.add(acc, f32x4.mul(f32x4.sub(v128.load(ptr(x, j)), vc), f32x4.sub(v128.load(ptr(y, j)), ve)));
  }
  let s = lanesSum(acc);
  for (let j = n4; j < n; j++) s += (load<f32>(ptr(x, j)) - c) * (load<f32>(ptr(y, j)) - e);
  return s;
}

// ---------------------------------------------------------------------------------------------
// LayerNorm / RMSNorm over rows of d; stats[2r] = μ (0 without centring), stats[2r + 1] = r.

export function normRows(x: usize, gain: usize, bias: usize, out: usize, stats: usize, d: i32, k: i32, centre: i32,
  epsBits: i32, begin: i32, end: i32): void {
  const eps = reinterpret<f32>(epsBits);
  const d4 = d & ~3;
  for (let r = begin; r < end; r++) {
    const px = ptr(x, r * d), po = ptr(out, r * d);
    const mean: f32 = centre ? rowSum(px, d) / <f32>d : 0;
    const ms = rowDot(px, mean, px, mean, centre ? d : k) / <f32>(centre ? d : k);
    const rstd: f32 = 1 / sqrt<f32>(ms + eps);
    store<f32>(ptr(stats, 2 * r), mean);
    store<f32>(ptr(stats, 2 * r + 1), rstd);
    const vm = f32x4.splat(mean), vr = f32x4.splat(rstd);
    for (let j = 0; j < d4; j += 4) {
      let y = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(ptr(px, j)), vm), vr), v128.load(ptr(gain, j)));
      if (centre) y = f32x4.add(y, v128.load(ptr(bias, j)));
      v128.store(ptr(po, j), y);
    }
    for (let j = d4; j < d; j++) {
      let y = (load<f32>(ptr(px, j)) - mean) * rstd * load<f32>(ptr(gain, j));
      if (centre) y += load<f32>(ptr(bias, j));
      store<f32>(ptr(po, j), y);
    }
  }
}

/**
 * dx for rows [begin, end). With x̂ = (x − μ)·r and gy = dy·g:
 *   LayerNorm: dx = r·(gy − mean(gy) − x̂·mean(gy·x̂))
 *   RMSNorm:   dx_j = r·(gy_j − [j < k]·x̂_j·Σ_i gy_i x̂_i / k)   (r depends on the first k units only)
 */
export function normGradRows(x: usize, gain: usize, stats: usize, dy: usize, dx: usize, d: i32, k: i32, centre: i32,
  begin: i32, end: i32): void {
  const d4 = d & ~3;
  for (let r = begin; r < end; r++) {
    const px = ptr(x, r * d), pdy = ptr(dy, r * d), pdx = ptr(dx, r * d);
    const mean = load<f32>(ptr(stats, 2 * r)), rstd = load<f32>(ptr(stats, 2 * r + 1));
    const vm = f32x4.splat(mean), vr = f32x4.splat(rstd);
    const units = centre ? d : k;
    const u4 = units & ~3;
    // Σ gy and Σ gy·x̂ over the row (every output depends on r)
    let sg = f32x4.splat(0), sgx = f32x4.splat(0);
    for (let j = 0; j < d4; j += 4) {
      const gy = f32x4.mul(v128.load(ptr(pdy, j)), v128.load(ptr(gain, j)));
      sg = f32x4.add(sg, gy);
      sgx = f32x4.add(sgx, f32x4.mul(gy, f32x4.mul(f32x4.sub(v128.load(ptr(px, j)), vm), vr)));
    }
    let sumG = lanesSum(sg), sumGX = lanesSum(sgx);
    for (let j = d4; j < d; j++) {
      const gy = load<f32>(ptr(pdy, j)) * load<f32>(ptr(gain, j));
      sumG += gy;
      sumGX += gy * (load<f32>(ptr(px, j)) - mean) * rstd;
    }
    const a: f32 = centre ? sumG / <f32>d : 0, c: f32 = sumGX / <f32>units;
    const va = f32x4.splat(a), vc = f32x4.splat(c);
    const limit = centre ? d4 : u4;
    for (let j = 0; j < limit; j += 4) {
      const gy = f32x4.mul(v128.load(ptr(pdy, j)), v128.load(ptr(gain, j)));
      const xh = f32x4.mul(f32x4.sub(v128.load(ptr(px, j)), vm), vr);
      v128.store(ptr(pdx, j), f32x4.mul(vr, f32x4.sub(f32x4.sub(gy, va), f32x4.mul(xh, vc))));
    }
    for (let j = limit; j < d; j++) {
      const gy = load<f32>(ptr(pdy, j)) * load<f32>(ptr(gain, j));
      const xh = (load<f32>(ptr(px, j)) - mean) * rstd;
      store<f32>(ptr(pdx, j), rstd * (gy - a - (j < units ? xh * c : 0)));
    }
  }
}

/**
 * dgain_j = Σ_r dy[r, j]·x̂[r, j] and (centre) dbias_j = Σ_r dy[r, j], for columns [begin, end),
 * accumulated in float64 down the rows (float32 sums over thousands of rows drift by ~1e-5).
 */
export function normParamGradCols(x: usize, stats: usize, dy: usize, dgain: usize, dbias: usize, rows: i32, d: i32,
  centre: i32, begin: i32, end: i32): void {
  for (let j = begin; j < end; j++) {
    let sg: f64 = 0, sb: f64 = 0;
    for (let r = 0; r < rows; r++) {
      const g = load<f32>(ptr(dy, r * d + j));
      const xh = (load<f32>(ptr(x, r * d + j)) - load<f32>(ptr(stats, 2 * r))) * load<f32>(ptr(stats, 2 * r + 1));
      sg += <f64>(g * xh);
      sb += <f64>g;
    }
    store<f32>(ptr(dgain, j), <f32>sg);
    if (centre) store<f32>(ptr(dbias, j), <f32>sb);
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax along rows of n, scores scaled by s; with `causal`, row r is query q = r mod tq and sees
// keys j ≤ q + (n − tq) only (the others get probability 0, as exp(−1e9) does in the composed op).

export function softmaxRows(x: usize, out: usize, n: i32, tq: i32, causal: i32, scaleBits: i32, begin: i32, end: i32): void {
  const s = reinterpret<f32>(scaleBits);
  const vs = f32x4.splat(s);
  for (let r = begin; r < end; r++) {
    const px = ptr(x, r * n), po = ptr(out, r * n);
    const valid = causal ? min(n, (r % tq) + (n - tq) + 1) : n;
    const v4 = valid & ~3;
    let vmax = f32x4.splat(-Infinity);
    for (let j = 0; j < v4; j += 4) vmax = f32x4.max(vmax, f32x4.mul(v128.load(ptr(px, j)), vs));
    let top = lanesMax(vmax);
    for (let j = v4; j < valid; j++) top = max(top, load<f32>(ptr(px, j)) * s);
    const vt = f32x4.splat(top);
    let acc = f32x4.splat(0);
    for (let j = 0; j < v4; j += 4) {
      const e = expLanes(f32x4.sub(f32x4.mul(v128.load(ptr(px, j)), vs), vt));
      v128.store(ptr(po, j), e);
      acc = f32x4.add(acc, e);
    }
    let sum = lanesSum(acc);
    for (let j = v4; j < valid; j++) {
      const e = f32x4.extract_lane(expLanes(f32x4.splat(load<f32>(ptr(px, j)) * s - top)), 0);
      store<f32>(ptr(po, j), e);
      sum += e;
    }
    const inv = f32x4.splat(1 / sum);
    for (let j = 0; j < v4; j += 4) v128.store(ptr(po, j), f32x4.mul(v128.load(ptr(po, j)), inv));
    for (let j = v4; j < valid; j++) store<f32>(ptr(po, j), load<f32>(ptr(po, j)) * (1 / sum));
    for (let j = valid; j < n; j++) store<f32>(ptr(po, j), 0);
  }
}

/** dx = s·y·(dy − Σ_j y_j dy_j) along rows of n. */
export function softmaxGradRows(y: usize, dy: usize, dx: usize, n: i32, scaleBits: i32, begin: i32, end: i32): void {
  const s = reinterpret<f32>(scaleBits);
  const n4 = n & ~3;
  for (let r = begin; r < end; r++) {
    const py = ptr(y, r * n), pdy = ptr(dy, r * n), pdx = ptr(dx, r * n);
    const dot = rowDot(py, 0, pdy, 0, n);
    const vd = f32x4.splat(dot), vs = f32x4.splat(s);
    for (let j = 0; j < n4; j += 4) {
      v128.store(ptr(pdx, j), f32x4.mul(vs, f32x4.mul(v128.load(ptr(py, j)), f32x4.sub(v128.load(ptr(pdy, j)), vd))));
    }
    for (let j = n4; j < n; j++) store<f32>(ptr(pdx, j), s * load<f32>(ptr(py, j)) * (load<f32>(ptr(pdy, j)) - dot));
  }
}

// ---------------------------------------------------------------------------------------------
// Adam / AdamW, one variable, elements [begin, end). `c` points at 7 floats: β₁, 1 − β₁, β₂,
// 1 − β₂, c₁ = 1/(1 − β₁ᵗ), c₂ = 1/(1 − β₂ᵗ), ε; then η·scale and λ as arguments. The order of
// operations is the composed update's, so the two agree to float rounding.

export function adamRange(w: usize, g: usize, m: usize, v: usize, wOut: usize, mOut: usize, vOut: usize, c: usize,
  lrBits: i32, decayBits: i32, begin: i32, end: i32): void {
  const b1 = f32x4.splat(load<f32>(c)), ob1 = f32x4.splat(load<f32>(c, 4));
  const b2 = f32x4.splat(load<f32>(c, 8)), ob2 = f32x4.splat(load<f32>(c, 12));
  const c1 = f32x4.splat(load<f32>(c, 16)), c2 = f32x4.splat(load<f32>(c, 20)), eps = f32x4.splat(load<f32>(c, 24));
  const lr = f32x4.splat(reinterpret<f32>(lrBits)), decay = f32x4.splat(reinterpret<f32>(decayBits));
  const decays = reinterpret<f32>(decayBits) > 0;
  const count = end - begin;
  const e4 = begin + (count & ~3);
  for (let i = begin; i < end; i += 4) {
    // the tail (fewer than 4 left) runs through the same lanes, loaded and stored one at a time
    const full = i < e4;
    const vw = full ? v128.load(ptr(w, i)) : gatherTail(w, i, end);
    const vg = full ? v128.load(ptr(g, i)) : gatherTail(g, i, end);
    const vm = full ? v128.load(ptr(m, i)) : gatherTail(m, i, end);
    const vv = full ? v128.load(ptr(v, i)) : gatherTail(v, i, end);
    const m1 = f32x4.add(f32x4.mul(vm, b1), f32x4.mul(vg, ob1));
    const v1 = f32x4.add(f32x4.mul(vv, b2), f32x4.mul(f32x4.mul(vg, vg), ob2));
    let update = f32x4.div(f32x4.mul(m1, c1), f32x4.add(f32x4.sqrt(f32x4.mul(v1, c2)), eps));
    if (decays) update = f32x4.add(update, f32x4.mul(vw, decay));
    const w1 = f32x4.sub(vw, f32x4.mul(update, lr));
    if (full) {
      v128.store(ptr(wOut, i), w1);
      v128.store(ptr(mOut, i), m1);
      v128.store(ptr(vOut, i), v1);
    } else {
      scatterTail(wOut, i, end, w1);
      scatterTail(mOut, i, end, m1);
      scatterTail(vOut, i, end, v1);
    }
  }
}

/** Lanes x[i], x[i + 1], … up to x[end − 1], zeros after. */
@inline function gatherTail(x: usize, i: i32, end: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(ptr(x, i)));
  if (i + 1 < end) v = f32x4.replace_lane(v, 1, load<f32>(ptr(x, i + 1)));
  if (i + 2 < end) v = f32x4.replace_lane(v, 2, load<f32>(ptr(x, i + 2)));
  return v;
}

@inline function scatterTail(x: usize, i: i32, end: i32, v: v128): void {
  store<f32>(ptr(x, i), f32x4.extract_lane(v, 0));
  if (i + 1 < end) store<f32>(ptr(x, i + 1), f32x4.extract_lane(v, 1));
  if (i + 2 < end) store<f32>(ptr(x, i + 2), f32x4.extract_lane(v, 2));
}

// ---------------------------------------------------------------------------------------------
// LSTM cell, rows [begin, end) of a batch: z = xw + p [B, 4H] holds i, f, g, o side by side
// (pre-activation; xw = x·Wx + b, p = h·Wh). Forward writes c' and h' and keeps the activations σ(i), σ(f + 1), tanh(g),
// σ(o) in `gates` [B, 4H] and tanh(c') in `tc` [B, H] for the backward pass.

@inline function sigmoidLanes(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expLanes(f32x4.neg(x))));
}

/** tanh x = 1 − 2/(e^{2x} + 1): exact at ±∞ (e^{2x} saturates to ∞ or 0), no cancellation near 0 worse than 1e-7. */
@inline function tanhLanes(x: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(expLanes(f32x4.add(x, x)), f32x4.splat(1))));
}

export function lstmCellRows(xw: usize, p: usize, c: usize, gates: usize, tc: usize, cOut: usize, hOut: usize, h: i32,
  begin: i32, end: i32): void {
  const one = f32x4.splat(1);
  for (let r = begin; r < end; r++) {
    const px = ptr(xw, r * 4 * h), pp = ptr(p, r * 4 * h), pg = ptr(gates, r * 4 * h);
    const pc = ptr(c, r * h), ptc = ptr(tc, r * h), pco = ptr(cOut, r * h), pho = ptr(hOut, r * h);
    for (let j = 0; j < h; j += 4) {
      // h is a multiple of 4 (checked by the caller)
      const i = sigmoidLanes(f32x4.add(v128.load(ptr(px, j)), v128.load(ptr(pp, j))));
      const f = sigmoidLanes(f32x4.add(f32x4.add(v128.load(ptr(px, h + j)), v128.load(ptr(pp, h + j))), one));
      const g = tanhLanes(f32x4.add(v128.load(ptr(px, 2 * h + j)), v128.load(ptr(pp, 2 * h + j))));
      const o = sigmoidLanes(f32x4.add(v128.load(ptr(px, 3 * h + j)), v128.load(ptr(pp, 3 * h + j))));
      const c1 = f32x4.add(f32x4.mul(f, v128.load(ptr(pc, j))), f32x4.mul(i, g));
      const t = tanhLanes(c1);
      v128.store(ptr(pg, j), i);
      v128.store(ptr(pg, h + j), f);
      v128.store(ptr(pg, 2 * h + j), g);
      v128.store(ptr(pg, 3 * h + j), o);
      v128.store(ptr(ptc, j), t);
      v128.store(ptr(pco, j), c1);
      v128.store(ptr(pho, j), f32x4.mul(o, t));
    }
  }
}

/**
 * Backward through one cell: given dh' = dhUp + dhNext (the gradient reaching h' from above and
 * from step t + 1) and dc' (from step t + 1), writes dz [B, 4H] and dc (to step t − 1):
 *   dc_tot = dc' + dh'·σ(o)·(1 − tanh²c');  do = dh'·tanh c'·σ(o)(1 − σ(o))
 *   di = dc_tot·tanh g·σ(i)(1 − σ(i));  df = dc_tot·c·σ(f)(1 − σ(f));  dg = dc_tot·σ(i)·(1 − tanh²g)
 *   dc = dc_tot·σ(f)
 */
export function lstmCellGradRows(gates: usize, tc: usize, c: usize, dhUp: usize, dhNext: usize, dcIn: usize, dz: usize,
  dcOut: usize, h: i32, begin: i32, end: i32): void {
  const one = f32x4.splat(1);
  for (let r = begin; r < end; r++) {
    const pg = ptr(gates, r * 4 * h), pdz = ptr(dz, r * 4 * h);
    const ptc = ptr(tc, r * h), pc = ptr(c, r * h), pdu = ptr(dhUp, r * h), pdn = ptr(dhNext, r * h), pdci = ptr(dcIn, r * h), pdco = ptr(dcOut, r * h);
    for (let j = 0; j < h; j += 4) {
      const i = v128.load(ptr(pg, j)), f = v128.load(ptr(pg, h + j));
      const g = v128.load(ptr(pg, 2 * h + j)), o = v128.load(ptr(pg, 3 * h + j));
      const t = v128.load(ptr(ptc, j)), vdh = f32x4.add(v128.load(ptr(pdu, j)), v128.load(ptr(pdn, j)));
      const dct = f32x4.add(v128.load(ptr(pdci, j)), f32x4.mul(f32x4.mul(vdh, o), f32x4.sub(one, f32x4.mul(t, t))));
      v128.store(ptr(pdz, j), f32x4.mul(f32x4.mul(dct, g), f32x4.mul(i, f32x4.sub(one, i))));
      v128.store(ptr(pdz, h + j), f32x4.mul(f32x4.mul(dct, v128.load(ptr(pc, j))), f32x4.mul(f, f32x4.sub(one, f))));
      v128.store(ptr(pdz, 2 * h + j), f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g))));
      v128.store(ptr(pdz, 3 * h + j), f32x4.mul(f32x4.mul(vdh, t), f32x4.mul(o, f32x4.sub(one, o))));
      v128.store(ptr(pdco, j), f32x4.mul(dct, f));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy over rows of v logits with int32 targets: loss_r = log Σ_j e^{x_rj} − x_r,t
// (computed as m + log Σ e^{x − m}, m the row max); lse[r] keeps m + log Σ for the backward pass,
// dx = (softmax(x) − onehot(t))·dloss_r.

export function crossEntropyRows(x: usize, targets: usize, loss: usize, lse: usize, v: i32, begin: i32, end: i32): void {
  const v4 = v & ~3;
  for (let r = begin; r < end; r++) {
    const px = ptr(x, r * v);
    let vmax = f32x4.splat(-Infinity);
    for (let j = 0; j < v4; j += 4) vmax = f32x4.max(vmax, v128.load(ptr(px, j)));
    let top = lanesMax(vmax);
    for (let j = v4; j < v; j++) top = max(top, load<f32>(ptr(px, j)));
    const vt = f32x4.splat(top);
    let acc = f32x4.splat(0);
    for (let j = 0; j < v4; j += 4) acc = f32x4.add(acc, expLanes(f32x4.sub(v128.load(ptr(px, j)), vt)));
    let sum = lanesSum(acc);
    for (let j = v4; j < v; j++) sum += f32x4.extract_lane(expLanes(f32x4.splat(load<f32>(ptr(px, j)) - top)), 0);
    const l = top + Mathf.log(sum);
    store<f32>(ptr(lse, r), l);
    store<f32>(ptr(loss, r), l - load<f32>(ptr(px, load<i32>(ptr(targets, r)))));
  }
}

export function crossEntropyGradRows(x: usize, targets: usize, lse: usize, dloss: usize, dx: usize, v: i32, begin: i32, end: i32): void {
  const v4 = v & ~3;
  for (let r = begin; r < end; r++) {
    const px = ptr(x, r * v), pdx = ptr(dx, r * v);
    const l = load<f32>(ptr(lse, r)), g = load<f32>(ptr(dloss, r));
    const vl = f32x4.splat(l), vg = f32x4.splat(g);
    for (let j = 0; j < v4; j += 4) v128.store(ptr(pdx, j), f32x4.mul(expLanes(f32x4.sub(v128.load(ptr(px, j)), vl)), vg));
    for (let j = v4; j < v; j++) store<f32>(ptr(pdx, j), f32x4.extract_lane(expLanes(f32x4.splat(load<f32>(ptr(px, j)) - l)), 0) * g);
    const t = load<i32>(ptr(targets, r));
    store<f32>(ptr(pdx, t), load<f32>(ptr(pdx, t)) - g);
  }
}
