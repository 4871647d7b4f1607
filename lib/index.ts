/**
 * transformer-anatomy: the shared library behind the notebooks.
 * Everything public is re-exported here; notebooks `import * as ta from "transformer-anatomy"`.
 */
import * as tf from "@tensorflow/tfjs";

export { tf };
export * from "./config";
export * from "./engine";
export * from "./engine/rng";
export * from "./models/norms";
export * from "./models/params";
export * from "./models/loss";
export * from "./models/transformer";
