/**
 * Run stamps: a notebook's outputs say which library code and which checkpoints produced them.
 * `runStamp()` (in every setup cell, after `ready()`) records the SHA-256 of the library's
 * sources; `pretrainedModel()` loads a checkpoint and records its file's SHA-256. The book's
 * scorecard and `npm test` compare the stamps with the current sources and checkpoints and warn
 * about notebooks whose committed outputs came from older code (a warning: rerun them with
 * `npm run reproduce`).
 *
 * The library stamp also records the engine the run used — backend and thread count — since the
 * thread count changes how sums are split and so the last digits of results (TA_THREADS=1 and 2
 * differ by up to ~5e-7 in a 20-step training run): a rerun is bit-identical only with the same
 * count. Stamps written before these fields existed have none, and read as before.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RnnLmParams } from "../models/lstm";
import { type LoadedCheckpoint, type RecipeParams, pretrained, pretrainedLstm } from "../pretrain/checkpoints";
import { type Study, loadStudy } from "../pretrain/studies";
import { engineInfo } from "../engine";
import { displayBundle } from "./kernel";
import { isSmoke } from "./mode";

export const RUN_STAMP_MIME = "application/vnd.transformer-anatomy.run-stamp+json";

/** The project root (this file is lib/notebook/stamp.ts or dist/notebook/stamp.js). */
const ROOT = path.resolve(__dirname, "..", "..");

export type RunStamp =
  | {
      kind: "library";
      sha256: string;
      /** The backend and thread count of the run (absent in stamps written before 2026-12). */
      backend?: string;
      threads?: number;
    }
  | { kind: "checkpoint"; name: string; step: number | null; file: string; sha256: string; smoke: boolean };

function listSources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listSources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

/** SHA-256 over the library's sources (every lib/**\/*.ts, by relative path and content, in path order). */
export function librarySourceHash(root = ROOT): string {
  const lib = path.join(root, "lib");
  if (!fs.existsSync(lib)) throw new Error(`librarySourceHash: ${lib} is missing (the stamp needs the library's sources)`);
  const hash = crypto.createHash("sha256");
  for (const file of listSources(lib).sort()) {
    hash.update(path.relative(root, file).split(path.sep).join("/"));
    hash.update("\0");
    hash.update(fs.readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function show(stamp: RunStamp, text: string): void {
  if (!displayBundle({ "text/plain": text, [RUN_STAMP_MIME]: stamp })) console.log(text);
}

/** The library stamp of this run: the sources' hash, and the backend and threads `ready()` started (an error before it). */
export function libraryStamp(): Extract<RunStamp, { kind: "library" }> {
  let engine: ReturnType<typeof engineInfo>;
  try {
    engine = engineInfo();
  } catch {
    throw new Error("runStamp: the engine is not started; call `await ta.ready()` first (the stamp records its thread count)");
  }
  return { kind: "library", sha256: librarySourceHash(), backend: engine.backend, threads: engine.threads };
}

/** The stamp's one line, as the notebook shows it. */
export function formatLibraryStamp(stamp: Extract<RunStamp, { kind: "library" }>): string {
  const engine = stamp.threads === undefined ? "" : ` · ${stamp.backend}, ${stamp.threads} thread${stamp.threads === 1 ? "" : "s"}`;
  return `run stamp: library sources ${stamp.sha256.slice(0, 12)}${engine}`;
}

/** Records which library sources and how many threads this run uses (the setup cell calls it after `ready()`; returns nothing, so the cell does not echo it). */
export function runStamp(): void {
  const stamp = libraryStamp();
  show(stamp, formatLibraryStamp(stamp));
}

/**
 * A pretrained model from `npm run pretrain` (the committed checkpoint; in smoke mode the recipe's
 * tiny variant trained on the fly), with a run stamp naming the weights' file and checksum.
 */
export function pretrainedModel(name: string, options: { step?: number } = {}): LoadedCheckpoint {
  const smoke = isSmoke();
  return stamped(name, options.step, smoke, pretrained(name, { smoke, step: options.step }));
}

/** A pretrained LSTM LM from `npm run pretrain` (e.g. "word-lstm"), stamped as `pretrainedModel` stamps a transformer. */
export function pretrainedLstmModel(name: string, options: { step?: number } = {}): LoadedCheckpoint<RnnLmParams> {
  const smoke = isSmoke();
  return stamped(name, options.step, smoke, pretrainedLstm(name, { smoke, step: options.step }));
}

function stamped<P extends RecipeParams>(
  name: string,
  step: number | undefined,
  smoke: boolean,
  loaded: LoadedCheckpoint<P>,
): LoadedCheckpoint<P> {
  const file = step === undefined ? "model.safetensors" : `step-${step}.safetensors`;
  const entry = loaded.manifest.files.find((f) => f.file === file);
  const stamp: RunStamp = { kind: "checkpoint", name, step: step ?? null, file, sha256: entry?.sha256 ?? "", smoke };
  show(stamp, `run stamp: checkpoint ${name}/${file} ${stamp.sha256.slice(0, 12)}${smoke ? " (smoke: trained on the fly)" : ""}`);
  return loaded;
}

/**
 * A pretrained study's result (`npm run pretrain -- <name>`): the committed one in full mode, with a
 * run stamp naming its file and checksum; in smoke mode the study's smoke variant, run on the fly.
 */
export function pretrainedStudy<Config, Result>(
  study: Study<Config, Result>,
  options: { progress?: (done: number, total: number, label: string) => void } = {},
): Result {
  const smoke = isSmoke();
  if (smoke) {
    const result = study.run(study.smoke, options);
    show(
      { kind: "checkpoint", name: study.name, step: null, file: "study.json", sha256: "", smoke },
      `run stamp: study ${study.name} (smoke: run on the fly)`,
    );
    return result;
  }
  const { result, manifest } = loadStudy<Result>(study);
  const entry = manifest.files.find((f) => f.file === "study.json")!;
  show(
    { kind: "checkpoint", name: study.name, step: null, file: "study.json", sha256: entry.sha256, smoke },
    `run stamp: study ${study.name}/study.json ${entry.sha256.slice(0, 12)} (run in ${(manifest.seconds / 60).toFixed(1)} min at ${manifest.commit.slice(0, 12)})`,
  );
  return result;
}
