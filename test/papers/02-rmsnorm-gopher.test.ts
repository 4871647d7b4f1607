/**
 * Zhang & Sennrich (2019), Table 1: which re-scalings and re-centrings each norm is invariant to,
 * measured by `normInvariances` on hand-made inputs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng, randomNormal } from "../../lib/engine/rng";
import { layerNorm, rmsNorm } from "../../lib/models/norms";
import { normInvariances } from "../../lib/papers/02-rmsnorm-gopher";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("norm invariances (Table 1)", () => {
  it("RMSNorm: invariant to input and weight re-scaling, not to re-centring; LayerNorm: invariant to all three", () => {
    const rng = createRng(7);
    const x = tf.tidy(() => tf.add(randomNormal(rng, [8, 16]), 0.5));
    const w = randomNormal(rng, [16, 16], 0.2);
    const gain = tf.ones([16]),
      bias = tf.zeros([16]);
    const rms = normInvariances((t) => rmsNorm(t, gain, 1e-12), x, w);
    const ln = normInvariances((t) => layerNorm(t, gain, bias, 1e-12), x, w);
    expect(rms.inputScale).toBeLessThan(1e-5);
    expect(rms.weightScale).toBeLessThan(1e-5);
    expect(rms.inputShift).toBeGreaterThan(0.1);
    expect(Math.max(ln.inputScale, ln.inputShift, ln.weightScale)).toBeLessThan(1e-5);
    // The identity is not invariant to anything: the check can fail.
    const none = normInvariances((t) => tf.clone(t), x, w);
    expect(none.inputScale).toBeGreaterThan(1);
    expect(none.inputShift).toBeCloseTo(3, 5);
    // A sign flip is not removed by dividing by the RMS.
    expect(normInvariances((t) => rmsNorm(t, gain, 1e-12), x, w, { scale: -2 }).inputScale).toBeGreaterThan(1);
    tf.dispose([x, w, gain, bias]);
  });
});
