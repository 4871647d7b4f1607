/** Sentence-trajectory curvature (Hosseini & Fedorenko 2023), surprisal, module ablation, Brown sentences. */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng, normalArray } from "../../lib/engine/rng";
import { initRnnLm, rnnEncode } from "../../lib/models/lstm";
import { disposeParams } from "../../lib/models/params";
import { initTransformer, transformerConfig, transformerForward } from "../../lib/models/transformer";
import {
  curvatureByLayer,
  curvatureChange,
  curvatureProfile,
  layerUpdateRatios,
  lstmStates,
  repetitionRate,
  sentenceRows,
  shuffleTokens,
  sentenceSurprisal,
  trajectoryCurvature,
  transformerStates,
} from "../../lib/papers/10-sentence-curvature";
import { brownSentences } from "../../lib/data/brown";
import { wordTokenizer } from "../../lib/data/tokenizers";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("trajectoryCurvature", () => {
  it("straight line 0°, zigzag 180°, right-angle turn 90°", () => {
    expect(
      trajectoryCurvature([
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    ).toBeCloseTo(0, 6);
    expect(
      trajectoryCurvature([
        [0, 0],
        [1, 0],
        [0, 0],
        [1, 0],
      ]),
    ).toBeCloseTo(180, 6);
    expect(
      trajectoryCurvature([
        [0, 0],
        [1, 0],
        [1, 1],
      ]),
    ).toBeCloseTo(90, 10);
    // Mixed: 90° then 0° → mean 45°.
    expect(
      trajectoryCurvature([
        [0, 0],
        [1, 0],
        [1, 1],
        [1, 2],
      ]),
    ).toBeCloseTo(45, 10);
  });

  it("≈ 120° for i.i.d. Gaussian states in high dimension", () => {
    const d = 400,
      t = 60;
    const a = normalArray(createRng(3), t * d);
    const states = Array.from({ length: t }, (_, i) => Array.from(a.subarray(i * d, (i + 1) * d)));
    expect(Math.abs(trajectoryCurvature(states) - 120)).toBeLessThan(2);
  });

  it("is invariant to scaling and translation; accepts tensors; skips zero-length steps", () => {
    const s = [
      [0, 1, 2],
      [1, 3, 2],
      [4, 3, 0],
      [2, 2, 2],
      [5, 0, 1],
    ];
    const base = trajectoryCurvature(s);
    expect(trajectoryCurvature(s.map((r) => r.map((v) => 3.5 * v + 7)))).toBeCloseTo(base, 10);
    expect(trajectoryCurvature(tf.tensor2d(s))).toBeCloseTo(base, 4);
    // A repeated state adds a zero step: the angles touching it are skipped, the rest kept.
    expect(
      trajectoryCurvature([
        [0, 0],
        [1, 0],
        [1, 0],
        [1, 1],
        [1, 2],
      ]),
    ).toBeCloseTo(0, 10);
    expect(() =>
      trajectoryCurvature([
        [0, 0],
        [1, 1],
      ]),
    ).toThrow(/at least 3 rows/);
    expect(() =>
      trajectoryCurvature([
        [1, 1],
        [1, 1],
        [1, 1],
      ]),
    ).toThrow(/no two consecutive non-zero steps/);
  });

  it("per layer and sentence, respecting lengths", () => {
    const layer = tf.tensor3d([
      [
        [0, 0],
        [1, 0],
        [1, 1],
        [9, 9],
      ],
      [
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    ]);
    const c = curvatureByLayer([layer], [3, 4]);
    expect(c[0][0]).toBeCloseTo(90, 6);
    expect(c[0][1]).toBeCloseTo(0, 6);
  });
});

describe("surprisal and ablation", () => {
  it("surprisal of uniform logits is ln V per token; padding is ignored", () => {
    const logits = tf.zeros([2, 4, 5]);
    const tokens = tf.tensor2d(
      [
        [1, 2, 3, 4],
        [0, 1, 0, 0],
      ],
      [2, 4],
      "int32",
    );
    const s = sentenceSurprisal(logits, tokens, [4, 2]);
    expect(s[0]).toBeCloseTo(Math.log(5), 6);
    expect(s[1]).toBeCloseTo(Math.log(5), 6);
  });
});

describe("curvature profiles over sentences of different lengths", () => {
  const rows = [
    Int32Array.of(1, 2, 3, 4, 5, 6),
    Int32Array.of(3, 1, 4, 1, 5),
    Int32Array.of(2, 7, 1, 8, 2, 8, 1),
    Int32Array.of(9, 9, 8, 7),
  ];

  it("batching does not change a sentence's curvature (padding never enters it); one row per layer", () => {
    const params = initTransformer(
      transformerConfig({ vocabSize: 11, seqLen: 8, dModel: 8, nHeads: 2, nLayers: 2, dFF: 16, initStd: 0.3, seed: 5 }),
    );
    const alone = rows.map((r) => curvatureProfile([r], 1, transformerStates(params))); // also caches the causal masks
    const before = tf.memory().numTensors;
    const together = curvatureProfile(rows, 4, transformerStates(params));
    expect(tf.memory().numTensors).toBe(before);
    expect(together.length).toBe(3); // embeddings + 2 blocks
    together.forEach((layer, l) => layer.forEach((c, i) => expect(c).toBeCloseTo(alone[i][l][0], 3)));
    // By hand for one sentence: the curvature of its captured states.
    const x = tf.tensor2d([Array.from(rows[1])], [1, 5], "int32");
    const { logits, hidden } = transformerForward(params, x, { captureHidden: true });
    expect(together[2][1]).toBeCloseTo(trajectoryCurvature((hidden![2].arraySync() as number[][][])[0]), 3);
    expect(() => curvatureProfile(rows, 0, transformerStates(params))).toThrow(/batchSize must be a positive integer/);
    tf.dispose([x, logits, ...hidden!]);
    disposeParams(params);
  });

  it("LSTM states: the embeddings, then each layer's outputs (the last equals rnnEncode)", () => {
    const lm = initRnnLm({ vocabSize: 11, embedDim: 6, hiddenDim: 10, nLayers: 2, dropout: 0, seed: 2 });
    const x = tf.tensor2d(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [2, 3],
      "int32",
    );
    const states = lstmStates(lm)(x);
    expect(states.map((s) => s.shape)).toEqual([
      [2, 3, 6],
      [2, 3, 10],
      [2, 3, 6],
    ]);
    const last = rnnEncode(lm, x);
    expect(Array.from(states[2].dataSync())).toEqual(Array.from(last.dataSync()));
    expect(Array.from(states[0].dataSync()).slice(0, 6)).toEqual(Array.from(lm.embedding.dataSync()).slice(6, 12)); // token 1's row
    tf.dispose([x, last, ...states]);
    disposeParams(lm);
  });
});

describe("Brown sentences", () => {
  it("a seeded sample within the length bounds", () => {
    const a = brownSentences({ count: 50, minLength: 20, maxLength: 60, seed: 1, genres: ["news"] });
    expect(a.length).toBe(50);
    expect(a.every((s) => s.length >= 20 && s.length <= 60)).toBe(true);
    expect(brownSentences({ count: 50, minLength: 20, maxLength: 60, seed: 1, genres: ["news"] })).toEqual(a);
    expect(() => brownSentences({ count: 10 ** 7, minLength: 20, maxLength: 60, seed: 1 })).toThrow(/asked for/);
  });
});

describe("held-out sentences, controls and changes", () => {
  it("sentenceRows keeps lines within the token and <unk> bounds, seeded; shuffleTokens keeps each row's tokens", () => {
    const tok = wordTokenizer("the cat sat on the mat . a dog ran", { maxVocab: 12 });
    const text = ["the cat sat .", "the cat sat on the mat .", "a zebra sat on the mat .", "a zebra and a yak sat .", "the dog"].join("\n");
    const rows = sentenceRows(text, tok, { count: 2, minTokens: 4, maxTokens: 7, maxUnknown: 1, seed: 3 });
    // eligible: lines 1–3 (line 4 has 3 unknown words, line 5 two tokens)
    const eligible = ["the cat sat .", "the cat sat on the mat .", "a <unk> sat on the mat ."];
    const decoded = rows.map((r) => tok.decode(r));
    expect(new Set(decoded).size).toBe(2);
    for (const d of decoded) expect(eligible).toContain(d);
    expect(sentenceRows(text, tok, { count: 2, minTokens: 4, maxTokens: 7, maxUnknown: 1, seed: 3 })).toEqual(rows);
    expect(
      sentenceRows(text, tok, { count: 3, minTokens: 4, maxTokens: 7, maxUnknown: 1, seed: 9 })
        .map((r) => tok.decode(r))
        .sort(),
    ).toEqual([...eligible].sort());
    expect(() => sentenceRows(text, tok, { count: 4, minTokens: 4, maxTokens: 7, maxUnknown: 1, seed: 3 })).toThrow(
      /only 3 lines have 4–7 tokens with ≤ 1 unknown/,
    );
    const shuffled = shuffleTokens(rows, 5);
    shuffled.forEach((r, i) => expect(Array.from(r).sort()).toEqual(Array.from(rows[i]).sort()));
    expect(shuffled.some((r, i) => r.join() !== rows[i].join())).toBe(true);
    const inner = shuffleTokens([Int32Array.from([9, 1, 2, 3, 4, 5, 6, 7])], 2, { keepEnds: true })[0];
    expect([inner[0], inner[7]]).toEqual([9, 7]);
    expect(Array.from(inner.slice(1, 7)).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(inner.slice(1, 7))).not.toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("curvatureChange subtracts the reference layer per sentence; repetitionRate counts repeats from a position", () => {
    expect(
      curvatureChange(
        [
          [120, 110],
          [100, 90],
          [95, 100],
        ],
        1,
      ),
    ).toEqual([
      [20, 20],
      [0, 0],
      [-5, 10],
    ]);
    expect(() => curvatureChange([[1]], 1)).toThrow(/reference layer 1 is not one of 0…0/);
    // row 1: positions 2, 3, 4 → 3 (seen), 1 (seen), 9 (new); row 2: 5 (new), 5 (seen), 7 (new)
    expect(
      repetitionRate(
        [
          [1, 3, 3, 1, 9],
          [4, 6, 5, 5, 7],
        ],
        2,
      ),
    ).toBeCloseTo(3 / 6, 12);
  });

  it("layerUpdateRatios: ‖x_l − x_{l−1}‖ / ‖x_{l−1}‖ over real tokens only", () => {
    const x0 = tf.tensor3d([
      [
        [3, 4],
        [1, 0],
        [100, 100],
      ],
    ]); // third token is padding
    const x1 = tf.tensor3d([
      [
        [3, 4],
        [1, 1],
        [0, 0],
      ],
    ]);
    const x2 = tf.tensor3d([
      [
        [6, 8],
        [2, 2],
        [5, 5],
      ],
    ]);
    const r = layerUpdateRatios([x0, x1, x2], [2]);
    expect(r[0]).toBeCloseTo((0 + 1) / 2, 6);
    expect(r[1]).toBeCloseTo((1 + 1) / 2, 6);
    tf.dispose([x0, x1, x2]);
  });
});
