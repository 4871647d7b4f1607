/**
 * Pretraining recipes: the models some claims are about (a trained GPT's curvature, a pretrained
 * decoder's linearity, ULMFiT's pretrained LM) are trained once by `npm run pretrain`, committed
 * under data/checkpoints/, and loaded by the notebooks — as the papers start from published
 * models. A recipe fixes everything that decides the weights: corpus, tokenizer, model, schedule,
 * seeds. Each has a `smoke` variant, trained on the fly in seconds in smoke mode and in the tests,
 * so CI never depends on the committed files.
 */
import type { RnnConfig } from "../models/lstm";
import type { TransformerConfig } from "../models/transformer";

/** A transformer recipe's model: the config without vocabSize and seed (those come from the tokenizer and the recipe). */
export type TransformerRecipeModel = Omit<Partial<TransformerConfig>, "vocabSize" | "seed">;

/**
 * An LSTM recipe's model (`models/lstm.ts`, decoder tied to the embedding): `seqLen` is the length
 * of the training windows (truncated backpropagation through time); dropout applies in training only.
 */
export type LstmRecipeModel = { kind: "lstm"; seqLen: number } & Pick<RnnConfig, "embedDim" | "hiddenDim" | "nLayers" | "dropout">;

export interface Recipe {
  name: string;
  description: string;
  /** "sotu+brown": the State of the Union training speeches and the Brown training samples; validation likewise. */
  corpus: "sotu+brown" | "sotu";
  /** Keep only the first this many characters of each split (smoke variants; 0 = all). */
  corpusChars: number;
  tokenizer: { kind: "word"; maxVocab: number } | { kind: "char" };
  /** The model: a transformer (no `kind`), or an LSTM (`kind: "lstm"`); vocabSize comes from the tokenizer, seed from `seed`. */
  model: TransformerRecipeModel | LstmRecipeModel;
  batchSize: number;
  steps: number;
  /** Peak rate of a linear warmup then cosine decay to `minLr`. */
  lr: number;
  warmup: number;
  minLr: number;
  clipNorm: number;
  /** Seeds the weights. */
  seed: number;
  /** Seeds the batch order. */
  dataSeed: number;
  evalEvery: number;
  evalBatches: number;
  /** Extra checkpoints kept along the way (for trajectories), by step. */
  saveAt: number[];
  dtype: "F32" | "F16";
  /** The tiny variant: these fields replace the recipe's in smoke mode. */
  smoke: Partial<Omit<Recipe, "name" | "smoke" | "description">>;
}

export const RECIPES = {
  /** The smallest recipe: a character GPT on a slice of the speeches; the determinism test trains it twice. */
  "tiny-char": {
    name: "tiny-char",
    description: "2-layer character GPT, d 32, on the first 200k characters of the speeches (seconds)",
    corpus: "sotu",
    corpusChars: 200_000,
    tokenizer: { kind: "char" },
    model: { seqLen: 32, dModel: 32, nHeads: 2, nLayers: 2, dFF: 128 },
    batchSize: 8,
    steps: 100,
    lr: 3e-3,
    warmup: 5,
    minLr: 3e-4,
    clipNorm: 1,
    seed: 1,
    dataSeed: 1,
    evalEvery: 50,
    evalBatches: 2,
    saveAt: [50],
    dtype: "F32",
    smoke: {},
  },
  /**
   * A word-level GPT on the largest general English text we have offline: 233 State of the Union
   * addresses and the Brown corpus (≈ 2.7 M training words), trained to a plateau of its cosine
   * schedule. Notebooks 05 and 10 measure it.
   */
  "word-gpt": {
    name: "word-gpt",
    description: "4-layer word GPT, d 128, 5,000-word vocabulary, on the speeches + Brown (≈ 33 min on 2 cores)",
    corpus: "sotu+brown",
    corpusChars: 0,
    tokenizer: { kind: "word", maxVocab: 5000 },
    model: { seqLen: 64, dModel: 128, nHeads: 4, nLayers: 4, dFF: 512, activation: "gelu", normPlacement: "pre" },
    batchSize: 32,
    steps: 3200,
    lr: 2e-3,
    warmup: 200,
    minLr: 1e-4,
    clipNorm: 1,
    seed: 1,
    dataSeed: 1,
    evalEvery: 200,
    evalBatches: 20,
    saveAt: [0, 200, 800],
    dtype: "F32",
    smoke: {
      corpusChars: 200_000,
      tokenizer: { kind: "word", maxVocab: 500 },
      model: { seqLen: 16, dModel: 16, nHeads: 2, nLayers: 2, dFF: 32 },
      batchSize: 4,
      steps: 6,
      warmup: 2,
      evalEvery: 3,
      evalBatches: 1,
      saveAt: [0, 3],
    },
  },
  /**
   * A deeper word GPT for notebook 05 (Secretly Linear): 8 blocks, so a linearity profile across
   * depth has a middle, on the same corpus and tokenizer as word-gpt, with checkpoints along the
   * way for the pretraining trajectory. The rate is word-gpt's (not re-chosen: one 40-minute
   * budget per recipe); the cosine schedule ends at its minimum, where the curve has flattened.
   * Weights are stored as float16 (half the size; 6 files).
   */
  "deep-gpt": {
    name: "deep-gpt",
    description: "8-layer word GPT, d 128, 5,000-word vocabulary, on the speeches + Brown, 6 checkpoints (≈ 28 min on 2 cores)",
    corpus: "sotu+brown",
    corpusChars: 0,
    tokenizer: { kind: "word", maxVocab: 5000 },
    model: { seqLen: 64, dModel: 128, nHeads: 4, nLayers: 8, dFF: 512, activation: "gelu", normPlacement: "pre" },
    batchSize: 32,
    steps: 4000,
    lr: 2e-3,
    warmup: 200,
    minLr: 1e-4,
    clipNorm: 1,
    seed: 1,
    dataSeed: 1,
    evalEvery: 250,
    evalBatches: 20,
    saveAt: [0, 250, 500, 1000, 2000],
    dtype: "F16",
    smoke: {
      corpusChars: 200_000,
      tokenizer: { kind: "word", maxVocab: 500 },
      model: { seqLen: 16, dModel: 16, nHeads: 2, nLayers: 4, dFF: 32 },
      batchSize: 4,
      steps: 8,
      warmup: 2,
      evalEvery: 4,
      evalBatches: 1,
      saveAt: [0, 2, 4],
    },
  },
  /**
   * A word-level LSTM LM (ULMFiT's AWD-LSTM in miniature: 2 layers, decoder tied to the embedding,
   * dropout 0.1) on the same corpus and tokenizer as word-gpt and deep-gpt, trained on more tokens
   * than either (≈ 4.5 epochs) to the end of its cosine schedule. Notebook 08 transfers it to
   * review sentences; notebook 10 measures it as the recurrent comparison. Chosen by short pilots
   * on validation loss: 3 layers (embedding 128, hidden 256) stayed on the unigram plateau for 600
   * steps at rates 1e-3, 3e-3 and 1e-2, while 2 layers left it by step 200 at 3e-3 (5.60 nats, the
   * unigram 5.77) — so 2 layers at 3e-3.
   */
  "word-lstm": {
    name: "word-lstm",
    description:
      "2-layer word LSTM (embedding 128, hidden 256, tied), 5,000-word vocabulary, on the speeches + Brown (≈ 27 min on 2 cores)",
    corpus: "sotu+brown",
    corpusChars: 0,
    tokenizer: { kind: "word", maxVocab: 5000 },
    model: { kind: "lstm", seqLen: 64, embedDim: 128, hiddenDim: 256, nLayers: 2, dropout: 0.1 },
    batchSize: 32,
    steps: 6000,
    lr: 3e-3,
    warmup: 200,
    minLr: 1e-4,
    clipNorm: 1,
    seed: 1,
    dataSeed: 1,
    evalEvery: 200,
    evalBatches: 20,
    saveAt: [0, 250, 1000, 3000],
    dtype: "F16",
    smoke: {
      corpusChars: 200_000,
      tokenizer: { kind: "word", maxVocab: 500 },
      model: { kind: "lstm", seqLen: 16, embedDim: 16, hiddenDim: 24, nLayers: 2, dropout: 0.1 },
      batchSize: 4,
      steps: 6,
      warmup: 2,
      evalEvery: 3,
      evalBatches: 1,
      saveAt: [0, 3],
    },
  },
} satisfies Record<string, Recipe>;

/** Whether a recipe trains an LSTM (else a transformer). */
export function isLstmModel(model: Recipe["model"]): model is LstmRecipeModel {
  return (model as { kind?: string }).kind === "lstm";
}

export type RecipeName = keyof typeof RECIPES;

/** The recipe by name (its smoke variant when `smoke`); an error lists the recipes. */
export function recipe(name: string, options: { smoke?: boolean } = {}): Recipe {
  if (!(name in RECIPES)) throw new Error(`recipe: unknown recipe "${name}"; recipes: ${Object.keys(RECIPES).join(", ")}`);
  const r: Recipe = RECIPES[name as RecipeName];
  if (!options.smoke) return r;
  return { ...r, ...r.smoke, model: { ...r.model, ...r.smoke.model } as Recipe["model"], smoke: {} };
}
