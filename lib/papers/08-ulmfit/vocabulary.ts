/**
 * ULMFiT's vocabulary transfer (Howard & Ruder 2018; fastai's `convert_weights`): the classifier's
 * vocabulary is built on the *target* text, and the pretrained embedding is carried over word by
 * word — a word the LM knew keeps its row, a word new to the LM starts at the mean of the LM's
 * rows. `<unk>` and `<eos>` keep theirs. Without it, target words outside the LM's (source-ranked)
 * vocabulary all collapse onto `<unk>`, however polar they are.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tokenizer } from "../../data/tokenizers";
import { type RnnLmParams, initRnnLm } from "../../models/lstm";

export interface EmbeddingTransfer {
  /** [target vocabulary, E]: the carried-over rows, and the mean row for new words. */
  embedding: tf.Tensor2D;
  /** Target ids whose word the source knew (the specials included). */
  known: number[];
  /** Target ids new to the source (initialised to the mean row). */
  fresh: number[];
}

/** Carries `sourceEmbedding` ([source vocabulary, E], rows by `source` ids) over to `target`'s ids. */
export function transferEmbedding(sourceEmbedding: tf.Tensor, source: Tokenizer, target: Tokenizer): EmbeddingTransfer {
  if (sourceEmbedding.rank !== 2 || sourceEmbedding.shape[0] !== source.vocabSize)
    throw new Error(
      `transferEmbedding: the source embedding must be [${source.vocabSize}, E] (one row per source token), got [${sourceEmbedding.shape}]`,
    );
  if (source.kind !== target.kind) throw new Error(`transferEmbedding: a ${source.kind} source cannot feed a ${target.kind} target`);
  const sourceIds = new Map<string, number>();
  for (let id = 0; id < source.vocabSize; id++) sourceIds.set(source.token(id), id);
  const known: number[] = [];
  const fresh: number[] = [];
  const rows = Array.from({ length: target.vocabSize }, (_, id) => {
    const s = sourceIds.get(target.token(id));
    if (s === undefined) fresh.push(id);
    else known.push(id);
    return s ?? -1;
  });
  const embedding = tf.tidy(() => {
    const mean = tf.mean(sourceEmbedding, 0, true); // [1, E]
    const table = tf.concat([sourceEmbedding, mean], 0); // the mean as row V_source
    return tf.gather(
      table,
      rows.map((r) => (r < 0 ? source.vocabSize : r)),
    ) as tf.Tensor2D;
  });
  return { embedding, known, fresh };
}

/** Share of the tokens of `text` that `tokenizer` maps to `<unk>` (0 for a tokenizer without one). */
export function unknownRate(tokenizer: Tokenizer, text: string): number {
  const ids = tokenizer.encode(text);
  if (ids.length === 0) throw new Error("unknownRate: the text has no tokens");
  if (tokenizer.unkId === null) return 0;
  let n = 0;
  for (const id of ids) if (id === tokenizer.unkId) n++;
  return n / ids.length;
}

/**
 * The pretrained LM carried over to the target vocabulary: the LSTM layers copied, the embedding
 * (and with it the tied decoder) and the decoder bias transferred row by row as
 * `transferEmbedding` does — new words get the mean row and the mean bias. Returns fresh
 * variables (the source is untouched) and the ids new to the source.
 */
export function transferLm(
  source: RnnLmParams,
  sourceTokenizer: Tokenizer,
  target: Tokenizer,
): { params: RnnLmParams; fresh: number[]; known: number[] } {
  if (!source.config.tieEmbeddings || source.decoder)
    throw new Error("transferLm: the source LM must have its decoder tied to the embedding");
  const emb = transferEmbedding(source.embedding, sourceTokenizer, target);
  const bias = tf.tidy(() => tf.reshape(source.decoderBias, [-1, 1]));
  const biasT = transferEmbedding(bias, sourceTokenizer, target);
  bias.dispose();
  const params = initRnnLm({ ...source.config, vocabSize: target.vocabSize });
  params.embedding.assign(emb.embedding);
  params.decoderBias.assign(tf.reshape(biasT.embedding, [-1]));
  params.layers.forEach((layer, l) => {
    layer.wx.assign(source.layers[l].wx);
    layer.wh.assign(source.layers[l].wh);
    layer.b.assign(source.layers[l].b);
  });
  tf.dispose([emb.embedding, biasT.embedding]);
  return { params, fresh: emb.fresh, known: emb.known };
}
