import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { gradientNorms, meanGradientNorms, residualNorms } from "../../lib/papers/01-pre-ln-vs-post-ln";
import { variableFrom } from "../../lib/models/params";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("norm metrics", () => {
  it("gradient norms are ‖∂L/∂W‖_F per variable (L = Σw² gives 2‖W‖)", () => {
    const params = {
      layers: [
        {
          w: variableFrom(() =>
            tf.tensor2d([
              [3, 0],
              [0, 4],
            ]),
          ),
        },
      ],
      b: variableFrom(() => tf.tensor1d([1, 1])),
    };
    const norms = gradientNorms(params, () => tf.add(tf.sum(tf.square(params.layers[0].w)), tf.mul(tf.sum(params.b), 0.5)) as tf.Scalar);
    expect(norms.get("layers.0.w")).toBeCloseTo(10, 5);
    expect(norms.get("b")).toBeCloseTo(Math.SQRT1_2, 5);
    const avg = meanGradientNorms(params, (i) => tf.mul(tf.sum(params.b), i + 1) as tf.Scalar, 3);
    expect(avg.get("b")).toBeCloseTo(Math.SQRT2 * 2, 5); // mean of √2·{1,2,3}
  });

  it("residual norms are the mean squared L2 norm per token", () => {
    const h = tf.tensor3d([
      [
        [3, 4],
        [0, 1],
      ],
    ]); // ‖·‖² = 25 and 1
    expect(residualNorms([h])[0]).toBeCloseTo(13, 5);
  });
});
