/** Corpus cleaning and split, token counts, tokenizers, the cache, and batching. */
import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { cached, cachedJson, sha256 } from "../lib/data/cache";
import { cleanSpeech, loadSotu } from "../lib/data/sotu";
import { charTokenizer, gpt2Tokenizer, splitWords, wordTokenizer } from "../lib/data/tokenizers";
import { lmBatcher, lmEvalBatches, mlmBatcher, padTokenRows } from "../lib/data/batches";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("State of the Union corpus", () => {
  it("drops stage and page notes, keeps editorial insertions, normalises typography", () => {
    expect(cleanSpeech("Thank you. [Applause] We will [laughter]  win [the States] — “now” [p.8] [Footnote 1: x]")).toBe(
      'Thank you. We will win the States -- "now"',
    );
  });

  it("splits 233 addresses by speech, deterministically, every era in every split", () => {
    const c = loadSotu();
    const count = (s: string) => c.documents.filter((d) => d.split === s).length;
    expect([count("train"), count("valid"), count("test")]).toEqual([187, 23, 23]);
    const years = (s: string) => c.documents.filter((d) => d.split === s).map((d) => d.year);
    expect(Math.min(...years("valid"))).toBeLessThan(1820);
    expect(Math.max(...years("test"))).toBeGreaterThan(1990);
    expect(c.train).not.toMatch(/\[(applause|laughter)\]/i);
    // Pinned sizes: a change in cleaning or split shows here.
    expect([c.train.length, c.valid.length, c.test.length]).toEqual([8_562_450, 1_143_712, 1_051_706]);
  });

  it("has about WikiText-2's size in word tokens", () => {
    const c = loadSotu();
    const counts = [c.train, c.valid, c.test].map((s) => splitWords(s).filter((w) => w !== "\n").length);
    expect(counts).toEqual([1_573_656, 210_200, 192_867]);
    const total = counts.reduce((a, b) => a + b, 0);
    console.log(`SOTU word tokens: train ${counts[0]}, valid ${counts[1]}, test ${counts[2]}, total ${total}`);
    expect(total).toBeGreaterThan(1.9e6);
  });
});

describe("tokenizers", () => {
  const sample = "The state of the Union is strong.\nThank you, Mr. Speaker; God bless America!";

  it("char: lossless round trip; unknown characters map to id 0", () => {
    const t = charTokenizer(loadSotu().train);
    expect(t.decode(t.encode(sample))).toBe(sample);
    expect(t.encode("☃")[0]).toBe(0);
    expect(t.vocabSize).toBe(92);
  });

  it("word: lower-cased round trip of known words, <unk> for the rest, <eos> for newlines", () => {
    const t = wordTokenizer(loadSotu().train, { maxVocab: 2000 });
    expect(t.vocabSize).toBe(2000);
    // "bless" and "!" are outside the 1,998 most frequent words of the speeches.
    expect(t.decode(t.encode(sample))).toBe("the state of the union is strong .\nthank you , mr . speaker ; god <unk> america <unk>");
    const ids = t.encode("the zyzzyva");
    expect(t.token(ids[1])).toBe("<unk>");
    expect(t.encode("a\nb")[1]).toBe(1);
    expect(() => wordTokenizer("a b", { maxVocab: 2 })).toThrow(/maxVocab/);
    // minCount: only words seen at least that often (ULMFiT's target vocabulary uses 2)
    const m = wordTokenizer("b a a c c c d", { maxVocab: 100, minCount: 2 });
    expect(Array.from({ length: m.vocabSize }, (_, i) => m.token(i))).toEqual(["<unk>", "<eos>", "c", "a"]);
    expect(() => wordTokenizer("a", { maxVocab: 10, minCount: 0 })).toThrow(/minCount must be an integer ≥ 1, got 0/);
  });

  it("gpt2: exact round trip and the known ids", () => {
    const t = gpt2Tokenizer();
    expect(Array.from(t.encode("Hello world"))).toEqual([15496, 995]);
    expect(t.decode(t.encode(sample))).toBe(sample);
  });
});

describe("cache", () => {
  it("rebuilds a corrupted or outdated entry and says why", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-cache-"));
    const logs: string[] = [];
    let builds = 0;
    const build = () => {
      builds++;
      return Buffer.from("payload");
    };
    const opts = { dir, log: (m: string) => logs.push(m) };
    expect(cached("x", 1, "test", build, opts).status).toBe("built (missing)");
    expect(cached("x", 1, "test", build, opts).status).toBe("hit");
    fs.writeFileSync(path.join(dir, "x.bin"), "tampered");
    expect(cached("x", 1, "test", build, opts).status).toBe("built (checksum mismatch)");
    expect(cached("x", 2, "test", build, opts).status).toBe("built (outdated)");
    expect(builds).toBe(3);
    expect(logs).toEqual(['data cache "x": checksum mismatch; rebuilding', 'data cache "x": outdated; rebuilding']);
  });

  it("a payload that matches its manifest but is not valid JSON is rebuilt, and the log names the file (issue 24, item 18)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-cache-"));
    const logs: string[] = [];
    const opts = { dir, log: (m: string) => logs.push(m) };
    let builds = 0;
    const build = () => {
      builds++;
      return { speeches: ["one", "two"], n: 2 };
    };
    expect(cachedJson("j", 1, "test", build, opts)).toEqual({ value: { speeches: ["one", "two"], n: 2 }, status: "built (missing)" });
    expect(cachedJson("j", 1, "test", build, opts)).toEqual({ value: { speeches: ["one", "two"], n: 2 }, status: "hit" });
    // a truncated payload with a manifest rewritten to match it: the checksum passes, the JSON does not
    const payload = path.join(dir, "j.bin");
    const broken = '{"speeches":["one","tw';
    fs.writeFileSync(payload, broken);
    const manifestPath = path.join(dir, "j.manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
    fs.writeFileSync(manifestPath, JSON.stringify({ ...manifest, sha256: sha256(broken), bytes: broken.length }));
    const again = cachedJson("j", 1, "test", build, opts);
    expect(again).toEqual({ value: { speeches: ["one", "two"], n: 2 }, status: "built (invalid payload)" });
    expect(builds).toBe(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      new RegExp(
        `^data cache "j": invalid payload \\(${payload.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} matches its manifest but cannot be read: .*JSON.*\\); rebuilding$`,
      ),
    );
    expect(fs.readFileSync(payload, "utf8")).toBe('{"speeches":["one","two"],"n":2}'); // rewritten
    // a manifest that is not JSON is named too
    fs.writeFileSync(manifestPath, "{");
    expect(cachedJson("j", 1, "test", build, opts).status).toBe("built (unreadable manifest)");
    expect(logs[1]).toContain(`data cache "j": unreadable manifest (${manifestPath}: `);
    // a builder whose output does not pass the reader's check is an error naming the entry; nothing is written
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "ta-cache-"));
    expect(() =>
      cached("bad", 1, "test", () => Buffer.from("not json"), {
        dir: emptyDir,
        validate: (b) => JSON.parse(b.toString()),
      }),
    ).toThrow(/^data cache "bad": the freshly built payload cannot be read \(.*JSON.*\); nothing was written$/);
    expect(fs.readdirSync(emptyDir)).toEqual([]);
  });
});

describe("batches", () => {
  const ids = Int32Array.from({ length: 500 }, (_, i) => i % 97);

  it("causal LM: targets are the inputs shifted by one; the same seed gives the same batches", () => {
    const a = lmBatcher(ids, { batchSize: 3, seqLen: 7, seed: 1 }).next();
    const x = a.inputs.arraySync(),
      y = a.targets.arraySync();
    for (let r = 0; r < 3; r++) for (let t = 0; t < 7; t++) expect(y[r][t]).toBe((x[r][t] + 1) % 97);
    const b = lmBatcher(ids, { batchSize: 3, seqLen: 7, seed: 1 }).next();
    expect(b.inputs.arraySync()).toEqual(x);
    expect(() => lmBatcher(ids.slice(0, 5), { batchSize: 1, seqLen: 7 })).toThrow(/too few/);
    tf.dispose([a.inputs, a.targets, b.inputs, b.targets]);
  });

  it("pads token rows at the end to the longest, keeping the lengths; rejects no rows", () => {
    const { tokens, lengths } = padTokenRows([[4, 5], Int32Array.of(1, 2, 3), [7]], 9);
    expect(tokens.dtype).toBe("int32");
    expect(tokens.arraySync()).toEqual([
      [4, 5, 9],
      [1, 2, 3],
      [7, 9, 9],
    ]);
    expect(lengths).toEqual([2, 3, 1]);
    tokens.dispose();
    expect(() => padTokenRows([])).toThrow(/no rows/);
    expect(() => padTokenRows([[], []])).toThrow(/every row is empty/);
  });

  it("evaluation windows are non-overlapping and spread over the whole split (all of it, in order, when they all fit)", () => {
    const stream = Int32Array.from({ length: 1001 }, (_, i) => i); // 100 windows of 10
    const starts = (bs: ReturnType<typeof lmEvalBatches>) => bs.flatMap((b) => b.inputs.arraySync().map((row) => row[0]));
    const some = lmEvalBatches(stream, { batchSize: 2, seqLen: 10, maxBatches: 3 });
    expect(some.length).toBe(3);
    expect(starts(some)).toEqual([0, 160, 330, 500, 660, 830]); // windows ⌊j·100/6⌋, across the split, not its first 60 tokens
    expect(some[0].targets.arraySync()[0]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const all = lmEvalBatches(stream, { batchSize: 5, seqLen: 10 });
    expect(starts(all)).toEqual(Array.from({ length: 100 }, (_, j) => 10 * j));
    for (const b of [...some, ...all]) tf.dispose([b.inputs, b.targets]);
  });

  it("masked LM: ~15% selected; of those 80% [MASK], 10% random, 10% unchanged; targets are the originals", () => {
    const corpus = Int32Array.from({ length: 20_000 }, (_, i) => (i * 7) % 50);
    const batch = mlmBatcher(corpus, { batchSize: 64, seqLen: 100, maskId: 50, vocabSize: 50, seed: 3 }).next();
    const x = batch.inputs.dataSync(),
      y = batch.targets.dataSync(),
      w = batch.weights.dataSync();
    let selected = 0,
      masked = 0,
      same = 0;
    for (let i = 0; i < x.length; i++) {
      if (w[i] === 0) {
        expect(x[i]).toBe(y[i]);
        continue;
      }
      selected++;
      if (x[i] === 50) masked++;
      else if (x[i] === y[i]) same++;
    }
    expect(selected / x.length).toBeCloseTo(0.15, 1);
    expect(masked / selected).toBeCloseTo(0.8, 1);
    expect(same / selected).toBeGreaterThan(0.06);
    expect(same / selected).toBeLessThan(0.16); // 10% unchanged + 10%·(1/50) random hits
    expect(() => mlmBatcher(corpus, { batchSize: 1, seqLen: 10, maskId: 3, vocabSize: 50 })).toThrow(/outside the real vocabulary/);
  });
});
