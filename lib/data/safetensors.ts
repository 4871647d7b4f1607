/**
 * The safetensors layout (so a checkpoint also loads in PyTorch with `safetensors.torch.load_file`):
 *
 *   8 bytes   header length N, unsigned 64-bit little-endian
 *   N bytes   JSON: { name: { dtype, shape, data_offsets: [begin, end] }, …, "__metadata__": { string: string } }
 *             (padded with spaces to a multiple of 8 bytes)
 *   rest      the tensors' raw little-endian bytes, back to back, offsets relative to this point
 *
 * Written deterministically: tensors in name order, keys in a fixed order, so the same values give
 * the same bytes. Float32 or float16 on disk (float16 by round-to-nearest-even); float32 in memory.
 */

export type SafetensorsDtype = "F32" | "F16";

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export interface Safetensors {
  tensors: Map<string, NamedTensor & { dtype: SafetensorsDtype }>;
  metadata: Record<string, string>;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a float32, rounding to nearest even; overflow → ±Inf, NaN kept. */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflows to ±0
    mant |= 0x800000; // subnormal: shift the implicit bit in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** The float value of IEEE binary16 bits. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Bytes of a safetensors file holding `tensors` (float32 values) as `dtype`. */
export function encodeSafetensors(
  tensors: Map<string, NamedTensor>,
  options: { dtype?: SafetensorsDtype; metadata?: Record<string, string> } = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  const width = dtype === "F32" ? 4 : 2;
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (options.metadata && Object.keys(options.metadata).length) {
    const meta: Record<string, string> = {};
    for (const key of Object.keys(options.metadata).sort()) {
      const value = options.metadata[key];
      if (typeof value !== "string") throw new Error(`encodeSafetensors: metadata "${key}" must be a string, got ${typeof value}`);
      meta[key] = value;
    }
    header.__metadata__ = meta;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name) as NamedTensor;
    if (name === "__metadata__") throw new Error('encodeSafetensors: "__metadata__" is reserved');
    const size = t.shape.reduce((p, s) => p * s, 1);
    if (size !== t.data.length)
      throw new Error(`encodeSafetensors: "${name}" has shape [${t.shape}] (${size} values) but ${t.data.length} values`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size * width] };
    offset += size * width;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const { data } = tensors.get(name) as NamedTensor;
    for (let i = 0; i < data.length; i++, at += width) {
      if (dtype === "F32") view.setFloat32(at, data[i], true);
      else view.setUint16(at, toFloat16Bits(data[i]), true);
    }
  }
  return out;
}

/** Reads a safetensors file (F32 or F16 tensors) into float32 arrays; `name` is used in errors. */
export function decodeSafetensors(bytes: Uint8Array, name = "safetensors file"): Safetensors {
  if (bytes.length < 8) throw new Error(`${name}: ${bytes.length} bytes is too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) throw new Error(`${name}: the header claims ${n} bytes but the file has ${bytes.length - 8} after the length`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
  } catch (e) {
    throw new Error(`${name}: the header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors: Safetensors["tensors"] = new Map();
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  for (const [key, entry] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== "F32" && dtype !== "F16") throw new Error(`${name}: tensor "${key}" has dtype ${dtype}; only F32 and F16 are read`);
    const width = dtype === "F32" ? 4 : 2;
    const size = shape.reduce((p, s) => p * s, 1);
    const [begin, end] = data_offsets;
    if (end - begin !== size * width || base + end > bytes.length) {
      throw new Error(
        `${name}: tensor "${key}" [${shape}] ${dtype} does not fit its offsets [${begin}, ${end}] in a file of ${bytes.length} bytes`,
      );
    }
    const data = new Float32Array(size);
    for (let i = 0, at = base + begin; i < size; i++, at += width) {
      data[i] = dtype === "F32" ? view.getFloat32(at, true) : fromFloat16Bits(view.getUint16(at, true));
    }
    tensors.set(key, { dtype, shape, data });
  }
  return { tensors, metadata };
}
