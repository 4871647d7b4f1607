/**
 * Pretrained studies: comparisons too long for a notebook's 15 minutes (many arms × seeds × learning
 * rates, each trained past its baselines) are run once by `npm run pretrain -- <study>` in the
 * background and committed as JSON under data/checkpoints/<study>/ — the results (curves, final
 * validation and test losses, chosen rates), not the weights. The notebook loads them in full mode
 * and runs the study's smoke variant on the fly in smoke mode, as with the checkpoint recipes.
 *
 *   data/checkpoints/<study>/study.json      the result, as the study's `run` returned it
 *   data/checkpoints/<study>/manifest.json   name, description, commit, seconds, files (sha256, bytes)
 *
 * The manifest's `files` has the shape the run stamps and the book's freshness check read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256 } from "../data/cache";
import { CHECKPOINT_DIR, codeCommit } from "./checkpoints";

export interface StudyManifest {
  name: string;
  kind: "study";
  description: string;
  /** The commit of the code that ran it ("+ uncommitted changes" when lib/ was dirty). */
  commit: string;
  seconds: number;
  /** The configuration the study ran with (its full variant). */
  config: unknown;
  files: { file: string; step: number; sha256: string; bytes: number }[];
}

export interface Study<Config, Result> {
  name: string;
  description: string;
  full: Config;
  smoke: Config;
  run(config: Config, options?: { progress?: (done: number, total: number, label: string) => void }): Result;
}

/**
 * Writes a study's result and manifest to data/checkpoints/<name>/ (or `dir`), replacing what was
 * there. `commit` is the code the study ran (take `codeCommit()` before running it, as recipes do:
 * edits made while it runs do not count); by default the code as it is now.
 */
export function saveStudy(
  study: { name: string; description: string; full: unknown },
  result: unknown,
  seconds: number,
  dir = path.join(CHECKPOINT_DIR, study.name),
  commit = codeCommit(),
): string {
  const text = `${JSON.stringify(result)}\n`;
  const manifest: StudyManifest = {
    name: study.name,
    kind: "study",
    description: study.description,
    commit,
    seconds,
    config: study.full,
    files: [{ file: "study.json", step: 0, sha256: sha256(text), bytes: Buffer.byteLength(text) }],
  };
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, "study.json"), text);
  fs.writeFileSync(path.join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 1)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir); // atomic: a reader sees the old study or the new one, never half of one
  return dir;
}

/**
 * A committed study's result, checked against its manifest (checksum) and against the study's
 * current full configuration: a result from another configuration is an error, not a silent mismatch.
 */
export function loadStudy<Result>(
  study: { name: string; full: unknown },
  dir = path.join(CHECKPOINT_DIR, study.name),
): { result: Result; manifest: StudyManifest } {
  const manifestFile = path.join(dir, "manifest.json");
  if (!fs.existsSync(manifestFile))
    throw new Error(`loadStudy: ${manifestFile} is missing; run \`npm run pretrain -- ${study.name}\` (about 40 minutes) to create it`);
  const manifest = parseJsonFile<StudyManifest>(manifestFile, fs.readFileSync(manifestFile, "utf8"), study.name);
  if (manifest === null || typeof manifest !== "object" || !Array.isArray(manifest.files))
    throw new Error(`loadStudy: ${manifestFile} is not a study manifest (no list of files); rerun \`npm run pretrain -- ${study.name}\``);
  const entry = manifest.files.find((f) => f.file === "study.json");
  const file = path.join(dir, "study.json");
  if (!entry || !fs.existsSync(file))
    throw new Error(`loadStudy: ${file} is missing (the manifest lists ${manifest.files.map((f) => f.file).join(", ")})`);
  const text = fs.readFileSync(file, "utf8");
  if (sha256(text) !== entry.sha256)
    throw new Error(
      `loadStudy: ${file} does not match its manifest's checksum (edited or truncated?); rerun \`npm run pretrain -- ${study.name}\``,
    );
  if (JSON.stringify(manifest.config) !== JSON.stringify(study.full))
    throw new Error(
      `loadStudy: ${study.name} was run with another configuration than the library's (${JSON.stringify(manifest.config)} vs ${JSON.stringify(study.full)}); rerun \`npm run pretrain -- ${study.name}\``,
    );
  return { result: parseJsonFile<Result>(file, text, study.name), manifest };
}

/** JSON.parse with the file named in the error (a checksum can match a file that was never valid JSON). */
function parseJsonFile<T>(file: string, text: string, study: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`loadStudy: ${file} is not valid JSON (${(err as Error).message}); rerun \`npm run pretrain -- ${study}\``);
  }
}
