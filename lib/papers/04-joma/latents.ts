/**
 * Do a transformer's MLP units encode the latent variables that generated its input? JoMA's
 * Table 1 measure (Tian et al. 2023, official `joma/draw_table_1.py`): per layer, max-pool the MLP
 * activations over positions; per latent level, for every latent the best |correlation| of any
 * unit with its indicator, averaged over the level's latents.
 */
import * as tf from "@tensorflow/tfjs";
import type { Hierarchy, HierarchyBatch } from "./hierarchy";
import { type TransformerParams, transformerForward } from "../../models/transformer";
import { bestUnitCorrelation } from "../../metrics/stats";

/** rows[layer][level]: mean best-unit |correlation| with the latents of that level. */
export function latentCorrelations(params: TransformerParams, h: Hierarchy, sample: HierarchyBatch): number[][] {
  const n = sample.labels.length;
  const inputs = tf.tensor2d(sample.tokens, [n, h.seqLen], "int32");
  const { logits, mlp } = transformerForward(params, inputs, { captureMlp: true });
  const rows = mlp!.map((activations) => {
    const pooled = tf.tidy(() => tf.max(activations, 1).arraySync() as number[][]); // [N, F]
    return h.levels.map((k, level) => {
      const indicators = Array.from({ length: n }, (_, i) => Array.from(sample.indicators[level].subarray(i * k, (i + 1) * k)));
      return bestUnitCorrelation(pooled, indicators).mean;
    });
  });
  tf.dispose([inputs, logits, ...mlp!]);
  return rows;
}
