/**
 * Patch classifiers for small grey images: cut the image into p×p patches (tokens), embed each
 * linearly, run a backbone, average the tokens, classify.
 *
 *   gMLP (Liu et al. 2021, §3):  patches · E + e → gMLP blocks → LN → mean over tokens → · H + h
 *   ViT (Dosovitskiy et al. 2021, with mean pooling instead of a class token, as gMLP's vision models):
 *                               patches · E + e + positions → Pre-LN transformer blocks → LN → mean → · H + h
 *
 * The gMLP needs no position embedding: its spatial weights W are indexed by position. Row i of W
 * reshaped to the patch grid shows where token i reads from (notebook 03 plots them).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, Schema, resolveConfig } from "../config";
import { Rng, createRng } from "../engine/rng";
import { patchify } from "../data/images";
import { NormParams, initNorm } from "./norms";
import { normalVariable, zerosVariable } from "./params";
import { GATES, Gate, GmlpBlockParams, GmlpConfig, gmlpBlockParameterCount, gmlpBlocks, gmlpConfig, initGmlpBlocks } from "./gmlp";
import { BlockParams, TransformerConfig, initTransformerBlocks, transformerBlockParameterCount, transformerBlocks, transformerConfig } from "./transformer";

export interface VisionConfig {
  imageSize: number;
  patchSize: number;
  nClasses: number;
  backbone: "gmlp" | "transformer";
  dModel: number;
  nLayers: number;
  /** gMLP: width of Z; transformer: MLP hidden width. */
  dFF: number;
  /** Transformer only. */
  nHeads: number;
  /** gMLP only. */
  gate: Gate;
  /** gMLP only: aMLP's tiny attention head size (0 = none). */
  tinyAttention: number;
  seed: number;
}

const SCHEMA: Schema<VisionConfig> = {
  imageSize: { kind: "int", min: 1 },
  patchSize: { kind: "int", min: 1 },
  nClasses: { kind: "int", min: 2 },
  backbone: { kind: "enum", values: ["gmlp", "transformer"] },
  dModel: { kind: "int", min: 1 },
  nLayers: { kind: "int", min: 0 },
  dFF: { kind: "int", min: 2 },
  nHeads: { kind: "int", min: 1 },
  gate: { kind: "enum", values: GATES },
  tinyAttention: { kind: "int", min: 0 },
  seed: { kind: "int" },
};

export const VISION_DEFAULTS: VisionConfig = {
  imageSize: 28, patchSize: 4, nClasses: 10, backbone: "gmlp",
  dModel: 64, nLayers: 4, dFF: 256, nHeads: 4, gate: "split", tinyAttention: 0, seed: 0,
};

export function visionConfig(overrides: Partial<VisionConfig> = {}): VisionConfig {
  const cfg = resolveConfig("VisionConfig", VISION_DEFAULTS, SCHEMA, overrides);
  if (cfg.imageSize % cfg.patchSize !== 0) {
    throw new ConfigError(`VisionConfig.patchSize: ${cfg.patchSize} must divide imageSize ${cfg.imageSize}`);
  }
  backboneConfig(cfg); // validates the backbone's own constraints
  return cfg;
}

export function visionTokens(cfg: Pick<VisionConfig, "imageSize" | "patchSize">): number {
  return (cfg.imageSize / cfg.patchSize) ** 2;
}

/** The backbone's own config (gMLP or Transformer) implied by a vision config. */
export function backboneConfig(cfg: VisionConfig): GmlpConfig | TransformerConfig {
  const seqLen = visionTokens(cfg);
  if (cfg.backbone === "gmlp") {
    return gmlpConfig({ vocabSize: 2, seqLen, dModel: cfg.dModel, dFF: cfg.dFF, nLayers: cfg.nLayers, gate: cfg.gate, tinyAttention: cfg.tinyAttention, causal: false, seed: cfg.seed });
  }
  return transformerConfig({ vocabSize: 2, seqLen, dModel: cfg.dModel, dFF: cfg.dFF, nLayers: cfg.nLayers, nHeads: cfg.nHeads, causal: false, normPlacement: "pre", norm: "layer", seed: cfg.seed });
}

export interface VisionParams {
  config: VisionConfig;
  patchEmbedding: tf.Variable; // [p², D]
  patchBias: tf.Variable; // [D]
  positionEmbedding?: tf.Variable; // [T, D], transformer only
  gmlpBlocks?: GmlpBlockParams[];
  transformerBlocks?: BlockParams[];
  finalNorm: NormParams;
  head: tf.Variable; // [D, C]
  headBias: tf.Variable; // [C]
}

export function initVisionModel(config: Partial<VisionConfig>, rng?: Rng): VisionParams {
  const cfg = visionConfig(config);
  const r = rng ?? createRng(cfg.seed);
  const p2 = cfg.patchSize ** 2;
  const backbone = backboneConfig(cfg);
  const isGmlp = cfg.backbone === "gmlp";
  return {
    config: cfg,
    patchEmbedding: normalVariable(r, [p2, cfg.dModel], 1 / Math.sqrt(p2)),
    patchBias: zerosVariable([cfg.dModel]),
    positionEmbedding: isGmlp ? undefined : normalVariable(r, [visionTokens(cfg), cfg.dModel], 0.02),
    gmlpBlocks: isGmlp ? initGmlpBlocks(backbone as GmlpConfig, r) : undefined,
    transformerBlocks: isGmlp ? undefined : initTransformerBlocks(backbone as TransformerConfig, r),
    finalNorm: initNorm("layer", cfg.dModel),
    head: normalVariable(r, [cfg.dModel, cfg.nClasses], 0.02),
    headBias: zerosVariable([cfg.nClasses]),
  };
}

/** Images [B, H, W] in [0, 1] → class logits [B, C]. */
export function visionForward(params: VisionParams, images: tf.Tensor): tf.Tensor2D {
  const cfg = params.config;
  if (images.rank !== 3 || images.shape[1] !== cfg.imageSize || images.shape[2] !== cfg.imageSize) {
    throw new Error(`visionForward: images must be [B, ${cfg.imageSize}, ${cfg.imageSize}], got [${images.shape}]`);
  }
  const b = images.shape[0];
  const t = visionTokens(cfg);
  const d = cfg.dModel;
  return tf.tidy(() => {
    const patches = tf.reshape(patchify(images, cfg.patchSize), [b * t, cfg.patchSize ** 2]);
    let x = tf.add(tf.matMul(patches, params.patchEmbedding), params.patchBias); // [B·T, D]
    if (params.positionEmbedding) x = tf.reshape(tf.add(tf.reshape(x, [b, t, d]), params.positionEmbedding), [b * t, d]);
    const backbone = backboneConfig(cfg);
    x = params.gmlpBlocks
      ? gmlpBlocks(backbone as GmlpConfig, params.gmlpBlocks, params.finalNorm, x, b, t)
      : transformerBlocks(backbone as TransformerConfig, params.transformerBlocks!, params.finalNorm, x, b, t);
    const pooled = tf.mean(tf.reshape(x, [b, t, d]), 1); // [B, D]
    return tf.add(tf.matMul(pooled, params.head), params.headBias) as tf.Tensor2D;
  });
}

/** Scalar parameters of a vision model, by formula (checked against the built model in the tests). */
export function visionParameterCount(cfg: VisionConfig): number {
  const d = cfg.dModel;
  const t = visionTokens(cfg);
  const outer = cfg.patchSize ** 2 * d + d + 2 * d + d * cfg.nClasses + cfg.nClasses;
  if (cfg.backbone === "gmlp") return outer + cfg.nLayers * gmlpBlockParameterCount({ ...cfg, seqLen: t });
  return outer + t * d + cfg.nLayers * transformerBlockParameterCount({ dModel: d, dFF: cfg.dFF, norm: "layer" });
}
