/**
 * Tokenizers: characters, words (capped vocabulary with an unknown token), and GPT-2's BPE
 * (r50k_base, via the `gpt-tokenizer` package, offline).
 */

interface BpeCodec {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/** Loaded on first use (the ranks table is large); its .d.ts needs a newer TypeScript than tslab's. */
function r50k(): BpeCodec {
  return require("gpt-tokenizer/cjs/encoding/r50k_base") as BpeCodec;
}

export interface Tokenizer {
  readonly kind: "char" | "word" | "gpt2";
  readonly vocabSize: number;
  /** Id of the unknown token (char/word), or null (BPE has none). */
  readonly unkId: number | null;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** The string of one id. */
  token(id: number): string;
}

export const UNK = "<unk>";
export const EOS = "<eos>";

/** Every distinct character of `text` (sorted by code point) plus `<unk>` at id 0. */
export function charTokenizer(text: string): Tokenizer {
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i + 1]));
  const vocab = [UNK, ...chars];
  return {
    kind: "char",
    vocabSize: vocab.length,
    unkId: 0,
    encode(s) {
      const out = new Int32Array(s.length);
      let n = 0;
      for (const c of s) out[n++] = index.get(c) ?? 0;
      return n === s.length ? out : out.slice(0, n);
    },
    decode(ids) {
      let s = "";
      for (let i = 0; i < ids.length; i++) s += ids[i] === 0 ? "\ufffd" : vocab[ids[i]];
      return s;
    },
    token: (id) => vocab[id],
  };
}

/** Lower-cased words (with inner apostrophes, hyphens, periods), numbers, single punctuation marks; newlines as <eos>. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/\n|[a-z0-9]+(?:['.-][a-z0-9]+)*|[^\sa-z0-9]/g) ?? [];
}

/**
 * Word-level vocabulary from `text`: the `maxVocab − 2` most frequent words (ties broken
 * alphabetically) among those seen at least `minCount` times (default 1), plus <unk> (id 0) and
 * <eos> (id 1, for newlines).
 */
export function wordTokenizer(text: string, options: { maxVocab: number; minCount?: number }): Tokenizer {
  const { maxVocab, minCount = 1 } = options;
  if (!Number.isInteger(maxVocab) || maxVocab < 3) throw new Error(`wordTokenizer: maxVocab must be an integer ≥ 3, got ${maxVocab}`);
  if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`wordTokenizer: minCount must be an integer ≥ 1, got ${minCount}`);
  const counts = new Map<string, number>();
  for (const w of splitWords(text)) if (w !== "\n") counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxVocab - 2)
    .map(([w]) => w);
  const vocab = [UNK, EOS, ...words];
  const index = new Map(vocab.map((w, i) => [w, i]));
  return {
    kind: "word",
    vocabSize: vocab.length,
    unkId: 0,
    encode(s) {
      const tokens = splitWords(s);
      return Int32Array.from(tokens, (w) => (w === "\n" ? 1 : (index.get(w) ?? 0)));
    },
    decode(ids) {
      return Array.from(ids, (id) => (id === 1 ? "\n" : vocab[id]))
        .join(" ")
        .replace(/ ?\n ?/g, "\n");
    },
    token: (id) => vocab[id],
  };
}

/** GPT-2's byte-level BPE (50,257 tokens); lossless round trip. */
export function gpt2Tokenizer(): Tokenizer {
  return {
    kind: "gpt2",
    vocabSize: 50257,
    unkId: null,
    encode: (s) => Int32Array.from(r50k().encode(s)),
    decode: (ids) => r50k().decode(Array.from(ids)),
    token: (id) => r50k().decode([id]),
  };
}
