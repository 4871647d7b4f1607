/**
 * Prepared-data cache under `data/cache/` (git-ignored). Each entry is a payload file plus a
 * manifest with its SHA-256, the builder's version and the source it came from. A missing,
 * corrupted or outdated entry is rebuilt (and says so); a cache that cannot be written is
 * reported and the data is used from memory.
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
  status: "hit" | "built (missing)" | "built (checksum mismatch)" | "built (outdated)" | "built (unreadable manifest)";
}

/**
 * Returns the cached bytes for `name` if present and intact at `version`, else builds them with
 * `build()`, stores them and returns them.
 */
export function cached(
  name: string,
  version: number,
  source: string,
  build: () => Buffer,
  options: { dir?: string; log?: (msg: string) => void } = {},
): CachedResult {
  const dir = options.dir ?? CACHE_DIR;
  const log = options.log ?? ((m: string) => console.log(m));
  const payload = path.join(dir, `${name}.bin`);
  const manifestPath = path.join(dir, `${name}.manifest.json`);
  let reason: CachedResult["status"] = "built (missing)";
  if (fs.existsSync(payload) && fs.existsSync(manifestPath)) {
    let manifest: CacheManifest | null = null;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as CacheManifest;
    } catch {
      reason = "built (unreadable manifest)";
    }
    if (manifest) {
      const bytes = fs.readFileSync(payload);
      if (manifest.version !== version) reason = "built (outdated)";
      else if (manifest.sha256 !== sha256(bytes) || manifest.bytes !== bytes.length) reason = "built (checksum mismatch)";
      else return { bytes, status: "hit" };
    }
  }
  if (reason !== "built (missing)") log(`data cache "${name}": ${reason.slice(7, -1)}; rebuilding`);
  const bytes = build();
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
