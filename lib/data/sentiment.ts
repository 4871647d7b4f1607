/**
 * The UCI "Sentiment Labelled Sentences" (Kotzias, Denil, de Freitas & Smyth, KDD 2015): 1,000
 * sentences each from IMDb, Yelp and Amazon reviews, 500 positive and 500 negative per source.
 * Source: the test fixtures of npm `sentiment` 5.0.2 (`test/fixtures/{imdb,yelp,amazon}.json`; one
 * empty record per file is dropped). Data licence CC BY 4.0 (UCI). See data/README.md.
 *
 * Splits are stratified by (source, label) and deterministic for a seed: within each of the six
 * groups, a seeded shuffle, then the first `test` fraction to test, the next `valid` to valid, the
 * rest to train. `labelSubset` draws n training sentences with the same stratification.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRng } from "../engine/rng";

export const SENTIMENT_SOURCES = ["imdb", "yelp", "amazon"] as const;
export type SentimentSource = (typeof SENTIMENT_SOURCES)[number];

export interface LabelledSentence {
  text: string;
  /** 0 negative, 1 positive. */
  label: number;
  source: SentimentSource;
  /** Position within its source file (a stable id). */
  index: number;
}

let memo: LabelledSentence[] | undefined;

/** All 3,000 labelled sentences (whitespace trimmed). */
export function loadSentiment(): LabelledSentence[] {
  if (memo) return memo;
  const dir = path.join(path.dirname(require.resolve("sentiment/package.json")), "test", "fixtures");
  const out: LabelledSentence[] = [];
  for (const source of SENTIMENT_SOURCES) {
    const rows = JSON.parse(fs.readFileSync(path.join(dir, `${source}.json`), "utf8")) as { text: string; class: number | null }[];
    rows.forEach((r, index) => {
      if (r.class === 0 || r.class === 1) out.push({ text: r.text.trim(), label: r.class, source, index });
    });
  }
  if (out.length !== 3000)
    throw new Error(`loadSentiment: expected 3,000 labelled sentences, found ${out.length}; is sentiment@5.0.2 installed?`);
  memo = out;
  return out;
}

type Keyed = { label: number; source?: string };
const groupKey = (x: Keyed) => `${x.source ?? ""}|${x.label}`;

function groups<T extends Keyed>(items: T[], seed: number): T[][] {
  const byKey = new Map<string, T[]>();
  for (const x of items) {
    const k = groupKey(x);
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k)!.push(x);
  }
  const rng = createRng(seed);
  return [...byKey.keys()].sort().map((k) => rng.fork(k).shuffle([...byKey.get(k)!]));
}

/** Stratified train / valid / test split (fractions of each (source, label) group). */
export function stratifiedSplit<T extends Keyed>(
  items: T[],
  options: { valid: number; test: number; seed: number },
): { train: T[]; valid: T[]; test: T[] } {
  const { valid, test, seed } = options;
  if (!(valid >= 0 && test > 0 && valid + test < 1))
    throw new Error(`stratifiedSplit: need valid ≥ 0, test > 0 and valid + test < 1, got ${valid}, ${test}`);
  const out = { train: [] as T[], valid: [] as T[], test: [] as T[] };
  for (const g of groups(items, seed)) {
    const nTest = Math.round(g.length * test),
      nValid = Math.round(g.length * valid);
    out.test.push(...g.slice(0, nTest));
    out.valid.push(...g.slice(nTest, nTest + nValid));
    out.train.push(...g.slice(nTest + nValid));
  }
  return out;
}

/** n items drawn with the same proportions per (source, label) group (largest remainders), deterministic per seed. */
export function labelSubset<T extends Keyed>(items: T[], n: number, seed: number): T[] {
  if (!(Number.isInteger(n) && n >= 1 && n <= items.length))
    throw new Error(`labelSubset: n must be an integer in 1…${items.length}, got ${n}`);
  const gs = groups(items, seed);
  const exact = gs.map((g) => (g.length * n) / items.length);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; counts.reduce((s, c) => s + c, 0) < n; k++) counts[order[k % order.length][1]] += 1;
  return gs.flatMap((g, i) => g.slice(0, counts[i]));
}
