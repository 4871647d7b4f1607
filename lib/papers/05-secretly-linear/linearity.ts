/**
 * How linear is a layer? Metrics of Razzhigaev et al. (2024), "Your Transformer is Secretly Linear":
 * the linearity score between consecutive layers' token embeddings, the anisotropy of a layer's
 * embeddings, and the TwoNN intrinsic dimension (Facco et al. 2017).
 *
 * tfjs has neither SVD nor least squares, and float32 is too coarse for a residual of 1e-3 of a
 * unit norm, so all of this runs in float64 JavaScript: least squares by Householder QR with
 * column pivoting (rank-revealing, so rank-deficient X is fine), eigenvalues by cyclic Jacobi.
 * Rows are tokens, columns features. Inputs are `number[][]` or a 2-D tensor.
 */
import { createRng, normalArray } from "../../engine/rng";
import { type Matrix64, type MatrixInput, toMatrix64 } from "../../metrics/matrix";
import { mean, std } from "../../metrics/stats";

/** Column means. */
function columnMeans(m: Matrix64): Float64Array {
  const mu = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) mu[j] += m.data[i * m.cols + j];
  for (let j = 0; j < m.cols; j++) mu[j] /= m.rows;
  return mu;
}

/** Column-major copy with the column means removed (and divided by `scale`). */
function centredColumns(m: Matrix64, scale = 1): Float64Array[] {
  const mu = columnMeans(m);
  return Array.from({ length: m.cols }, (_, j) => {
    const c = new Float64Array(m.rows);
    for (let i = 0; i < m.rows; i++) c[i] = (m.data[i * m.cols + j] - mu[j]) / scale;
    return c;
  });
}

function frobeniusOfColumns(cols: Float64Array[]): number {
  let s = 0;
  for (const c of cols) for (let i = 0; i < c.length; i++) s += c[i] * c[i];
  return Math.sqrt(s);
}

interface LeastSquares {
  /** Minimal ‖XA − Y‖²_F. */
  residual: number;
  /** Numerical rank of X. */
  rank: number;
  /** The residual of each column of Y. */
  columnResiduals: number[];
  /** A basic solution, [cols(X)][cols(Y)] (zero rows for the columns dropped by the rank test). */
  solution?: Float64Array[];
}

/**
 * min_A ‖XA − Y‖_F by Householder QR of X with column pivoting; X and Y are column-major
 * (and overwritten). Columns whose remaining norm falls below 1e-10 of the largest are
 * treated as dependent.
 */
function leastSquares(x: Float64Array[], y: Float64Array[], wantSolution: boolean): LeastSquares {
  const n = x[0].length;
  const d = x.length;
  const perm = Array.from({ length: d }, (_, j) => j);
  const tail = (c: Float64Array, k: number) => {
    let s = 0;
    for (let i = k; i < n; i++) s += c[i] * c[i];
    return s;
  };
  const firstMax = Math.sqrt(Math.max(...x.map((c) => tail(c, 0))));
  const v = new Float64Array(n);
  let rank = 0;
  for (let k = 0; k < Math.min(n, d); k++) {
    let p = k,
      best = -1;
    for (let j = k; j < d; j++) {
      const s = tail(x[j], k);
      if (s > best) {
        best = s;
        p = j;
      }
    }
    if (Math.sqrt(best) <= 1e-10 * firstMax || best === 0) break;
    [x[k], x[p]] = [x[p], x[k]];
    [perm[k], perm[p]] = [perm[p], perm[k]];
    const col = x[k];
    const norm = Math.sqrt(best);
    const alpha = col[k] >= 0 ? -norm : norm;
    let vv = 0;
    for (let i = k; i < n; i++) {
      v[i] = col[i];
    }
    v[k] -= alpha;
    for (let i = k; i < n; i++) vv += v[i] * v[i];
    const reflect = (c: Float64Array) => {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i] * c[i];
      const f = (2 * dot) / vv;
      for (let i = k; i < n; i++) c[i] -= f * v[i];
    };
    for (let j = k + 1; j < d; j++) reflect(x[j]);
    for (const c of y) reflect(c);
    col[k] = alpha;
    for (let i = k + 1; i < n; i++) col[i] = 0;
    rank = k + 1;
  }
  const columnResiduals = y.map((c) => tail(c, rank));
  const residual = columnResiduals.reduce((a, b) => a + b, 0);
  if (!wantSolution) return { residual, rank, columnResiduals };
  // Back-substitution R[0:r,0:r] z = (QᵀY)[0:r]; columns beyond the rank get zero coefficients.
  const solution = Array.from({ length: d }, () => new Float64Array(y.length));
  for (let m = 0; m < y.length; m++) {
    const z = new Float64Array(rank);
    for (let k = rank - 1; k >= 0; k--) {
      let s = y[m][k];
      for (let j = k + 1; j < rank; j++) s -= x[j][k] * z[j];
      z[k] = s / x[k][k];
    }
    for (let k = 0; k < rank; k++) solution[perm[k]][m] = z[k];
  }
  return { residual, rank, columnResiduals, solution };
}

function checkPair(X: Matrix64, Y: Matrix64, who: string): void {
  if (X.rows !== Y.rows) throw new Error(`${who}: X has ${X.rows} rows (tokens) but Y has ${Y.rows}; rows must be the same tokens`);
}

export interface LinearityOptions {
  /** true (default): Y as given; false: Y − X, the block's update without the residual stream. */
  residual?: boolean;
}

/**
 * Linearity score of the map X → Y (Razzhigaev et al.'s, as in their code): centre X and Y,
 * divide each by its Frobenius norm, fit a general linear map A by least squares, return
 * 1 − ‖X̃A − Ỹ‖²_F ∈ [0, 1]. Chance level for unrelated X, Y is ≈ d/(n − 1) (see
 * `linearityBaseline`), and the score is 1 whenever n − 1 ≤ d, so n must exceed d; use n ≥ 20·d.
 */
export function linearityScore(X: MatrixInput, Y: MatrixInput, options: LinearityOptions = {}): number {
  const x = toMatrix64(X, "linearityScore X", 2);
  const y = toMatrix64(Y, "linearityScore Y", 2);
  checkScorable(x, y, "linearityScore", options.residual === false);
  let target = y;
  if (options.residual === false) target = { ...y, data: y.data.map((v, i) => v - x.data[i]) };
  const xc = unitCentred(x, "X", "linearityScore");
  const yc = unitCentred(target, options.residual === false ? "Y − X" : "Y", "linearityScore");
  const { residual } = leastSquares(xc, yc, false);
  return Math.min(1, Math.max(0, 1 - residual));
}

function checkScorable(x: Matrix64, y: Matrix64, who: string, sameWidth: boolean): void {
  checkPair(x, y, who);
  if (x.rows <= x.cols + 1) {
    throw new Error(
      `${who}: ${x.rows} rows for ${x.cols} columns; any Y is fitted exactly when rows ≤ columns + 1 ` +
        `(chance level ≈ d/(n−1)); use at least 20·d rows`,
    );
  }
  if (sameWidth && x.cols !== y.cols)
    throw new Error(`${who}: residual: false needs X and Y of the same width, got ${x.cols} and ${y.cols}`);
}

/** Centred columns scaled to unit Frobenius norm; an error names `what` when it is constant over rows. */
function unitCentred(m: Matrix64, what: string, who: string): Float64Array[] {
  const c = centredColumns(m);
  const norm = frobeniusOfColumns(c);
  if (norm === 0) throw new Error(`${who}: ${what} is constant over rows (zero after centring)`);
  for (const col of c) for (let i = 0; i < col.length; i++) col[i] /= norm;
  return c;
}

/**
 * Both scores of one block — X → Y and X → Y − X — from a single QR of X (the two targets share
 * it): the same numbers as two `linearityScore` calls at about half the cost.
 */
export function blockLinearity(X: MatrixInput, Y: MatrixInput): { withResidual: number; withoutResidual: number } {
  return blockLinearity64(toMatrix64(X, "blockLinearity X", 2), toMatrix64(Y, "blockLinearity Y", 2));
}

function blockLinearity64(x: Matrix64, y: Matrix64): { withResidual: number; withoutResidual: number } {
  checkScorable(x, y, "blockLinearity", true);
  const xc = unitCentred(x, "X", "blockLinearity");
  const yc = unitCentred(y, "Y", "blockLinearity");
  const rc = unitCentred({ ...y, data: y.data.map((v, i) => v - x.data[i]) }, "Y − X", "blockLinearity");
  const { columnResiduals } = leastSquares(xc, [...yc, ...rc], false);
  const d = yc.length;
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return {
    withResidual: clamp(1 - sum(columnResiduals.slice(0, d))),
    withoutResidual: clamp(1 - sum(columnResiduals.slice(d))),
  };
}

/**
 * The score the identity map gets, 1 − ‖X̃ − Ỹ‖²_F (X̃, Ỹ centred and scaled to unit Frobenius
 * norm as in `linearityScore`): how much of the "linearity" of X → Y is just Y ≈ X. It is at most
 * the fitted score, and close to it when a block's update is small next to its input; it can be
 * negative (as low as −3) when Y is far from X.
 */
export function identityScore(X: MatrixInput, Y: MatrixInput): number {
  const x = toMatrix64(X, "identityScore X", 2);
  const y = toMatrix64(Y, "identityScore Y", 2);
  checkPair(x, y, "identityScore");
  if (x.cols !== y.cols) throw new Error(`identityScore: X and Y must have the same width, got ${x.cols} and ${y.cols}`);
  const xc = unitCentred(x, "X", "identityScore");
  const yc = unitCentred(y, "Y", "identityScore");
  let r = 0;
  for (let j = 0; j < xc.length; j++) for (let i = 0; i < xc[j].length; i++) r += (xc[j][i] - yc[j][i]) ** 2;
  return 1 - r;
}

/** An affine map y ≈ x·A + b fitted by least squares. */
export interface AffineMap {
  /** [dIn][dOut] */
  weight: number[][];
  /** [dOut] */
  bias: number[];
  /** Fraction of Y's variance (about its mean) left unexplained. */
  unexplained: number;
  rank: number;
}

/** Least-squares affine map from rows of X to rows of Y (float64, rank-revealing QR). */
export function fitAffineMap(X: MatrixInput, Y: MatrixInput): AffineMap {
  const x = toMatrix64(X, "fitAffineMap X", 2);
  const y = toMatrix64(Y, "fitAffineMap Y", 2);
  checkPair(x, y, "fitAffineMap");
  const mx = columnMeans(x),
    my = columnMeans(y);
  const xc = centredColumns(x),
    yc = centredColumns(y);
  const total = frobeniusOfColumns(yc) ** 2;
  const { residual, rank, solution } = leastSquares(xc, yc, true);
  const weight = solution!.map((row) => Array.from(row));
  const bias = Array.from(my, (m, j) => m - weight.reduce((s, row, i) => s + mx[i] * row[j], 0));
  return { weight, bias, unexplained: total > 0 ? residual / total : 0, rank };
}

/** Random-matrix baseline of the linearity score: Gaussian X, Y of n rows and d columns. */
export function linearityBaseline(
  n: number,
  d: number,
  options: { trials?: number; seed?: number } = {},
): { chance: number; mean: number; std: number } {
  if (!(Number.isInteger(n) && Number.isInteger(d) && d >= 1 && n > d + 1)) {
    throw new Error(`linearityBaseline: need integers with n > d + 1 ≥ 2, got n = ${n}, d = ${d}`);
  }
  const trials = options.trials ?? 3;
  const rng = createRng(options.seed ?? 0);
  const sample = () => {
    const a = normalArray(rng, n * d, 1);
    return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * d, (i + 1) * d)));
  };
  const scores = Array.from({ length: trials }, () => linearityScore(sample(), sample()));
  return { chance: d / (n - 1), mean: mean(scores), std: std(scores) };
}

/** Eigenvalues of a symmetric matrix (cyclic Jacobi), descending. */
export function symmetricEigenvalues(a: Float64Array[], tol = 1e-12): number[] {
  const n = a.length;
  const m = a.map((row) => Float64Array.from(row));
  const offNorm = () => {
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += m[i][j] ** 2;
    return s;
  };
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) total += m[i][j] ** 2;
  for (let sweep = 0; sweep < 60 && offNorm() > tol * tol * Math.max(total, 1e-300); sweep++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p][q];
        if (apq === 0) continue;
        const theta = (m[q][q] - m[p][p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1),
          s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k][p],
            mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p][k],
            mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i][i]).sort((u, w) => w - u);
}

/**
 * Anisotropy σ₁² / Σσᵢ² of the centred rows: the share of the variance along the top principal
 * direction. 1 for rank-1 data, 1/d for perfectly isotropic data.
 */
export function anisotropy(X: MatrixInput): number {
  const x = toMatrix64(X, "anisotropy X", 2);
  const cols = centredColumns(x);
  const d = x.cols;
  const gram = Array.from({ length: d }, () => new Float64Array(d));
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      const a = cols[i],
        b = cols[j];
      for (let k = 0; k < a.length; k++) s += a[k] * b[k];
      gram[i][j] = gram[j][i] = s;
    }
  }
  let trace = 0;
  for (let i = 0; i < d; i++) trace += gram[i][i];
  if (trace === 0) throw new Error("anisotropy: X is constant over rows (zero after centring)");
  return Math.min(1, symmetricEigenvalues(gram)[0] / trace);
}

export interface TwoNNResult {
  dimension: number;
  /** Points in the line fit. */
  used: number;
  /** Points dropped because their nearest neighbour is at distance 0 (duplicates). */
  duplicates: number;
  /** Fraction of the remaining points with the largest ratios μ left out of the fit. */
  discardFraction: number;
}

/**
 * TwoNN intrinsic dimension (Facco et al. 2017): for each point μ = r₂/r₁, the ratio of its second
 * to first nearest-neighbour distance; on the empirical CDF F(μ₍ᵢ₎) = i/(N+1), −log(1 − F(μ)) = d·log μ, fitted by
 * a line through the origin. Points with a duplicate (r₁ = 0) are dropped, and the `discard`
 * fraction (default 0.1, as Facco et al.) with the largest μ is left out of the fit. O(n²·d).
 */
export function twoNNIntrinsicDimension(X: MatrixInput, options: { discard?: number } = {}): TwoNNResult {
  const x = toMatrix64(X, "twoNNIntrinsicDimension X", 3);
  const discard = options.discard ?? 0.1;
  if (!(discard >= 0 && discard < 1)) throw new Error(`twoNNIntrinsicDimension: discard must be in [0, 1), got ${discard}`);
  const { rows: n, cols: d, data } = x;
  const mus: number[] = [];
  let duplicates = 0;
  for (let i = 0; i < n; i++) {
    let r1 = Infinity,
      r2 = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = data[i * d + k] - data[j * d + k];
        s += t * t;
      }
      if (s < r1) {
        r2 = r1;
        r1 = s;
      } else if (s < r2) r2 = s;
    }
    if (r1 === 0) duplicates++;
    else mus.push(Math.sqrt(r2 / r1));
  }
  mus.sort((a, b) => a - b);
  const total = mus.length;
  const used = Math.floor(total * (1 - discard));
  if (used < 2) throw new Error(`twoNNIntrinsicDimension: only ${total} distinct points (${duplicates} duplicates); need more`);
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < used; i++) {
    const lx = Math.log(mus[i]);
    const ly = -Math.log(1 - (i + 1) / (total + 1));
    sxy += lx * ly;
    sxx += lx * lx;
  }
  if (sxx === 0) throw new Error("twoNNIntrinsicDimension: all neighbour ratios are 1 (points on a regular grid?)");
  return { dimension: sxy / sxx, used, duplicates, discardFraction: discard };
}

export interface LinearityProfile {
  /** Score of block l: states[l] → states[l + 1]. */
  withResidual: number[];
  /** Score of block l without its residual: states[l] → states[l + 1] − states[l]. */
  withoutResidual: number[];
}

/**
 * Layer-by-layer linearity of a model from its residual streams (`states[0]` the embeddings, then
 * the stream after each block; the same tokens in the same rows of each).
 */
export function linearityProfile(states: MatrixInput[]): LinearityProfile {
  if (states.length < 2) throw new Error(`linearityProfile: need at least 2 states (embeddings and one block), got ${states.length}`);
  const m = states.map((s, i) => toMatrix64(s, `linearityProfile state ${i}`, 2));
  const withResidual: number[] = [];
  const withoutResidual: number[] = [];
  for (let l = 0; l + 1 < m.length; l++) {
    const b = blockLinearity64(m[l], m[l + 1]);
    withResidual.push(b.withResidual);
    withoutResidual.push(b.withoutResidual);
  }
  return { withResidual, withoutResidual };
}
