/**
 * transformer-anatomy: the shared library behind the notebooks.
 * Everything public is re-exported here; notebooks `import * as ta from "transformer-anatomy"`.
 *
 * The core — engine, models, training, data, metrics, notebook display — knows no paper; each
 * paper's own models, metrics and procedures live in `papers/NN-name/` (its header names the
 * paper, the equations and the notebook).
 */
import * as tf from "@tensorflow/tfjs";
import { assertFreshBuild } from "./buildcheck";
import { addBannerNote } from "./engine";
import { smokeBannerNote } from "./notebook/mode";

assertFreshBuild(__dirname);
// `ta.ready()`'s engine line, the first output of every notebook, warns when a smoke run in a
// front end will autosave over the committed full-run outputs.
addBannerNote(smokeBannerNote);

export { tf };
export * from "./config";

export * from "./engine";
export * from "./engine/rng";

export * from "./models/ops";
export * from "./models/norms";
export * from "./models/params";
export * from "./models/loss";
export * from "./models/transformer";
export * from "./models/generate";
export * from "./models/lstm";

export * from "./train/schedules";
export * from "./train/optimizer";
export * from "./train/trainer";
export * from "./train/evaluate";
export * from "./train/lm";
export * from "./train/gates";

export * from "./pretrain/recipes";
export * from "./pretrain/checkpoints";
export * from "./pretrain/studies";

export * from "./data/cache";
export * from "./data/sotu";
export * from "./data/brown";
export * from "./data/sentiment";
export * from "./data/images";
export * from "./data/tokenizers";
export * from "./data/batches";
export * from "./data/safetensors";

export * from "./metrics/stats";
export * from "./metrics/matrix";
export * from "./metrics/inference";
export * from "./metrics/ngram";
export * from "./metrics/naive-bayes";

export * from "./notebook/kernel";
export * from "./notebook/chromium";
export * from "./notebook/plot";
export * from "./notebook/progress";
export * from "./notebook/table";
export * from "./notebook/claims";
export * from "./notebook/exercise";
export * from "./notebook/mode";
export * from "./notebook/stamp";

export * from "./papers/01-pre-ln-vs-post-ln";
export * from "./papers/02-rmsnorm-gopher";
export * from "./papers/03-gmlp";
export * from "./papers/04-joma";
export * from "./papers/05-secretly-linear";
export * from "./papers/06-attention-only";
export * from "./papers/07-fast-weights";
export * from "./papers/07-fast-weights/study";
export * from "./papers/07-fast-weights/official";
export * from "./papers/08-ulmfit";
export * from "./papers/09-one-hot-tokens";
export * from "./papers/10-sentence-curvature";

import type { Study } from "./pretrain/studies";
import { GMLP_MLM_STUDY } from "./papers/03-gmlp/study";
import { JOMA_LM_FAST_STUDY, JOMA_LM_STUDY } from "./papers/04-joma/study";
import { LINEAR_COSINE_STUDY } from "./papers/05-secretly-linear/study";
import { FWP_CAPACITY_STUDY, FWP_OVERWRITE_STUDY } from "./papers/07-fast-weights/study";
import { ULMFIT_STUDY } from "./papers/08-ulmfit/study";
/** Every pretrained study (`npm run pretrain -- <name>`), by name: see lib/pretrain/studies.ts. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of studies with different configs and results
export const STUDIES: Record<string, Study<any, any>> = {
  [GMLP_MLM_STUDY.name]: GMLP_MLM_STUDY,
  [JOMA_LM_STUDY.name]: JOMA_LM_STUDY,
  [JOMA_LM_FAST_STUDY.name]: JOMA_LM_FAST_STUDY,
  [LINEAR_COSINE_STUDY.name]: LINEAR_COSINE_STUDY,
  [FWP_CAPACITY_STUDY.name]: FWP_CAPACITY_STUDY,
  [FWP_OVERWRITE_STUDY.name]: FWP_OVERWRITE_STUDY,
  [ULMFIT_STUDY.name]: ULMFIT_STUDY,
};
