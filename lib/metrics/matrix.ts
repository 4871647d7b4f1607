/**
 * Dense float64 matrices for the metrics that need more than float32 (least squares, eigenvalues,
 * angles between nearby states): inputs are `number[][]` or a 2-D tensor, rows are tokens.
 */
import * as tf from "@tensorflow/tfjs";

export type MatrixInput = number[][] | tf.Tensor;

/** A dense row-major float64 matrix. */
export interface Matrix64 {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Validates and copies an input to float64: 2-D, rectangular, finite, at least `minRows` rows. */
export function toMatrix64(x: MatrixInput, name = "matrix", minRows = 1): Matrix64 {
  let rows: number, cols: number, data: Float64Array;
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw new Error(`${name}: expected a 2-D tensor [tokens, features], got shape [${x.shape}]`);
    [rows, cols] = x.shape as [number, number];
    data = Float64Array.from(x.dataSync() as ArrayLike<number>);
  } else {
    if (!Array.isArray(x) || !x.every(Array.isArray)) throw new Error(`${name}: expected number[][] (rows of numbers) or a 2-D tensor`);
    rows = x.length;
    cols = rows ? x[0].length : 0;
    data = new Float64Array(rows * cols);
    x.forEach((row, i) => {
      if (row.length !== cols) throw new Error(`${name}: row ${i} has ${row.length} columns, row 0 has ${cols}`);
      data.set(row, i * cols);
    });
  }
  if (cols === 0) throw new Error(`${name}: has no columns`);
  if (rows < minRows) throw new Error(`${name}: needs at least ${minRows} rows (tokens), got ${rows}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new Error(`${name}: entry (${Math.floor(i / cols)}, ${i % cols}) is ${data[i]}`);
  }
  return { rows, cols, data };
}
