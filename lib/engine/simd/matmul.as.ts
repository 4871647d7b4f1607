// AssemblyScript (compiled to WebAssembly by scripts/build.mjs; not part of the tsc build).
//
// Batched small matrix products for the wasm backend: C[t] = op(A[t]) · op(B[t]) for t in
// [begin, end). Attention makes B·H such products per call, each tiny (e.g. 64×16·16×64);
// XNNPACK spends ~50 µs setting each one up, longer than the arithmetic. These loops have no
// per-product set-up. The module imports the tfjs heap (shared memory), so pointers are the byte
// offsets of tfjs tensors; it has no data segment and no stack, so it never writes elsewhere.
//
// Layouts (row-major): A is [m, k], or [k, m] when transA; B is [k, n], or [n, k] when transB;
// C is [m, n]. Batch strides are in elements (0 broadcasts an operand).
import { expLanes } from "./lanes.as";

@inline function at(base: usize, index: i32): f32 {
  return load<f32>(base + (<usize>index << 2));
}

@inline function vat(base: usize, index: i32): v128 {
  return v128.load(base + (<usize>index << 2));
}

/** acc + x·y: one fused multiply-add in the relaxed-SIMD build (simd-relaxed.wasm), a multiply and an add otherwise. */
@inline function madd(acc: v128, x: v128, y: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(acc, f32x4.mul(x, y));
}

/** Element (i, p) of op(A), with `lda` elements between rows of the stored A. */
@inline function aAt(a: usize, transA: bool, lda: i32, i: i32, p: i32): f32 {
  return transA ? at(a, p * lda + i) : at(a, i * lda + p);
}

/** B not transposed: 4×8 register tiles; rows of B are contiguous in the output direction. */
function productNN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, lda: i32, ldb: i32, ldc: i32,
  accumulate: bool = false, packed: bool = false): void {
  const m4 = m & ~3, n8 = n & ~7;
  // B is row-major [k, ldb], or packed: 8-column panels [n / 8][k][8] (see packPanels).
  const rowB: usize = packed ? 32 : <usize>ldb << 2; // bytes between consecutive p
  const tileB: usize = packed ? <usize>k << 5 : 32; // bytes between consecutive 8-column tiles
  // op(A)(i, p) steps: along p by `stepP` bytes, between rows i by `stepI` bytes.
  const stepP: usize = transA ? <usize>lda << 2 : 4;
  const stepI: usize = transA ? 4 : <usize>lda << 2;
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n8; j += 8) {
      const pc = c + (<usize>(i * ldc + j) << 2), rowC = <usize>ldc << 2;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      if (accumulate) {
        c00 = v128.load(pc); c01 = v128.load(pc, 16);
        c10 = v128.load(pc + rowC); c11 = v128.load(pc + rowC, 16);
        c20 = v128.load(pc + 2 * rowC); c21 = v128.load(pc + 2 * rowC, 16);
        c30 = v128.load(pc + 3 * rowC); c31 = v128.load(pc + 3 * rowC, 16);
      }
      let pb = b + <usize>(j >> 3) * tileB;
      let pa = a + <usize>i * stepI;
      for (let p = 0; p < k; p++) {
        const b0 = v128.load(pb), b1 = v128.load(pb, 16);
        let a0: v128, a1: v128, a2: v128, a3: v128;
        if (transA) {
          // op(A)(i..i+3, p) = A[p, i..i+3]: one contiguous load, four lane splats.
          const col = v128.load(pa);
          a0 = v128.shuffle<f32>(col, col, 0, 0, 0, 0);
          a1 = v128.shuffle<f32>(col, col, 1, 1, 1, 1);
          a2 = v128.shuffle<f32>(col, col, 2, 2, 2, 2);
          a3 = v128.shuffle<f32>(col, col, 3, 3, 3, 3);
        } else {
          a0 = v128.load32_splat(pa);
          a1 = v128.load32_splat(pa + stepI);
          a2 = v128.load32_splat(pa + 2 * stepI);
          a3 = v128.load32_splat(pa + 3 * stepI);
        }
        c00 = madd(c00, a0, b0); c01 = madd(c01, a0, b1);
        c10 = madd(c10, a1, b0); c11 = madd(c11, a1, b1);
        c20 = madd(c20, a2, b0); c21 = madd(c21, a2, b1);
        c30 = madd(c30, a3, b0); c31 = madd(c31, a3, b1);
        pb += rowB;
        pa += stepP;
      }
      v128.store(pc, c00); v128.store(pc, c01, 16);
      v128.store(pc + rowC, c10); v128.store(pc + rowC, c11, 16);
      v128.store(pc + 2 * rowC, c20); v128.store(pc + 2 * rowC, c21, 16);
      v128.store(pc + 3 * rowC, c30); v128.store(pc + 3 * rowC, c31, 16);
    }
  }
  edges(a, b, c, m, k, n, transA, false, lda, ldb, ldc, m4, n8, accumulate, packed);
}

/** B transposed (stored [n, k]): dot products along k, 2×4 tiles of 4-wide partial sums. */
function productNT(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, lda: i32, ldb: i32, ldc: i32): void {
  const m2 = m & ~1, n4 = n & ~3, k4 = k & ~3;
  for (let i = 0; i < m2; i += 2) {
    for (let j = 0; j < n4; j += 4) {
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) {
        const x0 = vat(a, i * lda + p), x1 = vat(a, (i + 1) * lda + p);
        const y0 = vat(b, j * ldb + p), y1 = vat(b, (j + 1) * ldb + p), y2 = vat(b, (j + 2) * ldb + p), y3 = vat(b, (j + 3) * ldb + p);
        s00 = madd(s00, x0, y0); s01 = madd(s01, x0, y1); s02 = madd(s02, x0, y2); s03 = madd(s03, x0, y3);
        s10 = madd(s10, x1, y0); s11 = madd(s11, x1, y1); s12 = madd(s12, x1, y2); s13 = madd(s13, x1, y3);
      }
      // Horizontal sums, four dot products per row at once: transpose the 4×4 block of partials.
      store4(c, i * ldc + j, hsum4(s00, s01, s02, s03), a, b, i, j, k, k4, lda, ldb);
      store4(c, (i + 1) * ldc + j, hsum4(s10, s11, s12, s13), a, b, i + 1, j, k, k4, lda, ldb);
    }
  }
  edges(a, b, c, m, k, n, false, true, lda, ldb, ldc, m2, n4);
}

/** [Σ lanes of w, Σ x, Σ y, Σ z] */
@inline function hsum4(w: v128, x: v128, y: v128, z: v128): v128 {
  const wx = f32x4.add(v128.shuffle<f32>(w, x, 0, 4, 1, 5), v128.shuffle<f32>(w, x, 2, 6, 3, 7)); // w0+w2 x0+x2 w1+w3 x1+x3
  const yz = f32x4.add(v128.shuffle<f32>(y, z, 0, 4, 1, 5), v128.shuffle<f32>(y, z, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(wx, yz, 0, 1, 4, 5), v128.shuffle<f32>(wx, yz, 2, 3, 6, 7));
}

/** Stores four dot products, adding the k % 4 tail terms. */
@inline function store4(c: usize, index: i32, sums: v128, a: usize, b: usize, i: i32, j: i32, k: i32, k4: i32, lda: i32, ldb: i32): void {
  if (k4 < k) {
    let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
    for (let p = k4; p < k; p++) {
      const x = at(a, i * lda + p);
      t0 += x * at(b, j * ldb + p); t1 += x * at(b, (j + 1) * ldb + p);
      t2 += x * at(b, (j + 2) * ldb + p); t3 += x * at(b, (j + 3) * ldb + p);
    }
    let tail = f32x4.splat(t0);
    tail = f32x4.replace_lane(tail, 1, t1);
    tail = f32x4.replace_lane(tail, 2, t2);
    tail = f32x4.replace_lane(tail, 3, t3);
    sums = f32x4.add(sums, tail);
  }
  v128.store(c + (<usize>index << 2), sums);
}

/** Rows ≥ mDone and columns ≥ nDone: plain loops (tile remainders; any transpose combination). */
function edges(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool,
  lda: i32, ldb: i32, ldc: i32, mDone: i32, nDone: i32, accumulate: bool = false, packed: bool = false): void {
  for (let i = 0; i < m; i++) {
    const j0 = i < mDone ? nDone : 0;
    for (let j = j0; j < n; j++) {
      let s: f32 = accumulate ? load<f32>(c + (<usize>(i * ldc + j) << 2)) : 0;
      for (let p = 0; p < k; p++) {
        const y = transB ? at(b, j * ldb + p) : packed ? at(b, ((j >> 3) * k + p) * 8 + (j & 7)) : at(b, p * ldb + j);
        s += aAt(a, transA, lda, i, p) * y;
      }
      store<f32>(c + (<usize>(i * ldc + j) << 2), s);
    }
  }
}

/** One product with explicit leading dimensions (elements between stored rows); no batch. */
@inline function product(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool,
  lda: i32, ldb: i32, ldc: i32): void {
  if (!transB) productNN(a, b, c, m, k, n, transA, lda, ldb, ldc);
  else if (!transA) productNT(a, b, c, m, k, n, lda, ldb, ldc);
  else edges(a, b, c, m, k, n, true, true, lda, ldb, ldc, 0, 0);
}

export function bmm(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32,
  transA: i32, transB: i32, strideA: i32, strideB: i32, strideC: i32, begin: i32, end: i32,
): void {
  const lda = transA ? m : k, ldb = transB ? k : n;
  for (let t = begin; t < end; t++) {
    const pa = a + (<usize>(t * strideA) << 2), pb = b + (<usize>(t * strideB) << 2), pc = c + (<usize>(t * strideC) << 2);
    product(pa, pb, pc, m, k, n, transA != 0, transB != 0, lda, ldb, n);
  }
}

/** Blocks of the large product: a [KC, NC] slice of B and an [MC, KC] slice of A are 128 KB each,
 * and stay in L2 together. */
const MC = 128, KC = 256, NC = 128;

/**
 * Rows [begin, end) of one large product C = op(A)·op(B) (C is [m, n]); threads take disjoint row
 * ranges. Without blocking, every 4-row strip of C streams all of B (up to 4 MB) from memory;
 * walking n in blocks of NC and k in blocks of KC keeps the B slice in cache across the strips,
 * with C accumulating across k blocks.
 */
export function gemmRows(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32, scratch: usize, begin: i32, end: i32,
): void {
  const lda = transA ? m : k, ldb = transB ? k : n;
  const rows = end - begin;
  if (rows <= 0) return;
  const pa = a + (<usize>(transA ? begin : begin * lda) << 2);
  const pc = c + (<usize>(begin * n) << 2);
  if (transB) {
    productNT(pa, b, pc, rows, k, n, lda, ldb, n);
    return;
  }
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nb = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = min(KC, k - p0);
      const bp = b + (<usize>(p0 * ldb + j0) << 2);
      // Pack the B block into 8-column panels: the micro-kernel then reads 32 contiguous bytes per
      // step instead of rows ldb apart (which alias in L1 when ldb is a power of two).
      const pack = scratch != 0 && (nb & 7) == 0;
      if (pack) packPanels(bp, scratch, kb, nb, ldb);
      for (let i0 = 0; i0 < rows; i0 += MC) {
        const mb = min(MC, rows - i0);
        // op(A)[i0.., p0..]: of the row-major A, or of the stored Aᵀ.
        const ap = pa + (<usize>(transA ? p0 * lda + i0 : i0 * lda + p0) << 2);
        const cp = pc + (<usize>(i0 * n + j0) << 2);
        if (pack) productNN(ap, scratch, cp, mb, kb, nb, transA != 0, lda, 0, n, p0 > 0, true);
        else productNN(ap, bp, cp, mb, kb, nb, transA != 0, lda, ldb, n, p0 > 0);
      }
    }
  }
}

/** dst[(j / 8)·k·8 + p·8 + j % 8] = B[p, j] for a [k, n] block of B (n a multiple of 8). */
function packPanels(b: usize, dst: usize, k: i32, n: i32, ldb: i32): void {
  for (let j = 0; j < n; j += 8) {
    let src = b + (<usize>j << 2);
    let out = dst + (<usize>(j * k) << 2);
    for (let p = 0; p < k; p++) {
      v128.store(out, v128.load(src));
      v128.store(out, v128.load(src, 16), 16);
      src += <usize>ldb << 2;
      out += 32;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise and reduction kernels (single-threaded; memory-bound or nearly so).


export function vexp(x: usize, out: usize, size: i32): void {
  const size4 = size & ~3;
  for (let i = 0; i < size4; i += 4) v128.store(out + (<usize>i << 2), expLanes(v128.load(x + (<usize>i << 2))));
  for (let i = size4; i < size; i++) {
    const v = expLanes(f32x4.splat(load<f32>(x + (<usize>i << 2))));
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(v, 0));
  }
}

/**
 * erf(x) per lane by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7) — the formula tfjs's
 * cpu backend uses: 1 − t·(a1 + t·(a2 + …))·e^(−x²), t = 1/(1 + p|x|), sign restored.
 */
@inline function erfLanes(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(0.3275911), ax)));
  let p = f32x4.splat(1.061405429);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.453152027));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.421413741));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.284496736));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.254829592));
  const e = expLanes(f32x4.neg(f32x4.mul(ax, ax)));
  const y = f32x4.sub(f32x4.splat(1), f32x4.mul(f32x4.mul(p, t), e));
  // copy the sign of x onto y (y ≥ 0)
  return v128.or(y, v128.and(x, i32x4.splat(0x80000000)));
}

export function verf(x: usize, out: usize, size: i32): void {
  const size4 = size & ~3;
  for (let i = 0; i < size4; i += 4) v128.store(out + (<usize>i << 2), erfLanes(v128.load(x + (<usize>i << 2))));
  for (let i = size4; i < size; i++) {
    const v = erfLanes(f32x4.splat(load<f32>(x + (<usize>i << 2))));
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(v, 0));
  }
}

/**
 * out[j] = Σ_r x[r, j] for x [rows, width] (bias gradients). Columns are taken 8 at a time in
 * float64 accumulators (f32 sums over thousands of rows drift by ~1e-5), walking down the rows.
 */
export function sumRows(x: usize, out: usize, rows: i32, width: i32): void {
  const w8 = width & ~7;
  const row: usize = <usize>width << 2;
  for (let j = 0; j < w8; j += 8) {
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++) {
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v0));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v0, v0, 2, 3, 0, 1)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v1));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(v128.shuffle<f32>(v1, v1, 2, 3, 0, 1)));
      p += row;
    }
    const q = out + (<usize>j << 2);
    v128.store64_lane(q, f32x4.demote_f64x2_zero(s0), 0);
    v128.store64_lane(q, f32x4.demote_f64x2_zero(s1), 0, 8);
    v128.store64_lane(q, f32x4.demote_f64x2_zero(s2), 0, 16);
    v128.store64_lane(q, f32x4.demote_f64x2_zero(s3), 0, 24);
  }
  for (let j = w8; j < width; j++) {
    let s: f64 = 0;
    for (let r = 0; r < rows; r++) s += <f64>load<f32>(x + (<usize>(r * width + j) << 2));
    store<f32>(out + (<usize>j << 2), <f32>s);
  }
}

/** dst[b, j, i] = src[b, i, j] for [batch, r, c] → [batch, c, r], in 4×4 blocks of lanes. */
export function transpose(src: usize, dst: usize, batch: i32, r: i32, c: i32): void {
  const r4 = r & ~3, c4 = c & ~3;
  const rs: usize = <usize>c << 2, rd: usize = <usize>r << 2;
  for (let b = 0; b < batch; b++) {
    const s = src + (<usize>(b * r * c) << 2), d = dst + (<usize>(b * r * c) << 2);
    for (let i0 = 0; i0 < r4; i0 += 64) {
      const i1 = min(i0 + 64, r4);
      for (let j = 0; j < c4; j += 4) {
        for (let i = i0; i < i1; i += 4) {
          const p = s + (<usize>(i * c + j) << 2);
          const x0 = v128.load(p), x1 = v128.load(p + rs), x2 = v128.load(p + 2 * rs), x3 = v128.load(p + 3 * rs);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const q = d + (<usize>(j * r + i) << 2);
          v128.store(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
          v128.store(q + rd, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
          v128.store(q + 2 * rd, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
          v128.store(q + 3 * rd, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
        }
      }
    }
    // edges: rows ≥ r4 (all columns) and columns ≥ c4 (rows < r4)
    for (let i = 0; i < r; i++) {
      for (let j = i < r4 ? c4 : 0; j < c; j++) {
        store<f32>(d + (<usize>(j * r + i) << 2), load<f32>(s + (<usize>(i * c + j) << 2)));
      }
    }
  }
}

/** GELU, exact form x·Φ(x) = x·(1 + erf(x/√2))/2. */
@inline function geluLanes(v: v128): v128 {
  return f32x4.mul(f32x4.mul(v, f32x4.splat(0.5)), f32x4.add(f32x4.splat(1), erfLanes(f32x4.mul(v, f32x4.splat(0.7071067811865476)))));
}

export function vgelu(x: usize, out: usize, size: i32): void {
  const size4 = size & ~3;
  for (let i = 0; i < size4; i += 4) v128.store(out + (<usize>i << 2), geluLanes(v128.load(x + (<usize>i << 2))));
  for (let i = size4; i < size; i++) {
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(geluLanes(f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
  }
}

/** dx = dy·GELU'(x), GELU'(x) = Φ(x) + x·φ(x) = (1 + erf(x/√2))/2 + x·e^(−x²/2)/√(2π). */
@inline function geluGradLanes(v: v128, dy: v128): v128 {
  const cdf = f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.splat(1), erfLanes(f32x4.mul(v, f32x4.splat(0.7071067811865476)))));
  const pdf = f32x4.mul(f32x4.splat(0.3989422804014327), expLanes(f32x4.mul(f32x4.mul(v, v), f32x4.splat(-0.5))));
  return f32x4.mul(dy, f32x4.add(cdf, f32x4.mul(v, pdf)));
}

export function vgeluGrad(x: usize, dy: usize, out: usize, size: i32): void {
  const size4 = size & ~3;
  for (let i = 0; i < size4; i += 4) {
    v128.store(out + (<usize>i << 2), geluGradLanes(v128.load(x + (<usize>i << 2)), v128.load(dy + (<usize>i << 2))));
  }
  for (let i = size4; i < size; i++) {
    const r = geluGradLanes(f32x4.splat(load<f32>(x + (<usize>i << 2))), f32x4.splat(load<f32>(dy + (<usize>i << 2))));
    store<f32>(out + (<usize>i << 2), f32x4.extract_lane(r, 0));
  }
}

// Element ranges [begin, end) of the elementwise kernels, for the thread split.
export function vexpRange(x: usize, out: usize, begin: i32, end: i32): void {
  vexp(x + (<usize>begin << 2), out + (<usize>begin << 2), end - begin);
}
export function verfRange(x: usize, out: usize, begin: i32, end: i32): void {
  verf(x + (<usize>begin << 2), out + (<usize>begin << 2), end - begin);
}
export function vgeluRange(x: usize, out: usize, begin: i32, end: i32): void {
  vgelu(x + (<usize>begin << 2), out + (<usize>begin << 2), end - begin);
}
export function vgeluGradRange(x: usize, dy: usize, out: usize, begin: i32, end: i32): void {
  vgeluGrad(x + (<usize>begin << 2), dy + (<usize>begin << 2), out + (<usize>begin << 2), end - begin);
}
