/**
 * Patch classifiers for small grey images: cut the image into p×p patches (tokens), embed each
 * linearly, run a backbone, average the tokens, classify.
 *
 *   gMLP (Liu et al. 2021, §3):  patches · E + e → gMLP blocks → LN → mean over tokens → · H + h
 *   ViT (Dosovitskiy et al. 2021, with mean pooling instead of a class token, as gMLP's vision models):
 *                               patches · E + e + positions → Pre-LN transformer blocks → LN → mean → · H + h
 *
 *   linear (the baseline every backbone must beat): pixels → · H + h (multinomial logistic regression)
 *
 * The gMLP needs no position embedding: its spatial weights W are indexed by position. Row i of W
 * reshaped to the patch grid shows where token i reads from (notebook 03 plots them).
 * ViT initialisation: "xavier" (Glorot normal for every matrix, positions N(0, 1/D)) is the default;
 * "gpt2" (N(0, 0.02²), positions 0.02) leaves a narrow ViT's attention logits near zero at the start
 * (the plateau notebook 04 diagnoses).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, type Schema, resolveConfig } from "../../config";
import { type Rng, createRng } from "../../engine/rng";
import { patchify } from "../../data/images";
import { type NormParams, initNorm } from "../../models/norms";
import { linear } from "../../models/ops";
import { normalVariable, zerosVariable } from "../../models/params";
import {
  GATES,
  type Gate,
  type GmlpBlockParams,
  type GmlpConfig,
  gmlpBlockParameterCount,
  gmlpBlocks,
  gmlpConfig,
  initGmlpBlocks,
} from "./gmlp";
import {
  type BlockParams,
  type TransformerConfig,
  initTransformerBlocks,
  transformerBlockParameterCount,
  transformerBlocks,
  transformerConfig,
} from "../../models/transformer";

/** What both backbones share. */
interface VisionBase {
  imageSize: number;
  patchSize: number;
  nClasses: number;
  dModel: number;
  nLayers: number;
  /** gMLP: width of Z; transformer: MLP hidden width. */
  dFF: number;
  seed: number;
}

export interface GmlpVisionConfig extends VisionBase {
  backbone: "gmlp";
  gate: Gate;
  /** aMLP's tiny attention head size (0 = none). */
  tinyAttention: number;
}

export interface VitConfig extends VisionBase {
  backbone: "transformer";
  nHeads: number;
  /** "xavier": Glorot normal matrices, positions N(0, 1/D); "gpt2": N(0, 0.02²) for both. */
  init: "xavier" | "gpt2";
}

/** Multinomial logistic regression on the raw pixels (imageSize² → nClasses); patchSize, dModel, nLayers, dFF unused. */
export interface LinearVisionConfig extends VisionBase {
  backbone: "linear";
}

export type VisionConfig = GmlpVisionConfig | VitConfig | LinearVisionConfig;

/** Overrides for `visionConfig`: the backbone names which fields apply. */
export type VisionOverrides = Partial<VisionBase> &
  (
    | { backbone: "gmlp"; gate?: Gate; tinyAttention?: number }
    | { backbone: "transformer"; nHeads?: number; init?: "xavier" | "gpt2" }
    | { backbone: "linear" }
  );

const BASE_SCHEMA: Schema<VisionBase> = {
  imageSize: { kind: "int", min: 1 },
  patchSize: { kind: "int", min: 1 },
  nClasses: { kind: "int", min: 2 },
  dModel: { kind: "int", min: 1 },
  nLayers: { kind: "int", min: 0 },
  dFF: { kind: "int", min: 2 },
  seed: { kind: "int" },
};
const BACKBONE = { kind: "enum", values: ["gmlp", "transformer", "linear"] } as const;
const GMLP_SCHEMA: Schema<GmlpVisionConfig> = {
  ...BASE_SCHEMA,
  backbone: BACKBONE,
  gate: { kind: "enum", values: GATES },
  tinyAttention: { kind: "int", min: 0 },
};
const VIT_SCHEMA: Schema<VitConfig> = {
  ...BASE_SCHEMA,
  backbone: BACKBONE,
  nHeads: { kind: "int", min: 1 },
  init: { kind: "enum", values: ["xavier", "gpt2"] },
};
const LINEAR_SCHEMA: Schema<LinearVisionConfig> = { ...BASE_SCHEMA, backbone: BACKBONE };

const BASE_DEFAULTS: VisionBase = { imageSize: 28, patchSize: 4, nClasses: 10, dModel: 64, nLayers: 4, dFF: 256, seed: 0 };
export const GMLP_VISION_DEFAULTS: GmlpVisionConfig = { ...BASE_DEFAULTS, backbone: "gmlp", gate: "split", tinyAttention: 0 };
export const VIT_DEFAULTS: VitConfig = { ...BASE_DEFAULTS, backbone: "transformer", nHeads: 4, init: "xavier" };
export const LINEAR_VISION_DEFAULTS: LinearVisionConfig = { ...BASE_DEFAULTS, backbone: "linear" };

export function visionConfig(overrides: VisionOverrides): VisionConfig {
  if (overrides === null || typeof overrides !== "object")
    throw new ConfigError("VisionConfig: overrides must be an object with a backbone");
  let cfg: VisionConfig;
  if (overrides.backbone === "gmlp") cfg = resolveConfig("VisionConfig (gmlp)", GMLP_VISION_DEFAULTS, GMLP_SCHEMA, overrides);
  else if (overrides.backbone === "transformer") cfg = resolveConfig("VisionConfig (transformer)", VIT_DEFAULTS, VIT_SCHEMA, overrides);
  else if (overrides.backbone === "linear") cfg = resolveConfig("VisionConfig (linear)", LINEAR_VISION_DEFAULTS, LINEAR_SCHEMA, overrides);
  else
    throw new ConfigError(
      `VisionConfig.backbone: expected "gmlp", "transformer" or "linear", got ${JSON.stringify((overrides as { backbone?: unknown }).backbone)}`,
    );
  if (cfg.imageSize % cfg.patchSize !== 0) {
    throw new ConfigError(`VisionConfig.patchSize: ${cfg.patchSize} must divide imageSize ${cfg.imageSize}`);
  }
  if (cfg.backbone === "gmlp")
    gmlpBackbone(cfg); // validates the backbone's own constraints
  else if (cfg.backbone === "transformer") vitBackbone(cfg);
  return cfg;
}

export function visionTokens(cfg: Pick<VisionBase, "imageSize" | "patchSize">): number {
  return (cfg.imageSize / cfg.patchSize) ** 2;
}

/** The gMLP blocks' own config implied by a vision config. */
function gmlpBackbone(cfg: GmlpVisionConfig): GmlpConfig {
  return gmlpConfig({
    vocabSize: 2,
    seqLen: visionTokens(cfg),
    dModel: cfg.dModel,
    dFF: cfg.dFF,
    nLayers: cfg.nLayers,
    gate: cfg.gate,
    tinyAttention: cfg.tinyAttention,
    causal: false,
    seed: cfg.seed,
  });
}

/** The transformer blocks' own config implied by a vision config (Pre-LN, bidirectional). */
function vitBackbone(cfg: VitConfig): TransformerConfig {
  return transformerConfig({
    vocabSize: 2,
    seqLen: visionTokens(cfg),
    dModel: cfg.dModel,
    dFF: cfg.dFF,
    nLayers: cfg.nLayers,
    nHeads: cfg.nHeads,
    causal: false,
    normPlacement: "pre",
    norm: "layer",
    init: cfg.init,
    seed: cfg.seed,
  });
}

/** What both models share: the patch embedding, the final norm and the classifier head. */
interface VisionParamsBase {
  patchEmbedding: tf.Variable; // [p², D]
  patchBias: tf.Variable; // [D]
  finalNorm: NormParams;
  head: tf.Variable; // [D, C]
  headBias: tf.Variable; // [C]
}

export interface GmlpVisionParams extends VisionParamsBase {
  config: GmlpVisionConfig;
  blocks: GmlpBlockParams[];
}

export interface VitParams extends VisionParamsBase {
  config: VitConfig;
  positionEmbedding: tf.Variable; // [T, D]
  blocks: BlockParams[];
}

export interface LinearVisionParams {
  config: LinearVisionConfig;
  head: tf.Variable; // [imageSize², C]
  headBias: tf.Variable; // [C]
}

export type VisionParams = GmlpVisionParams | VitParams | LinearVisionParams;

export function initVisionModel(config: VisionOverrides, rng?: Rng): VisionParams {
  const cfg = visionConfig(config);
  const r = rng ?? createRng(cfg.seed);
  if (cfg.backbone === "linear") {
    const pixels = cfg.imageSize ** 2;
    return { config: cfg, head: normalVariable(r, [pixels, cfg.nClasses], 1 / Math.sqrt(pixels)), headBias: zerosVariable([cfg.nClasses]) };
  }
  const p2 = cfg.patchSize ** 2;
  const patchEmbedding = normalVariable(r, [p2, cfg.dModel], 1 / Math.sqrt(p2));
  const patchBias = zerosVariable([cfg.dModel]);
  if (cfg.backbone === "gmlp") {
    const blocks = initGmlpBlocks(gmlpBackbone(cfg), r);
    return { config: cfg, patchEmbedding, patchBias, blocks, ...initHead(cfg, r) };
  }
  const positionEmbedding = normalVariable(r, [visionTokens(cfg), cfg.dModel], cfg.init === "xavier" ? 1 / Math.sqrt(cfg.dModel) : 0.02);
  const blocks = initTransformerBlocks(vitBackbone(cfg), r);
  return { config: cfg, patchEmbedding, patchBias, positionEmbedding, blocks, ...initHead(cfg, r) };
}

function initHead(cfg: VisionConfig, r: Rng): Pick<VisionParamsBase, "finalNorm" | "head" | "headBias"> {
  return {
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
  if (params.config.backbone === "linear") {
    const lin = params as LinearVisionParams;
    return tf.tidy(() => linear(tf.reshape(images, [b, cfg.imageSize ** 2]), lin.head, lin.headBias) as tf.Tensor2D);
  }
  const p = params as GmlpVisionParams | VitParams;
  const t = visionTokens(cfg);
  const d = cfg.dModel;
  return tf.tidy(() => {
    const patches = tf.reshape(patchify(images, cfg.patchSize), [b * t, cfg.patchSize ** 2]);
    let x = linear(patches, p.patchEmbedding, p.patchBias); // [B·T, D]
    if ("positionEmbedding" in p) {
      x = tf.reshape(tf.add(tf.reshape(x, [b, t, d]), p.positionEmbedding), [b * t, d]);
      x = transformerBlocks({
        config: vitBackbone(p.config),
        blocks: p.blocks,
        finalNorm: p.finalNorm,
        stream: x,
        batch: b,
        time: t,
      });
    } else {
      x = gmlpBlocks(gmlpBackbone(p.config), p.blocks, p.finalNorm, x, b, t);
    }
    const pooled = tf.mean(tf.reshape(x, [b, t, d]), 1); // [B, D]
    return linear(pooled, p.head, p.headBias) as tf.Tensor2D;
  });
}

/** The spatial weights W [T, T] of block `layer` of a gMLP vision model, as rows (row i: where token i reads from). */
export function spatialWeightRows(params: VisionParams, layer: number): number[][] {
  if (params.config.backbone !== "gmlp")
    throw new Error(`spatialWeightRows: only a gMLP has spatial weights (this model's backbone is ${params.config.backbone})`);
  const blocks = (params as GmlpVisionParams).blocks;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < blocks.length))
    throw new Error(`spatialWeightRows: layer must be in 0…${blocks.length - 1}, got ${layer}`);
  return blocks[layer].w.arraySync() as number[][];
}

/** Scalar parameters of a vision model, by formula (checked against the built model in the tests). */
export function visionParameterCount(cfg: VisionConfig): number {
  if (cfg.backbone === "linear") return cfg.imageSize ** 2 * cfg.nClasses + cfg.nClasses;
  const d = cfg.dModel;
  const t = visionTokens(cfg);
  const outer = cfg.patchSize ** 2 * d + d + 2 * d + d * cfg.nClasses + cfg.nClasses;
  if (cfg.backbone === "gmlp") return outer + cfg.nLayers * gmlpBlockParameterCount({ ...cfg, seqLen: t });
  return outer + t * d + cfg.nLayers * transformerBlockParameterCount({ dModel: d, dFF: cfg.dFF, norm: "layer" });
}
