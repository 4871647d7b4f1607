/**
 * Matched arms for architecture comparisons: configs of different models whose parameter counts
 * agree within `ARM_TOLERANCE`, so a difference in loss is not a difference in size. The
 * Transformer sets the size (dFF = 4·dModel); each gMLP's width dFF is then chosen to match it.
 * Used by notebooks/03-gmlp.ipynb; the counts are pinned in test/gmlp.test.ts.
 */
import type { LmModel } from "../../train/lm";
import { GATES, type Gate, type GmlpConfig, gmlpConfig, gmlpLm, gmlpParameterCount } from "./gmlp";
import { closestWidth } from "../../models/params";
import { type TransformerConfig, transformerConfig, transformerLm, transformerParameterCount } from "../../models/transformer";
import { VIT_DEFAULTS, type VisionConfig, type VitConfig, visionConfig, visionParameterCount } from "./vision";

/** Largest relative parameter-count difference allowed between matched arms. */
export const ARM_TOLERANCE = 0.01;

export const MLM_ARMS = ["transformer", ...GATES.map((g) => `gmlp-${g}` as const), "amlp"] as const;
export type MlmArm = (typeof MLM_ARMS)[number];

export interface MlmArmBase {
  /** Including the [MASK] id. */
  vocabSize: number;
  seqLen: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** aMLP's tiny attention head size. */
  tinyAttention: number;
  seed: number;
  /**
   * The Transformer's initialisation. "xavier" (default): Glorot-normal matrices and N(0, 1/D)
   * embeddings, as PyTorch's attention layers. "gpt2" (N(0, 0.02²) everywhere, BERT's choice at
   * D = 768) leaves a narrow model's attention logits near zero, and a masked-LM Transformer of
   * width 32 sits at the unigram level for hundreds of steps (the plateau notebook 04 diagnoses).
   */
  transformerInit?: "xavier" | "gpt2";
}

/** Parameter count of a token model from its config, without building it. */
export function lmParameterCount(cfg: TransformerConfig | GmlpConfig): number {
  return "gate" in cfg ? gmlpParameterCount(cfg) : transformerParameterCount(cfg);
}

/** Bidirectional (masked-LM) Transformer and gMLP/aMLP configs of matched size. */
export function mlmArms(base: MlmArmBase): Record<MlmArm, TransformerConfig | GmlpConfig> {
  const { vocabSize, seqLen, dModel, nLayers, seed } = base;
  const transformer = transformerConfig({
    vocabSize,
    seqLen,
    dModel,
    nLayers,
    nHeads: base.nHeads,
    dFF: 4 * dModel,
    causal: false,
    init: base.transformerInit ?? "xavier",
    seed,
  });
  const target = lmParameterCount(transformer);
  const gmlp = (gate: Gate, tinyAttention: number) => {
    const at = (dFF: number) => gmlpConfig({ vocabSize, seqLen, dModel, nLayers, gate, tinyAttention, dFF, causal: false, seed });
    return at(closestWidth(target, (f) => gmlpParameterCount(at(f)), { step: 2, max: 64 * dModel }));
  };
  return {
    transformer,
    "gmlp-linear": gmlp("linear", 0),
    "gmlp-additive": gmlp("additive", 0),
    "gmlp-multiplicative": gmlp("multiplicative", 0),
    "gmlp-split": gmlp("split", 0),
    amlp: gmlp("split", base.tinyAttention),
  };
}

/** A ViT and a gMLP (split gate) on the same patches, of matched size. */
export function visionArms(base: Partial<Omit<VitConfig, "backbone" | "dFF">>): { vit: VisionConfig; gmlp: VisionConfig } {
  const { nHeads, init, ...shared } = base;
  const vit = visionConfig({ ...shared, nHeads, init, backbone: "transformer", dFF: 4 * (base.dModel ?? VIT_DEFAULTS.dModel) });
  const target = visionParameterCount(vit);
  const at = (dFF: number) => visionConfig({ ...shared, backbone: "gmlp", gate: "split", dFF });
  return { vit, gmlp: at(closestWidth(target, (f) => visionParameterCount(at(f)), { step: 2, max: 64 * vit.dModel })) };
}

/** A fresh model of an arm's config, as a language model for `trainLanguageModel`. */
export function armLm(cfg: TransformerConfig | GmlpConfig): LmModel {
  return "gate" in cfg ? gmlpLm(cfg) : transformerLm(cfg);
}
