/**
 * transformer-anatomy: the shared library behind the notebooks.
 * Everything public is re-exported here; notebooks `import * as ta from "transformer-anatomy"`.
 */
import * as tf from "@tensorflow/tfjs";
import { assertFreshBuild } from "./buildcheck";

assertFreshBuild(__dirname);

export { tf };
export * from "./config";
export * from "./engine";
export * from "./engine/rng";
export * from "./models/norms";
export * from "./models/params";
export * from "./models/loss";
export * from "./models/transformer";
export * from "./train/schedules";
export * from "./train/optimizer";
export * from "./train/trainer";
export * from "./data/cache";
export * from "./data/sotu";
export * from "./data/tokenizers";
export * from "./data/batches";
export * from "./notebook/kernel";
export * from "./notebook/chromium";
export * from "./notebook/plot";
export * from "./notebook/progress";
export * from "./notebook/table";
export * from "./notebook/claims";
export * from "./notebook/exercise";
export * from "./notebook/mode";
export * from "./models/generate";
export * from "./train/evaluate";
export * from "./metrics/norms";
export * from "./train/lm";
export * from "./metrics/stats";
export * from "./data/images";
export * from "./models/gmlp";
export * from "./models/vision";
export * from "./train/classifier";
export * from "./models/arms";
export * from "./metrics/spatial";
export * from "./metrics/attention";
export * from "./models/joma";
export * from "./data/hierarchical";
export * from "./metrics/latents";
export * from "./metrics/linearity";
export * from "./models/linearize";
export * from "./data/brown";
export * from "./models/attention-only";
export * from "./models/fast-weights";
export * from "./models/rnn";
export * from "./data/sentiment";
export * from "./train/ulmfit";
export * from "./models/communication";
export * from "./metrics/curvature";
