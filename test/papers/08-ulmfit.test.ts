/**
 * ULMFiT pieces: the LSTM LM and classifier (shapes, concat pooling by hand, gradients), layer
 * groups, discriminative rates, gradual unfreezing (one more group per epoch, frozen weights
 * untouched), and the sentiment data's stratified, disjoint splits.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng } from "../../lib/engine/rng";
import { type LabelledSentence, labelSubset, loadSentiment, stratifiedSplit } from "../../lib/data/sentiment";
import { wordTokenizer } from "../../lib/data/tokenizers";
import { encodeSentences, sentenceBatch } from "../../lib/data/batches";
import { disposeParams, namedVariables, snapshotParams } from "../../lib/models/params";
import { initRnnLm, rnnEncode, rnnLmLogits } from "../../lib/models/lstm";
import {
  concatPool,
  discriminativeLrScale,
  evaluateRnnClassifier,
  initRnnClassifier,
  lmDiscriminativeLrScale,
  lmLayerGroup,
  rnnClassify,
  rnnGroupCount,
  rnnLayerGroup,
  trainRnnClassifier,
  trainRnnLm,
  unfrozenAt,
  transferEmbedding,
  transferLm,
  unknownRate,
  pooledFeatures,
  recalibrateBatchNorm,
  fitLinearProbe,
  probeError,
  chooseLinearProbe,
} from "../../lib/papers/08-ulmfit";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

const tiny = { vocabSize: 20, embedDim: 6, hiddenDim: 8, nLayers: 2, dropout: 0.2, seed: 1 };

describe("LSTM LM and classifier", () => {
  it("logits have shape [B, T, V]; the tied last layer is as wide as the embedding; dropout only with an rng", () => {
    const lm = initRnnLm(tiny);
    expect(lm.layers[1].wh.shape).toEqual([6, 24]);
    const x = tf.tensor2d(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [2, 3],
      "int32",
    );
    expect(rnnLmLogits(lm, x).shape).toEqual([2, 3, 20]);
    expect(Array.from(rnnLmLogits(lm, x).dataSync())).toEqual(Array.from(rnnLmLogits(lm, x).dataSync()));
    expect(Array.from(rnnLmLogits(lm, x, { rng: createRng(1) }).dataSync())).not.toEqual(Array.from(rnnLmLogits(lm, x).dataSync()));
    // Causal: changing the last token leaves the earlier positions' logits unchanged.
    const a = rnnLmLogits(lm, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")).arraySync()[0];
    const b = rnnLmLogits(lm, tf.tensor2d([[1, 2, 9]], [1, 3], "int32")).arraySync()[0];
    expect(a[1]).toEqual(b[1]);
    expect(a[2]).not.toEqual(b[2]);
  });

  it("concat pooling by hand: [last real; max; mean] over real tokens only", () => {
    const h = tf.tensor3d([
      [
        [1, -1],
        [3, 0],
        [100, 100],
      ],
      [
        [2, 2],
        [0, 4],
        [-1, 1],
      ],
    ]);
    const pooled = concatPool(h, [2, 3]).arraySync() as number[][];
    expect(pooled[0]).toEqual([3, 0, 3, 0, 2, -0.5]);
    expect(pooled[1].map((v) => +v.toFixed(6))).toEqual([-1, 1, 2, 4, 0.333333, 2.333333]);
    expect(() => concatPool(h, [0, 3])).toThrow(/row 0 has length 0/);
  });

  it("the head's batch norms: training uses batch statistics and moves the running ones by momentum 0.1; evaluation uses the running ones", () => {
    const clf = initRnnClassifier(initRnnLm({ ...tiny, dropout: 0 }), { classes: 2, seed: 5 }); // no dropout: the same features in both modes
    const x = tf.tensor2d(
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
      ],
      [3, 4],
      "int32",
    );
    const lengths = [4, 3, 2];
    const pooled = concatPool(rnnEncode(clf.encoder, x), lengths);
    const batchMean = tf.mean(pooled, 0).dataSync();
    const evalBefore = Array.from(rnnClassify(clf, x, lengths).dataSync());
    rnnClassify(clf, x, lengths, { rng: createRng(3) });
    Array.from(batchMean).forEach((m, i) => expect(clf.stats.bn1.mean[i]).toBeCloseTo(0.1 * m, 6));
    // Evaluation is deterministic and now uses the moved statistics.
    const evalAfter = Array.from(rnnClassify(clf, x, lengths).dataSync());
    expect(Array.from(rnnClassify(clf, x, lengths).dataSync())).toEqual(evalAfter);
    expect(evalAfter).not.toEqual(evalBefore);
  });

  it("every classifier parameter gets a gradient; the LM decoder bias is not part of the classifier", () => {
    const clf = initRnnClassifier(initRnnLm(tiny), { classes: 3, seed: 2 });
    const vars = namedVariables(clf);
    const x = tf.tensor2d(
      [
        [1, 2, 3, 0],
        [4, 5, 6, 7],
      ],
      [2, 4],
      "int32",
    );
    const { grads } = tf.variableGrads(
      () => tf.sum(rnnClassify(clf, x, [3, 4])) as tf.Scalar,
      [...vars.values()].filter((_, i) => [...vars.keys()][i] !== "encoder.decoderBias"),
    );
    for (const [name, v] of vars) {
      if (name === "encoder.decoderBias") continue;
      expect(tf.sum(tf.abs(grads[v.name])).dataSync()[0], name).toBeGreaterThan(0);
    }
  });
});

describe("ULMFiT training options", () => {
  const clf = () => initRnnClassifier(initRnnLm(tiny), { classes: 2, seed: 3 });

  it("LM fine-tuning groups: embedding 0, LSTM layer l at l + 1, the decoder with the top layer; scales 2.6^−(L − g)", () => {
    const lm = initRnnLm({ ...tiny, tieEmbeddings: false });
    const L = lm.layers.length;
    const names = [...namedVariables(lm).keys()];
    expect(names.map((n) => lmLayerGroup(n, L))).toEqual(
      names.map((n) => (n === "embedding" ? 0 : n.startsWith("layers.") ? Number(n.split(".")[1]) + 1 : L)),
    );
    const scale = lmDiscriminativeLrScale(lm);
    expect(scale("embedding")).toBeCloseTo(2.6 ** -L, 12);
    expect(scale(`layers.${L - 1}.wx`)).toBe(1);
    expect(scale("layers.0.wx")).toBeCloseTo(2.6 ** -(L - 1), 12);
    expect(scale("decoder")).toBe(1);
    expect(lmDiscriminativeLrScale(lm, 1)("embedding")).toBe(1);
    expect(() => lmLayerGroup("head.w1", L)).toThrow(/no layer group for "head.w1"/);
    expect(() => lmDiscriminativeLrScale(lm, 0.5)).toThrow(/factor must be ≥ 1/);
    disposeParams(lm);
  });

  it("sentence batches: padded with 0 to the longest sentence, lengths and labels kept", () => {
    const data = { ids: [Int32Array.of(5, 6, 7), Int32Array.of(8), Int32Array.of(9, 10)], labels: [1, 0, 1] };
    const b = sentenceBatch(data, [1, 0]);
    expect(b.tokens.arraySync()).toEqual([
      [8, 0, 0],
      [5, 6, 7],
    ]);
    expect(b.lengths).toEqual([1, 3]);
    expect(Array.from(b.labels.dataSync())).toEqual([0, 1]);
    tf.dispose([b.tokens, b.labels]);
  });

  it("layer groups: embedding 0, LSTM layers 1…L, head L + 1", () => {
    const c = clf();
    expect(rnnGroupCount(c)).toBe(4);
    expect(rnnLayerGroup("encoder.embedding")).toBe(0);
    expect(rnnLayerGroup("encoder.layers.1.wx")).toBe(2);
    expect(() => rnnLayerGroup("mystery")).toThrow(/no layer group/);
  });

  it("discriminative rates: head 1, top LSTM 1/2.6, next 1/2.6², embedding 1/2.6³", () => {
    const scale = discriminativeLrScale(clf());
    expect(scale("head.w1")).toBe(1);
    expect(scale("encoder.layers.1.wh")).toBeCloseTo(1 / 2.6, 12);
    expect(scale("encoder.layers.0.b")).toBeCloseTo(1 / 2.6 ** 2, 12);
    expect(scale("encoder.embedding")).toBeCloseTo(1 / 2.6 ** 3, 12);
    expect(discriminativeLrScale(clf(), 1)("encoder.embedding")).toBe(1);
  });

  it("gradual unfreezing: exactly one more group per epoch, from the top; frozen weights do not change", () => {
    const c = clf();
    expect(
      [0, 1, 2, 3, 4].map(
        (e) => ["head.w1", "encoder.layers.1.wx", "encoder.layers.0.wx", "encoder.embedding"].filter(unfrozenAt(c, e)).length,
      ),
    ).toEqual([1, 2, 3, 4, 4]);
    const items = Array.from({ length: 12 }, (_, i) => ({ text: i % 2 ? "good great fine" : "bad awful poor", label: i % 2 }));
    const tok = wordTokenizer(items.map((x) => x.text).join(" "), { maxVocab: 20 });
    const data = encodeSentences(tok, items, 5);
    const before = snapshotParams(c);
    let afterFirst = before;
    const res = trainRnnClassifier({
      params: c,
      data,
      epochs: 4,
      batchSize: 4,
      lr: 1e-2,
      gradualUnfreezing: true,
      seed: 1,
      onEpoch: (e) => {
        if (e === 0) afterFirst = snapshotParams(c);
      },
    });
    expect(res.trainableByEpoch[0].every((n) => n.startsWith("head."))).toBe(true);
    for (const [name, v] of before) {
      const changed = v.some((x, i) => x !== afterFirst.get(name)![i]);
      expect(changed, name).toBe(name.startsWith("head."));
    }
    // the embedding trains in the last epoch, once every group is unfrozen
    expect(res.trainableByEpoch[3]).toContain("encoder.embedding");
    expect(() => trainRnnClassifier({ params: c, data, epochs: 3, batchSize: 4, lr: 1e-2, gradualUnfreezing: true, seed: 1 })).toThrow(
      /gradual unfreezing of 4 layer groups needs at least 4 epochs/,
    );
    const more = trainRnnClassifier({
      params: c,
      data,
      epochs: 5,
      batchSize: 4,
      lr: 1e-2,
      gradualUnfreezing: true,
      stlr: true,
      discriminative: true,
      seed: 1,
    });
    expect(more.trainableByEpoch.map((names) => new Set(names.map((n) => rnnLayerGroup(n))).size)).toEqual([1, 2, 3, 4, 4]);
    // STLR over all 15 iterations: starts at lrMax/32 and peaks at lrMax at the cut (⌊15·0.1⌋ = 1).
    expect(Math.max(...more.lrs)).toBeCloseTo(1e-2, 12);
    expect(more.lrs[0]).toBeCloseTo(1e-2 / 32, 12);
  });

  it("a classifier learns a separable toy task; the LM loss falls; both deterministic", () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ text: i % 2 ? "good great fine day" : "bad awful poor day", label: i % 2 }));
    const tok = wordTokenizer(items.map((x) => x.text).join(" "), { maxVocab: 20 });
    const data = encodeSentences(tok, items, 6);
    const run = () => {
      const c = initRnnClassifier(initRnnLm({ ...tiny, vocabSize: tok.vocabSize }), { classes: 2, seed: 4 });
      const r = trainRnnClassifier({ params: c, data, epochs: 6, batchSize: 8, lr: 2e-2, seed: 2 });
      return { losses: r.losses, error: evaluateRnnClassifier(c, data).error };
    };
    const a = run(),
      b = run();
    expect(a.losses).toEqual(b.losses);
    expect(a.error).toBe(0);
    const ids = Int32Array.from({ length: 400 }, (_, i) => (i * 7) % 20);
    const lm = initRnnLm(tiny);
    const lmRun = trainRnnLm({
      params: lm,
      trainIds: ids,
      validIds: ids,
      steps: 60,
      lr: 3e-2,
      batchSize: 8,
      seqLen: 8,
      seed: 1,
      evalEvery: 60,
      evalBatches: 1,
    });
    expect(lmRun.valLosses[1]).toBeLessThan(lmRun.valLosses[0] - 0.5);
    // Discriminative rates in LM fine-tuning: a scale of 0 freezes the embedding.
    const embeddingBefore = Array.from(lm.embedding.dataSync());
    trainRnnLm({
      params: lm,
      trainIds: ids,
      validIds: ids,
      steps: 3,
      lr: 1e-2,
      batchSize: 8,
      seqLen: 8,
      seed: 2,
      evalEvery: 3,
      evalBatches: 1,
      lrScale: (name) => (name === "embedding" ? 0 : 1),
    });
    expect(Array.from(lm.embedding.dataSync())).toEqual(embeddingBefore);
    const clf = initRnnClassifier(lm, { classes: 2 });
    const good = { params: clf, data, epochs: 1, batchSize: 8, lr: 1e-2, seed: 1 };
    // options are checked like configs (issue 24, item 9)
    expect(() => trainRnnClassifier({ ...good, epochs: 0 })).toThrow("trainRnnClassifier.epochs: expected an integer ≥ 1, got 0");
    expect(() => trainRnnClassifier({ ...good, batchSize: 0 })).toThrow("trainRnnClassifier.batchSize: expected an integer ≥ 1, got 0");
    expect(() => trainRnnClassifier({ ...good, stlr: "yes" } as never)).toThrow(
      'trainRnnClassifier.stlr: expected true or false, got "yes"',
    );
    expect(() => trainRnnClassifier({ ...good, discriminative: -2 })).toThrow(
      "trainRnnClassifier.discriminative: expected true or false or a number > 0, got -2",
    );
    expect(() => trainRnnClassifier({ ...good, gradual_unfreezing: true } as never)).toThrow(
      /trainRnnClassifier: unknown field "gradual_unfreezing" \(did you mean "gradualUnfreezing"\?\)/,
    );
    const lmGood = {
      params: lm,
      trainIds: ids,
      validIds: ids,
      steps: 1,
      lr: 1e-3,
      batchSize: 2,
      seqLen: 5,
      seed: 1,
      evalEvery: 1,
      evalBatches: 1,
    };
    expect(() => trainRnnLm({ ...lmGood, batchSize: 0 })).toThrow("trainRnnLm.batchSize: expected an integer ≥ 1, got 0");
    expect(() => trainRnnLm({ ...lmGood, lr: "1e-3" } as never)).toThrow(
      'trainRnnLm.lr: expected a number ≥ 0 or a function (step) => learning rate, got "1e-3"',
    );
    expect(() => trainRnnLm({ ...lmGood, budgetSeconds: -5 })).toThrow("trainRnnLm.budgetSeconds: expected a number > 0, got -5");
  });
});

describe("sentiment data", () => {
  it("3,000 balanced sentences; stratified splits are disjoint, cover everything and keep the balance", () => {
    const items = loadSentiment();
    expect(items.length).toBe(3000);
    const split = stratifiedSplit(items, { valid: 0.1, test: 0.2, seed: 1 });
    const key = (x: LabelledSentence) => `${x.source}:${x.index}`;
    const sets = [split.train, split.valid, split.test].map((s) => new Set(s.map(key)));
    expect(sets[0].size + sets[1].size + sets[2].size).toBe(3000);
    expect(new Set([...sets[0], ...sets[1], ...sets[2]]).size).toBe(3000);
    expect(split.test.length).toBe(600);
    for (const source of ["imdb", "yelp", "amazon"])
      for (const label of [0, 1]) {
        expect(split.test.filter((x) => x.source === source && x.label === label).length).toBe(100);
      }
    expect(stratifiedSplit(items, { valid: 0.1, test: 0.2, seed: 1 }).test.map(key)).toEqual(split.test.map(key));
    expect(stratifiedSplit(items, { valid: 0.1, test: 0.2, seed: 2 }).test.map(key)).not.toEqual(split.test.map(key));
    const hundred = labelSubset(split.train, 100, 3);
    expect(hundred.length).toBe(100);
    expect(hundred.filter((x) => x.label === 1).length).toBe(50);
    expect(hundred.every((x) => sets[0].has(key(x)))).toBe(true);
    expect(() => labelSubset(split.train, 0, 1)).toThrow(/n must be an integer/);
    expect(() => stratifiedSplit(items, { valid: 0.5, test: 0.5, seed: 1 })).toThrow(/valid \+ test < 1/);
  });
});

describe("vocabulary transfer (ULMFiT: the target's vocabulary, the LM's rows, new words at the mean)", () => {
  it("keeps known words' rows, gives new words the mean row, and reports the unknown rate (hand-computed)", () => {
    const source = wordTokenizer("the cat sat . the cat", { maxVocab: 5 }); // <unk> <eos> cat the . ("." before "sat" on the tie)
    const target = wordTokenizer("the food was awful . awful", { maxVocab: 5 });
    const rows = Array.from({ length: source.vocabSize }, (_, i) => [i, 10 * i]);
    const emb = tf.tensor2d(rows);
    const t = transferEmbedding(emb, source, target);
    const got = t.embedding.arraySync();
    const mean = [0, 1].map((j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    for (let id = 0; id < target.vocabSize; id++) {
      const w = target.token(id);
      const s = Array.from({ length: source.vocabSize }, (_, k) => source.token(k)).indexOf(w);
      expect(got[id], w).toEqual(s >= 0 ? rows[s] : mean);
    }
    expect(t.known.map((id) => target.token(id))).toEqual(expect.arrayContaining(["<unk>", "<eos>"]));
    expect(t.fresh.map((id) => target.token(id))).toContain("awful");
    expect(t.known.length + t.fresh.length).toBe(target.vocabSize);
    expect(unknownRate(source, "the food was awful . awful")).toBeCloseTo(4 / 6, 12); // food, was, awful, awful
    // the target keeps 3 words: "awful" (twice), then ties broken alphabetically: "." and "food"; "the" and "was" fall off
    expect(unknownRate(target, "the food was awful . awful")).toBeCloseTo(2 / 6, 12);
    expect(() => transferEmbedding(tf.zeros([3, 2]), source, target)).toThrow(/must be \[5, E\]/);
    expect(() => unknownRate(source, "")).toThrow(/no tokens/);
    tf.dispose([emb, t.embedding]);
  });
});

describe("the pretrained LM in the target vocabulary, batch-norm recalibration and the linear probe", () => {
  it("transferLm copies the LSTM layers, carries known rows of the embedding and bias over, gives new words the means", () => {
    const source = wordTokenizer("the cat sat . the cat", { maxVocab: 5 });
    const target = wordTokenizer("the food was awful . awful", { maxVocab: 5 });
    const lm = initRnnLm({ ...tiny, vocabSize: source.vocabSize });
    lm.decoderBias.assign(tf.tensor1d([0, 1, 2, 3, 4]));
    const { params, fresh, known } = transferLm(lm, source, target);
    expect(params.embedding.shape).toEqual([target.vocabSize, tiny.embedDim]);
    const sourceIds = Array.from({ length: source.vocabSize }, (_, i) => source.token(i));
    const bias = Array.from(params.decoderBias.dataSync());
    for (let id = 0; id < target.vocabSize; id++) {
      const s = sourceIds.indexOf(target.token(id));
      expect(bias[id]).toBeCloseTo(s >= 0 ? s : 2, 6); // the mean of 0…4 is 2
      expect(fresh.includes(id)).toBe(s < 0);
    }
    expect(known.length + fresh.length).toBe(target.vocabSize);
    lm.layers.forEach((layer, l) => expect(Array.from(params.layers[l].wh.dataSync())).toEqual(Array.from(layer.wh.dataSync())));
    // fresh variables: training the copy leaves the source alone
    params.layers[0].wh.assign(tf.zerosLike(params.layers[0].wh));
    expect(lm.layers[0].wh.dataSync().some((x) => x !== 0)).toBe(true);
    expect(() => transferLm(initRnnLm({ ...tiny, vocabSize: 5, tieEmbeddings: false }), source, target)).toThrow(
      /must have its decoder tied/,
    );
    disposeParams([lm, params]);
  });

  it("recalibrateBatchNorm sets the running statistics to the exact mean and unbiased variance over the data", () => {
    const items = Array.from({ length: 9 }, (_, i) => ({ text: ["good day", "bad awful day", "fine"][i % 3], label: i % 2 }));
    const tok = wordTokenizer(items.map((x) => x.text).join(" "), { maxVocab: 20 });
    const data = encodeSentences(tok, items, 5);
    const c = initRnnClassifier(initRnnLm({ ...tiny, vocabSize: tok.vocabSize }), { classes: 2, seed: 2 });
    const before = tf.memory().numTensors;
    recalibrateBatchNorm(c, data, 4); // batches of 4, 4, 1: the statistics are over all 9 sentences
    expect(tf.memory().numTensors).toBe(before);
    const pooled = pooledFeatures(c.encoder, data, 2);
    expect(() => pooledFeatures(c.encoder, data, 0)).toThrow("pooledFeatures.batchSize: expected an integer ≥ 1, got 0"); // not an endless loop
    expect(() => recalibrateBatchNorm(c, data, -4)).toThrow("pooledFeatures.batchSize: expected an integer ≥ 1, got -4");
    expect(pooled.length).toBe(9);
    const k = 5;
    const m = pooled.reduce((a, r) => a + r[k], 0) / 9;
    const v = pooled.reduce((a, r) => a + (r[k] - m) ** 2, 0) / 8;
    expect(c.stats.bn1.mean[k]).toBeCloseTo(m, 5);
    expect(c.stats.bn1.variance[k]).toBeCloseTo(v, 5);
    // after recalibration the evaluation-mode normalised features have mean 0 over the data
    const normalised = pooled.map((r) => (r[k] - c.stats.bn1.mean[k]) / Math.sqrt(c.stats.bn1.variance[k] + 1e-5));
    expect(Math.abs(normalised.reduce((a, b) => a + b, 0) / 9)).toBeLessThan(1e-5);
    expect(c.stats.bn2.variance.every((x) => x >= 0)).toBe(true);
    disposeParams(c);
  });

  it("the linear probe separates a separable task, fails on permuted labels, and picks its penalty on validation", () => {
    const rng = createRng(3);
    const make = (n: number) => {
      const x = Array.from({ length: n }, () => Array.from({ length: 6 }, () => rng.normal()));
      return { x, y: x.map((r) => (r[0] + 0.5 * r[1] > 0 ? 1 : 0)) };
    };
    const train = make(200),
      valid = make(200);
    const probe = fitLinearProbe(train.x, train.y, { classes: 2, l2: 1e-4 });
    expect(probeError(probe, valid.x, valid.y)).toBeLessThan(0.05);
    const permuted = { x: train.x, y: createRng(4).shuffle([...train.y]) };
    const control = fitLinearProbe(permuted.x, permuted.y, { classes: 2, l2: 1e-4 });
    expect(probeError(control, valid.x, valid.y)).toBeGreaterThan(0.3);
    const chosen = chooseLinearProbe(train, valid, { classes: 2, l2s: [10, 1e-4] });
    expect(chosen.scores.map((s) => s.l2)).toEqual([1e-4, 10]);
    expect(chosen.probe.l2).toBe(chosen.scores.reduce((a, b) => (b.validError < a.validError ? b : a)).l2);
    expect(() => fitLinearProbe(train.x, [1, 2], { classes: 2, l2: 0 })).toThrow(/200 feature rows for 2 labels/);
    expect(() => fitLinearProbe([[1]], [2], { classes: 2, l2: 0 })).toThrow(/label 2 is not one of 0…1/);
  });

  it("Adam's betas reach the optimizer; validation is scored after every epoch", () => {
    const items = Array.from({ length: 16 }, (_, i) => ({ text: i % 2 ? "good great" : "bad awful", label: i % 2 }));
    const tok = wordTokenizer(items.map((x) => x.text).join(" "), { maxVocab: 20 });
    const data = encodeSentences(tok, items, 4);
    const run = (adam?: { beta1: number; beta2: number }) => {
      const c = initRnnClassifier(initRnnLm({ ...tiny, vocabSize: tok.vocabSize }), { classes: 2, seed: 4 });
      const r = trainRnnClassifier({ params: c, data, validation: data, epochs: 2, batchSize: 8, lr: 1e-2, seed: 2, adam });
      disposeParams(c);
      return r;
    };
    const paper = run({ beta1: 0.7, beta2: 0.99 });
    expect(paper.validationByEpoch.length).toBe(2);
    expect(paper.validationByEpoch.every((v) => v.error >= 0 && v.error <= 1 && v.loss > 0)).toBe(true);
    expect(paper.losses[0]).toBe(run().losses[0]); // the first loss is before any update
    expect(paper.losses[3]).not.toBe(run().losses[3]);
  });
});
