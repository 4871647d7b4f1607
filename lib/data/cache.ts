/**
 * Prepared-data cache under `data/cache/` (git-ignored). Each entry is a payload file plus a
 * manifest with its SHA-256, the builder's version and the source it came from. A missing,
 * corrupted or outdated entry is rebuilt (and says so), and so is one whose payload fails the
 * reader's own check (`validate`; `cachedJson` parses JSON) even when its checksum matches; a cache
 * that cannot be written is reported and the data is used from memory.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** The project's `data/` folder (this file lives in lib/data or dist/data). */
export const DATA_DIR = path.resolve(__dirname, "..", "..", "data");
export const CACHE_DIR = path.join(DATA_DIR, "cache");

export interface CacheManifest {
  name: string;
  version: number;
  sha256: string;
  bytes: number;
  source: string;
  created: string;
}

export function sha256(bytes: Uint8Array | string): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

export interface CachedResult {
  bytes: Buffer;
  /** How the bytes were obtained: read and verified, or (re)built and why. */
  status:
    | "hit"
    | "built (missing)"
    | "built (checksum mismatch)"
    | "built (outdated)"
    | "built (unreadable manifest)"
    | "built (invalid payload)";
}

export interface CacheOptions {
  dir?: string;
  log?: (msg: string) => void;
  /**
   * Throws if the payload cannot be used (e.g. it is not valid JSON): a cached payload that fails
   * is rebuilt; a freshly built one that fails is an error naming the entry.
   */
  validate?: (bytes: Buffer) => void;
}

/**
 * Returns the cached bytes for `name` if present and intact at `version`, else builds them with
 * `build()`, stores them and returns them.
 */
export function cached(name: string, version: number, source: string, build: () => Buffer, options: CacheOptions = {}): CachedResult {
  const dir = options.dir ?? CACHE_DIR;
  const log = options.log ?? ((m: string) => console.log(m));
  const payload = path.join(dir, `${name}.bin`);
  const manifestPath = path.join(dir, `${name}.manifest.json`);
  const failure = (validate: (bytes: Buffer) => void, bytes: Buffer): string | null => {
    try {
      validate(bytes);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  };
  let reason: CachedResult["status"] = "built (missing)";
  let detail = "";
  if (fs.existsSync(payload) && fs.existsSync(manifestPath)) {
    let manifest: CacheManifest | null = null;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as CacheManifest;
      if (manifest === null || typeof manifest !== "object") throw new Error("not a JSON object");
    } catch (err) {
      manifest = null;
      reason = "built (unreadable manifest)";
      detail = ` (${manifestPath}: ${(err as Error).message})`;
    }
    if (manifest) {
      const bytes = fs.readFileSync(payload);
      if (manifest.version !== version) reason = "built (outdated)";
      else if (manifest.sha256 !== sha256(bytes) || manifest.bytes !== bytes.length) reason = "built (checksum mismatch)";
      else {
        const invalid = options.validate ? failure(options.validate, bytes) : null;
        if (invalid === null) return { bytes, status: "hit" };
        reason = "built (invalid payload)";
        detail = ` (${payload} matches its manifest but cannot be read: ${invalid})`;
      }
    }
  }
  if (reason !== "built (missing)") log(`data cache "${name}": ${reason.slice(7, -1)}${detail}; rebuilding`);
  const bytes = build();
  const invalid = options.validate ? failure(options.validate, bytes) : null;
  if (invalid !== null) throw new Error(`data cache "${name}": the freshly built payload cannot be read (${invalid}); nothing was written`);
  const manifest: CacheManifest = { name, version, sha256: sha256(bytes), bytes: bytes.length, source, created: new Date().toISOString() };
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${payload}.tmp`, bytes);
    fs.renameSync(`${payload}.tmp`, payload);
    fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (err) {
    log(`data cache "${name}": could not write ${dir} (${(err as Error).message}); using it from memory`);
  }
  return { bytes, status: reason };
}

/**
 * `cached` for a JSON value: the payload is `build()`'s value as JSON, parsed on the way out. A
 * cached payload that is not valid JSON (even with a matching checksum) is rebuilt, and the log
 * names the file.
 */
export function cachedJson<T>(
  name: string,
  version: number,
  source: string,
  build: () => T,
  options: Omit<CacheOptions, "validate"> = {},
): { value: T; status: CachedResult["status"] } {
  let value: T | undefined;
  const { status } = cached(name, version, source, () => Buffer.from(JSON.stringify(build()), "utf8"), {
    ...options,
    validate: (bytes) => {
      value = JSON.parse(bytes.toString("utf8")) as T;
    },
  });
  return { value: value as T, status };
}
