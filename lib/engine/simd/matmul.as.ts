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

@inline function at(base: usize, index: i32): f32 {
  return load<f32>(base + (<usize>index << 2));
}

@inline function vat(base: usize, index: i32): v128 {
  return v128.load(base + (<usize>index << 2));
}

@inline function madd(acc: v128, x: v128, y: v128): v128 {
  return f32x4.add(acc, f32x4.mul(x, y));
}

/** Element (i, p) of op(A). */
@inline function aAt(a: usize, transA: bool, m: i32, k: i32, i: i32, p: i32): f32 {
  return transA ? at(a, p * m + i) : at(a, i * k + p);
}

/** B not transposed: 4×8 register tiles; rows of B are contiguous in the output direction. */
function productNN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool): void {
  const m4 = m & ~3, n8 = n & ~7;
  const rowB = <usize>n << 2; // bytes per row of B
  // op(A)(i, p) steps: along p by `stepP` bytes, between rows i by `stepI` bytes.
  const stepP: usize = transA ? <usize>m << 2 : 4;
  const stepI: usize = transA ? 4 : <usize>k << 2;
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n8; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pb = b + (<usize>j << 2);
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
      const pc = c + (<usize>(i * n + j) << 2), rowC = <usize>n << 2;
      v128.store(pc, c00); v128.store(pc, c01, 16);
      v128.store(pc + rowC, c10); v128.store(pc + rowC, c11, 16);
      v128.store(pc + 2 * rowC, c20); v128.store(pc + 2 * rowC, c21, 16);
      v128.store(pc + 3 * rowC, c30); v128.store(pc + 3 * rowC, c31, 16);
    }
  }
  edges(a, b, c, m, k, n, transA, false, m4, n8);
}

/** B transposed (stored [n, k]): dot products along k, 2×4 tiles of 4-wide partial sums. */
function productNT(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32): void {
  const m2 = m & ~1, n4 = n & ~3, k4 = k & ~3;
  for (let i = 0; i < m2; i += 2) {
    for (let j = 0; j < n4; j += 4) {
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) {
        const x0 = vat(a, i * k + p), x1 = vat(a, (i + 1) * k + p);
        const y0 = vat(b, j * k + p), y1 = vat(b, (j + 1) * k + p), y2 = vat(b, (j + 2) * k + p), y3 = vat(b, (j + 3) * k + p);
        s00 = madd(s00, x0, y0); s01 = madd(s01, x0, y1); s02 = madd(s02, x0, y2); s03 = madd(s03, x0, y3);
        s10 = madd(s10, x1, y0); s11 = madd(s11, x1, y1); s12 = madd(s12, x1, y2); s13 = madd(s13, x1, y3);
      }
      // Horizontal sums, four dot products per row at once: transpose the 4×4 block of partials.
      store4(c, i * n + j, hsum4(s00, s01, s02, s03), a, b, i, j, k, k4);
      store4(c, (i + 1) * n + j, hsum4(s10, s11, s12, s13), a, b, i + 1, j, k, k4);
    }
  }
  edges(a, b, c, m, k, n, false, true, m2, n4);
}

/** [Σ lanes of w, Σ x, Σ y, Σ z] */
@inline function hsum4(w: v128, x: v128, y: v128, z: v128): v128 {
  const wx = f32x4.add(v128.shuffle<f32>(w, x, 0, 4, 1, 5), v128.shuffle<f32>(w, x, 2, 6, 3, 7)); // w0+w2 x0+x2 w1+w3 x1+x3
  const yz = f32x4.add(v128.shuffle<f32>(y, z, 0, 4, 1, 5), v128.shuffle<f32>(y, z, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(wx, yz, 0, 1, 4, 5), v128.shuffle<f32>(wx, yz, 2, 3, 6, 7));
}

/** Stores four dot products, adding the k % 4 tail terms. */
@inline function store4(c: usize, index: i32, sums: v128, a: usize, b: usize, i: i32, j: i32, k: i32, k4: i32): void {
  if (k4 < k) {
    let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
    for (let p = k4; p < k; p++) {
      const x = at(a, i * k + p);
      t0 += x * at(b, j * k + p); t1 += x * at(b, (j + 1) * k + p);
      t2 += x * at(b, (j + 2) * k + p); t3 += x * at(b, (j + 3) * k + p);
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
function edges(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, mDone: i32, nDone: i32): void {
  for (let i = 0; i < m; i++) {
    const j0 = i < mDone ? nDone : 0;
    for (let j = j0; j < n; j++) {
      let s: f32 = 0;
      for (let p = 0; p < k; p++) s += aAt(a, transA, m, k, i, p) * (transB ? at(b, j * k + p) : at(b, p * n + j));
      store<f32>(c + (<usize>(i * n + j) << 2), s);
    }
  }
}

export function bmm(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32,
  transA: i32, transB: i32, strideA: i32, strideB: i32, strideC: i32, begin: i32, end: i32,
): void {
  for (let t = begin; t < end; t++) {
    const pa = a + (<usize>(t * strideA) << 2), pb = b + (<usize>(t * strideB) << 2), pc = c + (<usize>(t * strideC) << 2);
    if (transB == 0) productNN(pa, pb, pc, m, k, n, transA != 0);
    else if (transA == 0) productNT(pa, pb, pc, m, k, n);
    else edges(pa, pb, pc, m, k, n, true, true, 0, 0);
  }
}
