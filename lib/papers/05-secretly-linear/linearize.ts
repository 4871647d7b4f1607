/**
 * Transformer blocks as linear maps (Razzhigaev et al. 2024, §4–5): capture the residual streams,
 * fit a block's input → output map by least squares, substitute it for the block, distil it
 * against the original model, and the cosine-similarity regulariser between consecutive layers.
 */
import * as tf from "@tensorflow/tfjs";
import type { MatrixInput } from "../../metrics/matrix";
import { type AffineMap, fitAffineMap } from "./linearity";
import type { LmModel } from "../../train/lm";
import { RUN_OPTIONS_SCHEMA, type RunOptions, type TrainResult, train } from "../../train/trainer";
import { checkOptions } from "../../config";
import { crossEntropy, distillationKl } from "../../models/loss";
import { linear } from "../../models/ops";
import { variableFrom } from "../../models/params";
import {
  type Block,
  type BlockReplacement,
  type TransformerParams,
  replaceBlocks,
  transformerForward,
  transformerStepBytes,
} from "../../models/transformer";

/**
 * The residual streams over the given token batches ([B, T] each): nLayers + 1 tensors [N, D]
 * (the embeddings, then the stream after each block), N = every token of every batch, in order.
 * The caller disposes them.
 */
export function residualStreams(params: TransformerParams<Block>, batches: tf.Tensor[]): tf.Tensor2D[] {
  if (batches.length === 0) throw new Error("residualStreams: no batches");
  const perLayer: tf.Tensor2D[][] = Array.from({ length: params.config.nLayers + 1 }, () => []);
  for (const inputs of batches) {
    const { logits, hidden } = transformerForward(params, inputs, { captureHidden: true });
    logits.dispose();
    hidden!.forEach((h, l) => {
      perLayer[l].push(tf.reshape(h, [-1, params.config.dModel]) as tf.Tensor2D);
      h.dispose();
    });
  }
  return perLayer.map((parts) => {
    const all = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
    if (parts.length > 1) tf.dispose(parts);
    return all;
  });
}

/** A linear stand-in for a block: stream ↦ stream · weight + bias. */
export interface LinearBlock {
  weight: tf.Variable; // [D, D]
  bias: tf.Variable; // [D]
}

/** The least-squares affine map from a block's input states to its output states, as variables. */
export function fitLinearBlock(input: MatrixInput, output: MatrixInput): { block: LinearBlock; fit: AffineMap } {
  const fit = fitAffineMap(input, output);
  const block = {
    weight: variableFrom(() => tf.tensor2d(fit.weight, undefined, "float32")),
    bias: variableFrom(() => tf.tensor1d(fit.bias, "float32")),
  };
  return { block, fit };
}

/** Identity: the block removed (its input passes straight through). */
export const identityBlock: BlockReplacement = (stream) => tf.clone(stream);

export function linearReplacement(block: LinearBlock): BlockReplacement {
  return (stream) => linear(stream, block.weight, block.bias);
}

export interface DistillOptions extends RunOptions {
  /** The original model (frozen: only the linear block trains). */
  params: TransformerParams;
  layer: number;
  block: LinearBlock;
  /** A fresh batch of token ids [B, T] per step. */
  nextInputs: () => tf.Tensor;
}

/**
 * Trains the linear stand-in of block `layer` so that the model with it matches the original
 * model's next-token distributions: loss = KL(original ‖ with the stand-in), averaged over positions.
 */
export function distillLinearBlock(o: DistillOptions): TrainResult {
  checkOptions("distillLinearBlock", o, {
    ...RUN_OPTIONS_SCHEMA,
    params: { kind: "object", what: "transformer params" },
    layer: { kind: "int", min: 0 },
    block: { kind: "object", what: "a linear block ({ weight, bias })" },
    nextInputs: { kind: "function", signature: "() => token ids [B, T]" },
  });
  const { layer, block, ...rest } = o;
  return distillLinearBlocks({ ...rest, blocks: new Map([[layer, block]]) });
}

export interface DistillManyOptions extends RunOptions {
  /** The original model (frozen: only the linear blocks train). */
  params: TransformerParams;
  /** Block index → its linear stand-in; all are trained together. */
  blocks: ReadonlyMap<number, LinearBlock>;
  /** A fresh batch of token ids [B, T] per step. */
  nextInputs: () => tf.Tensor;
}

/** `distillLinearBlock` for several blocks replaced at once (their stand-ins trained jointly). */
export function distillLinearBlocks(o: DistillManyOptions): TrainResult {
  checkOptions("distillLinearBlocks", o, {
    ...RUN_OPTIONS_SCHEMA,
    params: { kind: "object", what: "transformer params" },
    blocks: { kind: "object", what: "a Map from block index to its linear block" },
    nextInputs: { kind: "function", signature: "() => token ids [B, T]" },
  });
  const n = o.params.config.nLayers;
  if (o.blocks.size === 0) throw new Error("distillLinearBlocks: no blocks to distil");
  for (const layer of o.blocks.keys())
    if (!(Number.isInteger(layer) && layer >= 0 && layer < n))
      throw new Error(`distillLinearBlock: layer must be in 0…${n - 1}, got ${layer}`);
  const withStandIns = replaceBlocks(o.params, new Map([...o.blocks].map(([l, b]) => [l, linearReplacement(b)])));
  const { params: _teacher, blocks, nextInputs, ...run } = o;
  return train({
    ...run,
    params: [...blocks.values()],
    loss: () => {
      const inputs = nextInputs();
      const teacher = transformerForward(o.params, inputs).logits;
      const student = transformerForward(withStandIns, inputs).logits;
      return distillationKl(student, teacher);
    },
  });
}

/**
 * The cosine-similarity regulariser between consecutive layers' streams (our reading of
 * Razzhigaev et al. §5): mean over layer pairs and tokens of 1 − cos(h_l, h_{l+1}). Added to the
 * loss with a positive weight, it pulls each block's output direction towards its input.
 */
export function consecutiveCosinePenalty(streams: tf.Tensor[]): tf.Scalar {
  if (streams.length < 2) throw new Error(`consecutiveCosinePenalty: need at least 2 streams, got ${streams.length}`);
  return tf.tidy(() => {
    const terms: tf.Tensor[] = [];
    for (let l = 0; l + 1 < streams.length; l++) {
      const a = streams[l],
        b = streams[l + 1];
      const dot = tf.sum(tf.mul(a, b), -1);
      const norms = tf.mul(tf.norm(a, "euclidean", -1), tf.norm(b, "euclidean", -1));
      terms.push(tf.mean(tf.sub(1, tf.div(dot, tf.maximum(norms, 1e-8)))));
    }
    return tf.mean(tf.stack(terms)) as tf.Scalar;
  });
}

/**
 * The transformer as a language model trained on cross-entropy + weight · term(streams), the
 * streams being the embeddings and the stream after each block ([B, T, D] each, captured by the
 * forward pass and differentiated through it). Validation stays plain cross-entropy.
 */
export function withHiddenPenalty(params: TransformerParams, weight: number, term: (streams: tf.Tensor[]) => tf.Scalar): LmModel {
  if (!Number.isFinite(weight)) throw new Error(`withHiddenPenalty: weight must be finite, got ${weight}`);
  return {
    params,
    seqLen: params.config.seqLen,
    vocabSize: params.config.vocabSize,
    logits: (tokens) => transformerForward(params, tokens).logits,
    // The captured streams add L + 1 tensors [B, T, D] to the plain step: a small share of it.
    stepBytes: (batchSize) => transformerStepBytes(params.config, batchSize),
    trainingLoss: ({ inputs, targets, weights }) => {
      const { logits, hidden } = transformerForward(params, inputs, { captureHidden: true });
      const streams = hidden ?? [];
      const loss = tf.tidy(() => tf.add(crossEntropy(logits, targets, weights), tf.mul(term(streams), weight)) as tf.Scalar);
      tf.dispose([logits, ...streams]);
      return loss;
    },
  };
}
