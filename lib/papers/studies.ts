/** Every pretrained study (`npm run pretrain -- <name>`), by name: see lib/pretrain/studies.ts. */
import type { Study } from "../pretrain/studies";
import { GMLP_MLM_STUDY } from "./03-gmlp/study";

// biome-ignore lint/suspicious/noExplicitAny: a registry of studies with different configs and results
export const STUDIES: Record<string, Study<any, any>> = { [GMLP_MLM_STUDY.name]: GMLP_MLM_STUDY };
