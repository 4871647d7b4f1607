// AssemblyScript: lane-wise math shared by the kernels (inlined; not exported from the module).

/**
 * exp(x) per lane: x = n·ln2 + r with |r| ≤ ln2/2, Cephes' degree-6 polynomial for e^r (≈1 ulp),
 * times 2^n applied as two normal powers of two so that results near the under- and overflow
 * limits come out as IEEE does (denormals, 0, +inf). NaN stays NaN.
 */
@inline export function expLanes(x: v128): v128 {
  // pmin/pmax are single instructions (min/max with IEEE NaN rules cost ~8); a NaN x passes through.
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.8)), f32x4.splat(-104.0));
  const nf = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(xc, f32x4.mul(nf, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(nf, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const n = i32x4.trunc_sat_f32x4_s(nf);
  const n1 = i32x4.shr_s(n, 1), n2 = i32x4.sub(n, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23), s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  const out = f32x4.mul(f32x4.mul(y, s1), s2);
  return v128.bitselect(x, out, f32x4.ne(x, x)); // NaN in, NaN out
}
