/**
 * Checkpoints: the safetensors layout byte by byte, float16 rounding, deterministic training of a
 * recipe (same seed and threads → the same bytes), and a loader that refuses missing, corrupted
 * or mismatched files with an error naming the file and how to rebuild it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, fromFloat16Bits, toFloat16Bits } from "../lib/data/safetensors";
import { sha256 } from "../lib/data/cache";
import { ready } from "../lib/engine";
import { disposeParams, namedVariables } from "../lib/models/params";
import type { RnnLmParams } from "../lib/models/lstm";
import { checkpointValLoss, loadCheckpoint, pretrained, pretrainedLstm, saveCheckpoint, trainRecipe } from "../lib/pretrain/checkpoints";
import { RECIPES, recipe } from "../lib/pretrain/recipes";
import { loadStudy, saveStudy } from "../lib/pretrain/studies";
import { GMLP_MLM_STUDY, MLM_ARMS } from "../lib/papers/03-gmlp";
import { JOMA_LM_FAST_STUDY, JOMA_LM_STUDY } from "../lib/papers/04-joma";
import { LINEAR_COSINE_STUDY } from "../lib/papers/05-secretly-linear";
import { FWP_CAPACITY_STUDY, FWP_OVERWRITE_STUDY, capacityOf, trainFwpPoint } from "../lib/papers/07-fast-weights/study";
import { RUNGS, ULMFIT_STUDY, validationScore } from "../lib/papers/08-ulmfit";

beforeAll(async () => {
  await ready({ backend: "wasm", quiet: true });
});

describe("safetensors", () => {
  it("lays out the header and data as the format says (parsed by hand)", () => {
    const bytes = encodeSafetensors(
      new Map([
        ["b", { shape: [2], data: Float32Array.of(1.5, -2) }],
        ["a", { shape: [1, 1], data: Float32Array.of(3) }],
      ]),
      { metadata: { format: "pt" } },
    );
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
    expect(header).toEqual({
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [1, 1], data_offsets: [0, 4] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    });
    expect([view.getFloat32(8 + n, true), view.getFloat32(12 + n, true), view.getFloat32(16 + n, true)]).toEqual([3, 1.5, -2]);
    expect(bytes.length).toBe(8 + n + 12);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: "pt" });
    expect(Array.from(back.tensors.get("b")?.data ?? [])).toEqual([1.5, -2]);
    expect(() => encodeSafetensors(new Map([["x", { shape: [3], data: new Float32Array(2) }]]))).toThrow(
      /"x" has shape \[3\] \(3 values\) but 2 values/,
    );
    expect(() => decodeSafetensors(bytes.subarray(0, 20), "f.safetensors")).toThrow(/f.safetensors: the header claims/);
  });

  it("float16: exact for representable values, nearest-even otherwise, Inf past 65504", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0, 0],
      [0.1, 0x2e66],
      [Infinity, 0x7c00],
    ];
    for (const [x, bits] of cases) expect(toFloat16Bits(x), String(x)).toBe(bits);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway: rounds to even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Math.abs(fromFloat16Bits(toFloat16Bits(1e-5)) - 1e-5)).toBeLessThanOrEqual(2 ** -25); // subnormal: absolute error
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    for (const x of [0.3333, -17.25, 1e-3, 1234.5])
      expect(Math.abs(fromFloat16Bits(toFloat16Bits(x)) - x) / Math.abs(x)).toBeLessThan(2 ** -10);
    const bytes = encodeSafetensors(new Map([["w", { shape: [3], data: Float32Array.of(1, 0.1, -3.5) }]]), { dtype: "F16" });
    const w = decodeSafetensors(bytes).tensors.get("w");
    expect(w?.dtype).toBe("F16");
    expect(Array.from(w?.data ?? [])).toEqual([1, fromFloat16Bits(0x2e66), -3.5]);
  });
});

describe("recipes and checkpoints", () => {
  const tiny = recipe("tiny-char");

  it("a recipe trained twice with the same seed and threads gives identical bytes; it beats its unigram baseline", () => {
    const a = trainRecipe(tiny),
      b = trainRecipe(tiny);
    for (const [file, f] of a.files)
      expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(b.files.get(file)?.bytes ?? [])), file).toBe(0);
    expect([...a.files.keys()].sort()).toEqual(["model.safetensors", "step-50.safetensors"]);
    expect(a.manifest.validation.steps).toEqual([0, 50, 100]);
    expect(a.manifest.finalValLoss).toBeLessThan(a.manifest.baselines.unigram);
    expect(a.manifest.tokensSeen).toBe(100 * 8 * 32);
    disposeParams([a.params, b.params]);
  });

  it("saves and loads back the same weights (and the trajectory); refuses missing, corrupted and mismatched files", () => {
    const trained = trainRecipe(tiny);
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ta-ckpt-")), "tiny-char");
    saveCheckpoint(trained, dir);
    const loaded = loadCheckpoint("tiny-char", { dir });
    for (const [name, v] of namedVariables(loaded.params)) {
      expect(Array.from(v.dataSync()), name).toEqual(Array.from(namedVariables(trained.params).get(name)?.dataSync() ?? []));
    }
    expect(checkpointValLoss(loaded)).toBeCloseTo(trained.manifest.finalValLoss, 4);
    const early = loadCheckpoint("tiny-char", { dir, step: 50 });
    expect(checkpointValLoss(early)).toBeGreaterThan(checkpointValLoss(loaded));
    expect(() => loadCheckpoint("tiny-char", { dir, step: 7 })).toThrow(/no weights saved at step 7; saved steps: 50 and the final model/);
    // corrupted tensor file
    const model = path.join(dir, "model.safetensors");
    const bytes = fs.readFileSync(model);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(model, bytes);
    expect(() => loadCheckpoint("tiny-char", { dir })).toThrow(
      /model.safetensors is corrupted \(its SHA-256 does not match the manifest\); rebuild it with `npm run pretrain -- tiny-char`/,
    );
    // a recipe that changed since training
    const manifestFile = path.join(dir, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    manifest.recipe.steps = 41;
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(() => loadCheckpoint("tiny-char", { dir })).toThrow(
      /trained with a different recipe than lib\/pretrain\/recipes.ts now holds; rebuild it/,
    );
    // nothing there
    fs.rmSync(dir, { recursive: true });
    expect(() => loadCheckpoint("tiny-char", { dir })).toThrow(/manifest.json is missing; rebuild it with `npm run pretrain -- tiny-char`/);
    expect(() => loadCheckpoint("no-such-recipe", { dir })).toThrow(/unknown recipe "no-such-recipe"; recipes: tiny-char, word-gpt/);
    disposeParams([trained.params, loaded.params, early.params]);
  });

  it("smoke mode trains the recipe's tiny variant on the fly, with its trajectory", () => {
    expect(Object.keys(RECIPES)).toContain("word-gpt");
    const before = tf.memory().numTensors;
    const m = pretrained("word-gpt", { smoke: true });
    const start = pretrained("word-gpt", { smoke: true, step: 0 });
    expect(m.params.config.nLayers).toBe(2);
    expect(m.tokenizer.vocabSize).toBe(500);
    expect(checkpointValLoss(start)).toBeGreaterThan(checkpointValLoss(m));
    disposeParams([m.params, start.params]);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2); // at most cached masks
  });
});

describe("an LSTM recipe", () => {
  it("trains the tied LSTM with dropout deterministically and loads its weights back; each loader refuses the other kind of model", () => {
    const r = recipe("word-lstm", { smoke: true });
    const a = trainRecipe(r),
      b = trainRecipe(r);
    for (const [file, f] of a.files)
      expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(b.files.get(file)?.bytes ?? [])), file).toBe(0);
    const p = a.params as RnnLmParams;
    expect(p.decoder).toBeUndefined(); // tied
    expect(p.layers.length).toBe(2);
    expect([...namedVariables(p).keys()]).toEqual([
      "embedding",
      ...[0, 1].flatMap((l) => ["wx", "wh", "b"].map((w) => `layers.${l}.${w}`)),
      "decoderBias",
    ]);
    expect(a.manifest.tokensSeen).toBe(r.steps * r.batchSize * 16);
    expect(a.manifest.validation.steps).toEqual([0, 3, 6]);
    // the weights moved (dropout does not stop training), and validation fell from the start
    expect(a.manifest.validation.losses[2]).toBeLessThan(a.manifest.validation.losses[0]);
    const m = pretrainedLstm("word-lstm", { smoke: true });
    // stored as float16: each weight within half a unit in the last place (relative 2^−11) of the trained one
    for (const [name, v] of namedVariables(m.params)) {
      const trained = namedVariables(a.params).get(name)?.dataSync() ?? [];
      const loaded = v.dataSync();
      expect(loaded.length, name).toBe(trained.length);
      for (let i = 0; i < loaded.length; i++)
        expect(Math.abs(loaded[i] - trained[i]), name).toBeLessThanOrEqual(2 ** -11 * Math.abs(trained[i]) + 1e-7);
    }
    expect(checkpointValLoss(m)).toBeCloseTo(a.manifest.finalValLoss, 2);
    const start = pretrainedLstm("word-lstm", { smoke: true, step: 0 });
    expect(checkpointValLoss(start)).toBeGreaterThan(checkpointValLoss(m));
    expect(() => pretrained("word-lstm", { smoke: true })).toThrow(/"word-lstm" is an LSTM; load it with pretrainedLstm/);
    expect(() => pretrainedLstm("word-gpt", { smoke: true })).toThrow(/"word-gpt" is a transformer; load it with pretrained/);
    disposeParams([a.params, b.params, m.params, start.params]);
  });
});

describe("pretrained studies", () => {
  const study = { name: "toy-study", description: "a toy", full: { steps: 3, rates: [1, 2] } };
  const tmpDir = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ta-study-")), "toy-study");

  it("saves a result with its manifest and loads it back, checking checksum and configuration", () => {
    const dir = tmpDir();
    const result = { losses: [1.5, 1.25], chosen: 2 };
    saveStudy(study, result, 12.5, dir);
    const back = loadStudy<typeof result>(study, dir);
    expect(back.result).toEqual(result);
    expect(back.manifest).toMatchObject({ name: "toy-study", kind: "study", seconds: 12.5, config: study.full });
    expect(back.manifest.files[0].bytes).toBe(fs.statSync(path.join(dir, "study.json")).size);
    expect(() => loadStudy({ ...study, full: { steps: 4, rates: [1, 2] } }, dir)).toThrow(/was run with another configuration/);
    fs.appendFileSync(path.join(dir, "study.json"), " ");
    expect(() => loadStudy(study, dir)).toThrow(/does not match its manifest's checksum/);
    expect(() => loadStudy(study, tmpDir())).toThrow(/manifest.json is missing; run `npm run pretrain -- toy-study`/);
    // the commit the study ran is the one given (taken before the run), not the code at save time
    const dir2 = tmpDir();
    saveStudy(study, result, 1, dir2, "0123456789abcdef0123456789abcdef01234567");
    expect(loadStudy(study, dir2).manifest.commit).toBe("0123456789abcdef0123456789abcdef01234567");
  });

  it("a study file that matches its manifest's checksum but is not valid JSON is named (issue 24, item 18)", () => {
    const dir = tmpDir();
    saveStudy(study, { losses: [1] }, 1, dir);
    const file = path.join(dir, "study.json");
    const manifestFile = path.join(dir, "manifest.json");
    const truncated = '{"losses":[1';
    fs.writeFileSync(file, truncated);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    manifest.files[0].sha256 = sha256(truncated);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(() => loadStudy(study, dir)).toThrow(`loadStudy: ${file} is not valid JSON (`);
    expect(() => loadStudy(study, dir)).toThrow(/\); rerun `npm run pretrain -- toy-study`$/);
    fs.writeFileSync(manifestFile, "{");
    expect(() => loadStudy(study, dir)).toThrow(`loadStudy: ${manifestFile} is not valid JSON (`);
    fs.writeFileSync(manifestFile, "[]");
    expect(() => loadStudy(study, dir)).toThrow(`loadStudy: ${manifestFile} is not a study manifest (no list of files)`);
  });

  it("the gMLP masked-LM study (smoke variant): each arm's rate seed at every rate tried, the best by validation, fresh seeds at it", () => {
    const cfg = GMLP_MLM_STUDY.smoke;
    expect(cfg.seeds).not.toContain(cfg.rateSeed);
    const before = tf.memory().numTensors;
    const seen: string[] = [];
    const r = GMLP_MLM_STUDY.run(cfg, { progress: (done, total) => seen.push(`${done}/${total}`) });
    expect(tf.memory().numTensors).toBe(before);
    const runsTotal = r.rateRuns.length + r.runs.length;
    expect(seen.length).toBe(runsTotal);
    expect(seen[seen.length - 1]).toBe(`${runsTotal}/${runsTotal}`);
    expect(r.runs.length).toBe(MLM_ARMS.length * cfg.seeds.length);
    for (const arm of MLM_ARMS) {
      const rates = r.rateRuns.filter((x) => x.arm === arm);
      // the grid, plus at most lrExtensions rates out at an edge, every one on the rate seed
      expect(rates.length).toBeGreaterThanOrEqual(cfg.lrGrid.length);
      expect(rates.length).toBeLessThanOrEqual(cfg.lrGrid.length + cfg.lrExtensions);
      expect(rates.every((x) => x.seed === cfg.rateSeed)).toBe(true);
      expect(r.lrTried[arm]).toEqual(rates.map((x) => x.lr));
      for (const g of cfg.lrGrid) expect(r.lrTried[arm]).toContain(g);
      const best = rates.reduce((a, b) => (b.final < a.final ? b : a));
      expect(r.lr[arm], arm).toBe(best.lr);
      const runs = r.runs.filter((x) => x.arm === arm);
      expect(runs.map((x) => x.seed)).toEqual(cfg.seeds);
      expect(runs.every((x) => x.lr === best.lr && Number.isFinite(x.test) && x.valSteps[0] === 0)).toBe(true);
    }
    expect(() => GMLP_MLM_STUDY.run({ ...cfg, seeds: [cfg.rateSeed, 9] })).toThrow(/rate seed 1 must not be a comparison seed/);
    expect(r.neighbour.loss).toBeGreaterThan(0);
    expect(r.neighbour.loss).toBeLessThan(r.baselines.unigram);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // plain JSON: what study.json stores
  });

  it("the JoMA word-LM study (smoke variant): every arm × seed, entropy per layer at every probe, within the ceiling", () => {
    const cfg = JOMA_LM_STUDY.smoke;
    const before = tf.memory().numTensors;
    const r = JOMA_LM_STUDY.run(cfg);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.runs.map((x) => `${x.arm}/${x.seed}`)).toEqual(cfg.arms.flatMap((a) => cfg.seeds.map((s) => `${a.id}/${s}`)));
    expect(r.ceiling).toBeCloseTo(2.6321, 3); // (1/35)·Σ ln i
    for (const run of r.runs) {
      const arm = cfg.arms.find((a) => a.id === run.arm)!;
      expect(Object.keys(run.entropy)).toEqual(Array.from({ length: arm.layers }, (_, l) => `layer ${l + 1}`));
      expect(run.steps).toEqual(Array.from({ length: arm.steps / cfg.probeEvery + 1 }, (_, k) => k * cfg.probeEvery));
      for (const h of Object.values(run.entropy)) for (const x of h) expect(x >= 0 && x <= r.ceiling + 1e-6).toBe(true);
      expect(Number.isFinite(run.final)).toBe(true);
    }
    // the seed sets the weights: two seeds of the same arm start at different entropies
    const relu = r.runs.filter((x) => x.arm === cfg.arms[0].id);
    expect(relu[0].entropy["layer 1"][0]).not.toBe(relu[1].entropy["layer 1"][0]);
    expect(r.unkShare).toBeGreaterThan(0);
    expect(r.baselines.bigram).toBeLessThan(r.baselines.unigram);
    expect(() => JOMA_LM_STUDY.run({ ...cfg, arms: [cfg.arms[0], cfg.arms[0]] })).toThrow(/arm ids repeat/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("the JoMA study at lr 1e-3 (smoke variant): ReLU, linear and two-layer arms at one rate, every seed", () => {
    const cfg = JOMA_LM_FAST_STUDY.smoke;
    expect(new Set(cfg.arms.map((a) => a.lr))).toEqual(new Set([1e-3]));
    expect(JOMA_LM_FAST_STUDY.full.seeds.length).toBeGreaterThanOrEqual(5); // small effects: 5 seeds
    const r = JOMA_LM_FAST_STUDY.run(cfg);
    expect(r.runs.map((x) => `${x.arm}/${x.seed}`)).toEqual(cfg.arms.flatMap((a) => cfg.seeds.map((s) => `${a.id}/${s}`)));
    const two = r.runs.find((x) => x.arm === cfg.arms[2].id)!;
    expect(Object.keys(two.entropy)).toEqual(["layer 1", "layer 2"]);
  });
  it("the cosine-regulariser study (smoke variant): every λ gets its own rate on the rate seed, fresh seeds at it, a profile per run", () => {
    const cfg = LINEAR_COSINE_STUDY.smoke;
    expect(cfg.seeds).not.toContain(cfg.rateSeed);
    const before = tf.memory().numTensors;
    const r = LINEAR_COSINE_STUDY.run(cfg);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.runs.map((x) => `${x.lambda}/${x.seed}`)).toEqual(cfg.lambdas.flatMap((l) => cfg.seeds.map((s) => `${l}/${s}`)));
    for (const lambda of cfg.lambdas) {
      const rates = r.rateRuns.filter((x) => x.lambda === lambda);
      expect(rates.every((x) => x.seed === cfg.rateSeed)).toBe(true);
      const best = rates.reduce((a, b) => (b.final < a.final ? b : a));
      expect(r.lr[String(lambda)]).toBe(best.lr);
      expect(r.runs.filter((x) => x.lambda === lambda).every((x) => x.lr === best.lr)).toBe(true);
    }
    for (const run of [...r.rateRuns, ...r.runs]) {
      expect(run.withResidual.length).toBe(cfg.nLayers);
      expect(run.withoutResidual.length).toBe(cfg.nLayers);
      for (const x of [...run.withResidual, ...run.withoutResidual]) expect(x >= 0 && x <= 1 + 1e-9).toBe(true);
      expect(Number.isFinite(run.test)).toBe(true);
      expect(run.trajectory.steps).toEqual([0, 2, 4]);
      expect(run.trajectory.withResidual.at(-1)).toEqual(run.withResidual); // the last probe is the end of training
      expect(run.trajectory.withoutResidual[0].length).toBe(cfg.nLayers);
    }
    // λ changes training: same seed and rate, different final loss
    const at = (lambda: number) => r.rateRuns.find((x) => x.lambda === lambda && x.lr === cfg.lrGrid[0])!.final;
    expect(at(0.1)).not.toBe(at(0));
    expect(r.probeTokens).toBe(cfg.probeBatches * cfg.batchSize * cfg.seqLen);
    expect(() => LINEAR_COSINE_STUDY.run({ ...cfg, lambdas: [0.1] })).toThrow(/must include 0/);
    expect(() => LINEAR_COSINE_STUDY.run({ ...cfg, seeds: [cfg.rateSeed] })).toThrow(/rate seed 1 must not be a comparison seed/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("the ULMFiT study (smoke variant): every rung chooses its rate on validation, then its seeds; the sweep; probes; no leaks", () => {
    const cfg = ULMFIT_STUDY.smoke;
    const before = tf.memory().numTensors;
    const r = ULMFIT_STUDY.run(cfg);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 4); // at most cached masks
    expect(r.ladder.map((a) => a.rung)).toEqual(RUNGS.map((x) => x.rung));
    for (const a of [...r.ladder, ...r.sweep]) {
      expect(a.runs.map((x) => x.seed)).toEqual(a.labels === cfg.ladderLabels ? cfg.seeds : cfg.sweepSeeds);
      // the chosen (rate, dropout) has the best validation score (error, then loss) of everything the rate seed tried
      const best = a.tried.reduce((p, q) => (q.score < p.score ? q : p));
      expect([a.lr, a.dropout]).toEqual([best.lr, best.dropout]);
      for (const g of cfg.grid) expect(a.tried.some((t) => t.lr === g)).toBe(true);
      // the epochs: both schedules tried at the chosen (rate, dropout), the lower validation score kept
      const key = String(a.labels);
      expect(a.epochsTried.map((e) => e.extraEpochs)).toEqual([cfg.extraEpochs[key], cfg.longExtraEpochs[key]]);
      expect(a.epochsTried[0].score).toBe(best.score);
      expect(a.extraEpochs).toBe(a.epochsTried.reduce((p, q) => (q.score < p.score ? q : p)).extraEpochs);
      for (const e of a.epochsTried) expect(e.trainLossCurve.length).toBe(e.epochs);
      for (const x of a.runs) {
        for (const e of [x.trainError, x.validError, x.testError, x.testErrorRecalibrated]) expect(e >= 0 && e <= 1).toBe(true);
        expect(x.validCurve.length).toBe(x.epochs);
        expect(x.trainLossCurve.length).toBe(x.epochs);
        expect(x.testCorrect).toMatch(/^[01]{600}$/);
        expect(1 - [...x.testCorrect].filter((c) => c === "1").length / 600).toBeCloseTo(x.testError, 10);
        expect(x.epochs).toBe(4 + a.extraEpochs); // embedding, 2 LSTM layers, head
      }
    }
    expect(r.sweep.map((a) => `${a.rung}@${a.labels}`)).toEqual(["scratch@0", "ulmfit@0"]);
    expect(r.probes.length).toBe(3 * cfg.seeds.length);
    expect(r.vocabulary.knownToLm).toBeLessThanOrEqual(r.vocabulary.target);
    expect(r.vocabulary.unkRateTargetVocab).toBeLessThan(r.vocabulary.unkRateLmVocab);
    expect(r.lm.chosenLr).toBe(
      r.lm.tried.reduce((p, q) => (q.valLosses[q.valLosses.length - 1] < p.valLosses[p.valLosses.length - 1] ? q : p)).lr,
    );
    expect(r.data).toEqual({ train: 200, valid: 300, test: 600 });
    expect(r.shuffledLabels.map((x) => [x.seed, x.permuted])).toEqual(cfg.seeds.map((seed) => [seed, true]));
    const full = r.ladder.find((a) => a.rung === "ulmfit")!;
    expect(r.shuffledLabels.every((x) => x.epochs === 4 + full.extraEpochs && x.lr === full.lr)).toBe(true);
    expect(Number.isFinite(r.lm.freshRowDistance) && Number.isFinite(r.lm.knownRowDistance)).toBe(true);
    expect(r.lm.targetBaselines.bigram).toBeLessThan(r.lm.targetBaselines.unigram + 1e-9);
    expect(validationScore({ validCurve: [0.5, 0.3, 0.2, 0.4], validLoss: 0.7 })).toBeCloseTo(0.3 + 7e-7, 12);
  }, 120_000);

  it("the fast-weight capacity study (smoke variant): rates chosen at the probe, seeds swept with restarts until a failed point, capacities, sensitivity, controls", () => {
    // capacity: the largest S below the first failure; censored when the sweep never failed
    expect(
      capacityOf([
        { pairs: 8, solved: true },
        { pairs: 16, solved: false },
        { pairs: 24, solved: true },
      ]),
    ).toEqual({ capacity: 8, censored: false });
    expect(capacityOf([{ pairs: 8, solved: false }])).toEqual({ capacity: 0, censored: false });
    expect(
      capacityOf([
        { pairs: 8, solved: true },
        { pairs: 16, solved: true },
      ]),
    ).toEqual({ capacity: 16, censored: true });
    const cfg = { ...FWP_CAPACITY_STUDY.smoke, arms: [...FWP_CAPACITY_STUDY.smoke.arms, ...FWP_OVERWRITE_STUDY.smoke.arms] };
    expect(FWP_OVERWRITE_STUDY.smoke.arms.map((a) => a.setting)).toEqual(["overwrites", "overwrites", "overwrites"]);
    expect(FWP_CAPACITY_STUDY.full.arms.every((a) => a.setting === "capacity")).toBe(true);
    const before = tf.memory().numTensors;
    const r = FWP_CAPACITY_STUDY.run(cfg);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.arms.map((a) => a.arm)).toEqual(cfg.arms.map((a) => a.name));
    const checkRun = (x: (typeof r.arms)[number]["controls"]["untrained"], cap: number) => {
      expect(x.solved).toBe(x.loss <= cfg.solvedBelow); // judged on the test loss
      if (x.validCurve.length) expect(x.bestValidLoss).toBe(Math.min(...x.validCurve.map((e) => e.loss)));
      expect(x.steps).toBeLessThanOrEqual(cap);
      expect(x.validCurve.map((e) => e.step)).toEqual(Array.from({ length: x.validCurve.length }, (_, i) => (i + 1) * cfg.evalEvery));
    };
    for (const a of r.arms) {
      const arm = cfg.arms.find((x) => x.name === a.arm)!;
      const best = a.tried.reduce((p, q) => (q.score < p.score ? q : p));
      expect(a.lr).toBe(best.lr);
      for (const g of cfg.lrGrid) expect(a.tried.some((t) => t.lr === g)).toBe(true);
      expect(a.sweeps.map((c) => c.seed)).toEqual(cfg.seeds);
      expect(a.learnValues).toBe(arm.learnValues ?? cfg.learnValues);
      for (const sw of a.sweeps) {
        expect(sw.lr).toBe(a.lr);
        expect({ capacity: sw.capacity, censored: sw.censored }).toEqual(capacityOf(sw.points));
        expect(sw.points.map((p) => p.pairs)).toEqual(a.grid.slice(0, sw.points.length));
        for (const p of sw.points) {
          // restarts: only after an attempt missed the solved level on validation; the counted attempt is the first that reached it, else the last
          const restarts = arm.restarts ?? cfg.restarts;
          expect(p.attempts.length).toBeLessThanOrEqual(restarts + 1);
          p.attempts.slice(0, -1).forEach((x) => expect(x.bestValidLoss).toBeGreaterThan(cfg.solvedBelow));
          expect(p.counted).toBe(p.attempts.length - 1);
          expect(p.solved).toBe(p.attempts[p.counted].solved);
          p.attempts.forEach((x, k) => {
            expect(x.attempt).toBe(k);
            expect(x.seed).toBe(sw.seed);
            checkRun(x, cfg.maxSteps);
          });
        }
        // a sweep ends at the setting's number of consecutive failed points
        const n = cfg.stopAfterFailures[a.setting];
        if (sw.points.length < a.grid.length) expect(sw.points.slice(-n).every((p) => !p.solved)).toBe(true);
      }
      expect(a.controls.untrained.lr).toBe(0);
      expect(a.controls.untrained.pairs).toBe(a.grid[0]);
      expect(a.controls.shuffled.pairs).toBe(a.probe);
      checkRun(a.controls.shuffled, cfg.controlSteps);
      if (a.setting === "capacity" && a.featureDim > 0) expect(a.controls.overload?.pairs).toBe(cfg.overloadFactor * a.featureDim);
      else expect(a.controls.overload).toBeNull();
      if (a.sensitivity) {
        expect(a.sensitivity.lr).toBe(cfg.sensitivityLr);
        expect(a.sensitivity.points.every((p) => p.attempts.length === 1)).toBe(true);
      } else expect(a.lr).toBe(cfg.sensitivityLr);
      expect(a.featureDim).toBe(a.arm === "softmax" ? 0 : a.arm === "DPFP ν = 2" ? 16 : a.arm === "linear (ELU + 1)" ? 4 : 8);
    }
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    // a single point rerun with the study's protocol gives the recorded run (seconds aside)
    const arm = cfg.arms[1];
    const recorded = r.arms[1].sweeps[0].points[0].attempts[0];
    const { seconds: _s, ...again } = trainFwpPoint(cfg, arm, recorded.pairs, recorded.seed, recorded.lr, { attempt: recorded.attempt });
    const { seconds: _t, ...want } = recorded;
    expect(again).toEqual(want);
    expect(() => FWP_CAPACITY_STUDY.run({ ...cfg, seeds: [cfg.rateSeed] })).toThrow(/rate seed 0 must not be a comparison seed/);
    expect(() => FWP_CAPACITY_STUDY.run({ ...cfg, stopBelow: 1 })).toThrow(/stopBelow 1 must not exceed solvedBelow 0.002/);
  }, 120_000);
});
