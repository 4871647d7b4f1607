/**
 * The official retrieval logs of Schlag, Irie & Schmidhuber (2021): one run per (arm, S), key
 * dimension 64, reduced to each run's smallest evaluation loss in
 * data/reference/schlag2021-retrieval-logs.json (provenance and licence inside). Notebook 07 reads
 * the paper's capacities from them with its own rule, so the paper's numbers and ours are read the
 * same way.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DATA_DIR } from "../../data/cache";

export const OFFICIAL_LOGS_FILE = path.join(DATA_DIR, "reference", "schlag2021-retrieval-logs.json");

export interface OfficialRun {
  arm: string;
  /** The log's file stem, e.g. d64_dpfp1_sum. */
  file: string;
  setting: "capacity" | "overwrites";
  /** D = dim φ (null for softmax). */
  featureDim: number | null;
  /** Ascending S; minEvalLoss on the official ½‖y − ŷ‖² (null when every evaluation was NaN). */
  points: { pairs: number; length: number; minEvalLoss: number | null; lastStep: number; evaluations: number }[];
}

export interface OfficialLogs {
  source: { repository: string; commit: string; files: string; licence: string; derivation: string };
  runs: OfficialRun[];
}

/** Reads and checks the reduced official logs. */
export function officialRetrievalLogs(file = OFFICIAL_LOGS_FILE): OfficialLogs {
  if (!fs.existsSync(file)) throw new Error(`officialRetrievalLogs: ${file} is missing (it is committed under data/reference/)`);
  const logs = JSON.parse(fs.readFileSync(file, "utf8")) as OfficialLogs;
  if (!logs.source?.commit || !Array.isArray(logs.runs) || logs.runs.length === 0)
    throw new Error(`officialRetrievalLogs: ${file} has no source or no runs`);
  for (const r of logs.runs) {
    const s = r.points.map((p) => p.pairs);
    if (!s.every((x, i) => i === 0 || x > s[i - 1])) throw new Error(`officialRetrievalLogs: ${r.file}: S not ascending`);
  }
  return logs;
}

/**
 * Capacity of one official run read with notebook 07's rules, the official loss doubled onto ours
 * (‖y − ŷ‖² = 2 · ½‖y − ŷ‖²): `firstFailure`, the largest S below the first S whose smallest loss
 * misses `solvedBelow`; `lastSolved`, the largest S solved at all (the reading a figure invites).
 */
export function officialCapacity(run: OfficialRun, solvedBelow: number): { firstFailure: number; lastSolved: number; censored: boolean } {
  const solved = (p: OfficialRun["points"][number]) => p.minEvalLoss !== null && 2 * p.minEvalLoss <= solvedBelow;
  let firstFailure = 0;
  let failed = false;
  for (const p of run.points) {
    if (!solved(p)) {
      failed = true;
      break;
    }
    firstFailure = p.pairs;
  }
  const lastSolved = Math.max(0, ...run.points.filter(solved).map((p) => p.pairs));
  return { firstFailure, lastSolved, censored: !failed };
}
