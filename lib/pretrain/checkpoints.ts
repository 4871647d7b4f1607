/**
 * Training a recipe, and its checkpoint on disk: data/checkpoints/<name>/model.safetensors (the
 * transformer's variables by their dotted names, e.g. "blocks.0.attn.wq"), step-<k>.safetensors
 * for the trajectory, and manifest.json — the recipe, the code's commit, seed, threads, steps,
 * tokens seen, the validation curve, the final validation loss beside the n-gram baselines, and
 * the SHA-256 of every tensor file. Loading verifies the checksum and that the recipe in the code
 * is the one the file was trained with, and refuses anything else with an error that names the
 * file and says how to rebuild it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { lmEvalBatches, disposeBatches } from "../data/batches";
import { DATA_DIR, sha256 } from "../data/cache";
import { loadBrown } from "../data/brown";
import { encodeSafetensors, decodeSafetensors, type NamedTensor } from "../data/safetensors";
import { loadSotu } from "../data/sotu";
import { type Tokenizer, charTokenizer, wordTokenizer } from "../data/tokenizers";
import { engineInfo } from "../engine";
import { ngramBaselines, type NgramBaselines } from "../metrics/ngram";
import { createRng } from "../engine/rng";
import { crossEntropy } from "../models/loss";
import { type RnnLmParams, initRnnLm, rnnConfig, rnnLmLogits } from "../models/lstm";
import { disposeParams, namedVariables } from "../models/params";
import { type TransformerParams, initTransformer, transformerConfig, transformerLm } from "../models/transformer";
import { evaluateLm } from "../train/evaluate";
import { type LmModel, trainLanguageModel } from "../train/lm";
import { warmupCosine } from "../train/schedules";
import type { ProgressSink } from "../train/trainer";
import { type Recipe, isLstmModel, recipe as recipeByName } from "./recipes";

export const CHECKPOINT_DIR = path.join(DATA_DIR, "checkpoints");

export interface CheckpointManifest {
  name: string;
  recipe: Recipe;
  /** The commit of the code that trained it ("+ uncommitted changes" when lib/ was dirty). */
  commit: string;
  seed: number;
  threads: number;
  backend: string;
  steps: number;
  tokensSeen: number;
  seconds: number;
  vocabSize: number;
  /** SHA-256 of the vocabulary (tokens joined by newlines): the tokenizer rebuilt from the corpus must match. */
  vocabSha256: string;
  validation: { steps: number[]; losses: number[] };
  finalValLoss: number;
  baselines: NgramBaselines;
  files: { file: string; step: number; sha256: string; bytes: number }[];
}

export interface RecipeCorpus {
  tokenizer: Tokenizer;
  trainIds: Int32Array;
  validIds: Int32Array;
  /** The test splits, joined the same way (never used to choose anything). */
  testIds: Int32Array;
}

const corpora = new Map<string, RecipeCorpus>();

/** The recipe's text, tokenizer and ids (memoised per corpus and tokenizer). */
export function recipeCorpus(r: Recipe): RecipeCorpus {
  const key = JSON.stringify([r.corpus, r.corpusChars, r.tokenizer]);
  const hit = corpora.get(key);
  if (hit) return hit;
  const sotu = loadSotu();
  const parts = r.corpus === "sotu+brown" ? [sotu, loadBrown()] : [sotu];
  const cut = (s: string) => (r.corpusChars > 0 ? s.slice(0, r.corpusChars) : s);
  const train = parts.map((p) => cut(p.train)).join("\n");
  const valid = parts.map((p) => cut(p.valid)).join("\n");
  const test = parts.map((p) => cut(p.test)).join("\n");
  const tokenizer = r.tokenizer.kind === "word" ? wordTokenizer(train, { maxVocab: r.tokenizer.maxVocab }) : charTokenizer(train);
  const corpus = { tokenizer, trainIds: tokenizer.encode(train), validIds: tokenizer.encode(valid), testIds: tokenizer.encode(test) };
  corpora.set(key, corpus);
  return corpus;
}

/** The transformer config a recipe trains (an error for an LSTM recipe: see `recipeRnnConfig`). */
export function recipeConfig(r: Recipe, vocabSize: number) {
  if (isLstmModel(r.model)) throw new Error(`recipeConfig: recipe "${r.name}" trains an LSTM; use recipeRnnConfig`);
  return transformerConfig({ ...r.model, vocabSize, seed: r.seed });
}

/** The LSTM config an LSTM recipe trains (decoder tied to the embedding). */
export function recipeRnnConfig(r: Recipe, vocabSize: number) {
  if (!isLstmModel(r.model)) throw new Error(`recipeRnnConfig: recipe "${r.name}" trains a transformer; use recipeConfig`);
  const { embedDim, hiddenDim, nLayers, dropout } = r.model;
  return rnnConfig({ vocabSize, embedDim, hiddenDim, nLayers, dropout, tieEmbeddings: true, seed: r.seed });
}

/** The weights a recipe trains: a transformer's or an LSTM's. */
export type RecipeParams = TransformerParams | RnnLmParams;

/** Fresh (initial) weights of a recipe's model. */
function initRecipeParams(r: Recipe, vocabSize: number): RecipeParams {
  return isLstmModel(r.model) ? initRnnLm(recipeRnnConfig(r, vocabSize)) : initTransformer(recipeConfig(r, vocabSize));
}

/**
 * A recipe's model as the training loop sees it. The LSTM trains with its dropout (masks from a
 * generator seeded by the recipe's data seed) and is validated without.
 */
function recipeLm(r: Recipe, params: RecipeParams): LmModel {
  if (!isLstmModel(r.model)) return transformerLm(params as TransformerParams);
  const p = params as RnnLmParams;
  const rng = createRng(r.dataSeed).fork("dropout");
  return {
    params: { embedding: p.embedding, layers: p.layers, decoderBias: p.decoderBias },
    seqLen: r.model.seqLen,
    vocabSize: p.config.vocabSize,
    logits: (tokens) => rnnLmLogits(p, tokens),
    trainingLoss: (batch) => crossEntropy(rnnLmLogits(p, batch.inputs, { rng }), batch.targets),
  };
}

function vocabHash(t: Tokenizer): string {
  return sha256(Array.from({ length: t.vocabSize }, (_, i) => t.token(i)).join("\n"));
}

/** Float32 copies of every variable, by dotted name. */
export function paramsToTensors(params: object): Map<string, NamedTensor> {
  return new Map([...namedVariables(params)].map(([name, v]) => [name, { shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) }]));
}

export interface TrainedRecipe {
  recipe: Recipe;
  params: RecipeParams;
  tokenizer: Tokenizer;
  /** Tensor files' bytes: "model.safetensors" and "step-<k>.safetensors". */
  files: Map<string, { step: number; bytes: Uint8Array }>;
  manifest: CheckpointManifest;
}

export function codeCommit(): string {
  try {
    const root = path.resolve(DATA_DIR, "..");
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "lib"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${head} + uncommitted changes in lib/` : head;
  } catch {
    return "unknown (not a git checkout)";
  }
}

/** Trains a recipe from scratch (deterministic for a seed and thread count) and encodes its files. */
export function trainRecipe(
  r: Recipe,
  options: { progress?: ProgressSink; onEval?: (step: number, valLoss: number) => void } = {},
): TrainedRecipe {
  const commit = codeCommit(); // the code as it is when training starts (later edits do not count)
  const { tokenizer, trainIds, validIds } = recipeCorpus(r);
  const params = initRecipeParams(r, tokenizer.vocabSize);
  const model = recipeLm(r, params);
  const files = new Map<string, { step: number; bytes: Uint8Array }>();
  const snapshot = (step: number) =>
    files.set(`step-${step}.safetensors`, { step, bytes: encodeSafetensors(paramsToTensors(params), { dtype: r.dtype }) });
  if (r.saveAt.includes(0)) snapshot(0);
  const start = performance.now();
  const run = trainLanguageModel({
    model,
    trainIds,
    validIds,
    steps: r.steps,
    lr: warmupCosine(r.lr, r.warmup, r.steps, r.minLr),
    batchSize: r.batchSize,
    dataSeed: r.dataSeed,
    evalEvery: r.evalEvery,
    evalBatches: r.evalBatches,
    clipNorm: r.clipNorm,
    progress: options.progress,
    callbacks: [
      {
        onStep: ({ step }) => {
          if (r.saveAt.includes(step + 1) && step + 1 < r.steps) snapshot(step + 1);
        },
        onEval: ({ step, metrics }) => options.onEval?.(step, metrics.valLoss),
      },
    ],
  });
  if (run.result.stoppedEarly) throw new Error(`trainRecipe ${r.name}: training stopped early (${run.result.stopReason})`);
  files.set("model.safetensors", { step: r.steps, bytes: encodeSafetensors(paramsToTensors(params), { dtype: r.dtype }) });
  const engine = engineInfo();
  const manifest: CheckpointManifest = {
    name: r.name,
    recipe: r,
    commit,
    seed: r.seed,
    threads: engine.threads,
    backend: engine.backend,
    steps: r.steps,
    tokensSeen: r.steps * r.batchSize * model.seqLen,
    seconds: (performance.now() - start) / 1000,
    vocabSize: tokenizer.vocabSize,
    vocabSha256: vocabHash(tokenizer),
    validation: { steps: run.valSteps, losses: run.valLosses },
    finalValLoss: run.finalValLoss,
    baselines: ngramBaselines(trainIds, validIds, tokenizer.vocabSize),
    files: [...files].map(([file, f]) => ({ file, step: f.step, sha256: sha256(f.bytes), bytes: f.bytes.length })),
  };
  return { recipe: r, params, tokenizer, files, manifest };
}

/** Writes a trained recipe to `dir` (default data/checkpoints/<name>/), replacing what was there. */
export function saveCheckpoint(trained: TrainedRecipe, dir = path.join(CHECKPOINT_DIR, trained.recipe.name)): string {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const [file, f] of trained.files) fs.writeFileSync(path.join(tmp, file), f.bytes);
  fs.writeFileSync(path.join(tmp, "manifest.json"), `${JSON.stringify(trained.manifest, null, 1)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/** JSON with sorted keys: the same recipe always gives the same text. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (x !== null && typeof x === "object") {
    return `{${Object.keys(x)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(x);
}

export interface LoadedCheckpoint<P extends RecipeParams = TransformerParams> {
  params: P;
  tokenizer: Tokenizer;
  corpus: RecipeCorpus;
  manifest: CheckpointManifest;
}

/** Puts the tensors of a safetensors file into fresh params of `config`, checking every name and shape. */
function paramsFrom(r: Recipe, vocabSize: number, bytes: Uint8Array, file: string): RecipeParams {
  const { tensors } = decodeSafetensors(bytes, file);
  const params = initRecipeParams(r, vocabSize);
  const vars = namedVariables(params);
  const missing = [...vars.keys()].filter((k) => !tensors.has(k));
  const extra = [...tensors.keys()].filter((k) => !vars.has(k));
  if (missing.length || extra.length) {
    throw new Error(
      `${file}: its tensors do not match the recipe's model (missing: ${missing.join(", ") || "none"}; unexpected: ${extra.join(", ") || "none"})`,
    );
  }
  for (const [name, v] of vars) {
    const t = tensors.get(name) as NamedTensor;
    if (t.shape.join() !== v.shape.join()) throw new Error(`${file}: "${name}" is [${t.shape}], the model's is [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, "float32")));
  }
  return params;
}

/**
 * Loads a committed checkpoint (the final weights, or those saved at `step`), verifying the
 * manifest, the recipe, the tensor file's SHA-256 and the tokenizer.
 */
export function loadCheckpoint(name: string, options: { step?: number; dir?: string } = {}): LoadedCheckpoint<RecipeParams> {
  const r = recipeByName(name);
  const dir = options.dir ?? path.join(CHECKPOINT_DIR, name);
  const rebuild = `rebuild it with \`npm run pretrain -- ${name}\``;
  const manifestFile = path.join(dir, "manifest.json");
  if (!fs.existsSync(manifestFile)) throw new Error(`checkpoint "${name}": ${manifestFile} is missing; ${rebuild}`);
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  } catch (e) {
    throw new Error(`checkpoint "${name}": ${manifestFile} is not valid JSON (${(e as Error).message}); ${rebuild}`);
  }
  if (canonical(manifest.recipe) !== canonical(r)) {
    throw new Error(
      `checkpoint "${name}": ${manifestFile} was trained with a different recipe than lib/pretrain/recipes.ts now holds; ${rebuild}`,
    );
  }
  const entry =
    options.step === undefined
      ? manifest.files.find((f) => f.file === "model.safetensors")
      : manifest.files.find((f) => f.step === options.step && f.file !== "model.safetensors");
  if (!entry) {
    const steps = manifest.files.filter((f) => f.file !== "model.safetensors").map((f) => f.step);
    throw new Error(
      `checkpoint "${name}": no weights saved at step ${options.step}; saved steps: ${steps.join(", ") || "none"} and the final model`,
    );
  }
  const file = path.join(dir, entry.file);
  if (!fs.existsSync(file)) throw new Error(`checkpoint "${name}": ${file} is missing; ${rebuild}`);
  const bytes = fs.readFileSync(file);
  if (sha256(bytes) !== entry.sha256)
    throw new Error(`checkpoint "${name}": ${file} is corrupted (its SHA-256 does not match the manifest); ${rebuild}`);
  const corpus = recipeCorpus(r);
  if (corpus.tokenizer.vocabSize !== manifest.vocabSize || vocabHash(corpus.tokenizer) !== manifest.vocabSha256) {
    throw new Error(`checkpoint "${name}": the tokenizer rebuilt from the corpus differs from the one it was trained with; ${rebuild}`);
  }
  return { params: paramsFrom(r, manifest.vocabSize, bytes, file), tokenizer: corpus.tokenizer, corpus, manifest };
}

const smokeModels = new Map<string, TrainedRecipe>();

/**
 * A pretrained transformer for a notebook: the committed checkpoint in full mode; in smoke mode
 * the recipe's tiny variant, trained on the fly (seconds) and kept for the process. The caller
 * owns (and disposes) the params it gets. LSTM recipes: `pretrainedLstm`.
 */
export function pretrained(name: string, options: { smoke: boolean; step?: number }): LoadedCheckpoint {
  if (isLstmModel(recipeByName(name).model)) throw new Error(`pretrained: recipe "${name}" is an LSTM; load it with pretrainedLstm`);
  return pretrainedAny(name, options) as LoadedCheckpoint;
}

/** A pretrained LSTM LM for a notebook, as `pretrained` gives a transformer. */
export function pretrainedLstm(name: string, options: { smoke: boolean; step?: number }): LoadedCheckpoint<RnnLmParams> {
  if (!isLstmModel(recipeByName(name).model)) throw new Error(`pretrainedLstm: recipe "${name}" is a transformer; load it with pretrained`);
  return pretrainedAny(name, options) as LoadedCheckpoint<RnnLmParams>;
}

function pretrainedAny(name: string, options: { smoke: boolean; step?: number }): LoadedCheckpoint<RecipeParams> {
  if (!options.smoke) return loadCheckpoint(name, { step: options.step });
  let trained = smokeModels.get(name);
  if (!trained) {
    trained = trainRecipe(recipeByName(name, { smoke: true }));
    disposeParams(trained.params); // kept as bytes; every call builds fresh params from them
    smokeModels.set(name, trained);
  }
  const file = options.step === undefined ? "model.safetensors" : `step-${options.step}.safetensors`;
  const f = trained.files.get(file);
  if (!f) throw new Error(`pretrained "${name}" (smoke): no weights saved at step ${options.step}`);
  return {
    params: paramsFrom(trained.recipe, trained.tokenizer.vocabSize, f.bytes, `${name} (smoke) ${file}`),
    tokenizer: trained.tokenizer,
    corpus: recipeCorpus(trained.recipe),
    manifest: trained.manifest,
  };
}

/** Validation loss of loaded weights on the recipe's own validation windows (a check that the load is right). */
export function checkpointValLoss(loaded: LoadedCheckpoint<RecipeParams>): number {
  const r = loaded.manifest.recipe;
  const model = recipeLm(r, loaded.params);
  const batches = lmEvalBatches(loaded.corpus.validIds, {
    batchSize: r.batchSize,
    seqLen: model.seqLen,
    maxBatches: r.evalBatches,
  });
  const loss = evaluateLm((x) => model.logits(x), batches).loss;
  disposeBatches(batches);
  return loss;
}
