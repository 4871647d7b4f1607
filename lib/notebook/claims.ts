/**
 * Claims: each notebook decides the paper's claims from evidence. `claim()` shows a verdict and
 * stores a machine-readable record in the output (MIME type CLAIM_MIME), from which the book's
 * scorecard is built and which `test/claims.test.ts` checks in every committed notebook.
 *
 * A claim record (format 2) carries the claim in the paper's terms and the paper's figure; the
 * **criterion**, written in the claim's code before the measurement and taken from the paper or
 * from a rule stated in the notebook; the **statistic** measured, its **uncertainty** (an interval
 * from lib/metrics/inference.ts) and **n**; optionally a **control** — the same criterion applied
 * to a case that must fail it — and the training-quality **gates** of the arms it depends on.
 * The verdict is computed, never given:
 *
 *   reproduced      the whole interval satisfies the criterion, the control fails it, every gate passed
 *   not reproduced  the whole interval fails the criterion (and the control fails, the gates passed)
 *   inconclusive    the interval straddles the criterion, or the control also passes (or straddles),
 *                   or an arm failed its gate
 *
 * In full mode a claim marked `required` that is not reproduced throws: the notebook fails rather
 * than print a result it did not get. In smoke mode nothing throws and the record says so.
 *
 * Format 1 records (`holds: boolean | "partly"`, free-text figures) are still accepted from
 * notebooks not yet redone; the scorecard shows them as "old format".
 */
import type { QualityGate } from "../train/gates";
import { displayBundle, escapeHtml } from "./kernel";
import { isSmoke } from "./mode";

export const CLAIM_MIME = "application/vnd.transformer-anatomy.claim+json";

// ---------------------------------------------------------------------------------------------
// Format 2

/**
 * What the statistic must do for the claim to be reproduced. "above"/"below": exceed / stay under
 * `threshold`; "within": differ from `center` (default 0) by less than `margin` — an equivalence
 * test with the margin named in advance.
 */
export type Criterion =
  | { kind: "above"; threshold: number; source: string }
  | { kind: "below"; threshold: number; source: string }
  | { kind: "within"; margin: number; center?: number; source: string };

export interface Uncertainty {
  low: number;
  high: number;
  /** Coverage of [low, high], e.g. 0.95. */
  level: number;
  se?: number;
  /** How the interval was made ("t interval over 3 seeds", "percentile bootstrap, …"). */
  method: string;
}

export interface ClaimSpecV2 {
  /** Stable id, unique within the notebook (e.g. "postln-grad-grows"). */
  id: string;
  paper: { citation: string; where: string };
  /** The claim in the paper's terms. */
  claim: string;
  /** The paper's figure or statement, quoted. */
  paperFigure: string;
  criterion: Criterion;
  statistic: { name: string; value: number; unit?: string };
  /** Required when n > 1. */
  uncertainty?: Uncertainty;
  /** Seeds, examples or runs behind the statistic. */
  n: number;
  /** The criterion applied to a case that must fail it (untrained model, shuffled labels, …). */
  control?: { description: string; value: number; low?: number; high?: number };
  gates?: QualityGate[];
  /** Set only when the criterion changed after the notebook was first written: what changed and why. */
  criterionChanged?: string;
  /** Throw in full mode unless reproduced (default false). */
  required?: boolean;
  /** Anything a reader needs beside the reason (shown under the verdict). */
  note?: string;
}

export type VerdictV2 = "reproduced" | "not reproduced" | "inconclusive";
/** How an interval (or a point) stands against a criterion. */
export type Outcome = "passes" | "fails" | "straddles";

export interface ClaimRecordV2 extends Omit<ClaimSpecV2, "control" | "required"> {
  format: 2;
  criterionText: string;
  control?: ClaimSpecV2["control"] & { outcome: Outcome };
  verdict: VerdictV2;
  /** For "not reproduced" and "inconclusive": what was measured that decided it. */
  reason?: string;
  required: boolean;
  smoke: boolean;
}

/** The criterion as text, e.g. "> 0.5", "< 2.36", "|x − 0| < 0.02". */
export function criterionText(c: Criterion): string {
  if (c.kind === "above") return `> ${fmt(c.threshold)}`;
  if (c.kind === "below") return `< ${fmt(c.threshold)}`;
  const center = c.center ?? 0;
  return `|x − ${center < 0 ? `(${fmt(center)})` : fmt(center)}| < ${fmt(c.margin)}`;
}

/** Where [low, high] stands against the criterion. */
export function judge(c: Criterion, low: number, high: number): Outcome {
  if (!(low <= high)) throw new Error(`judge: interval [${low}, ${high}] is empty or not numbers`);
  if (c.kind === "above") return low > c.threshold ? "passes" : high <= c.threshold ? "fails" : "straddles";
  if (c.kind === "below") return high < c.threshold ? "passes" : low >= c.threshold ? "fails" : "straddles";
  const center = c.center ?? 0;
  if (low > center - c.margin && high < center + c.margin) return "passes";
  if (high <= center - c.margin || low >= center + c.margin) return "fails";
  return "straddles";
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? Number(x.toPrecision(4)).toExponential() : Number(x.toPrecision(4)).toString();
}

function validate(spec: ClaimSpecV2): void {
  const bad = (what: string) => {
    throw new Error(`claim "${spec.id}": ${what}`);
  };
  if (!spec.id) bad("needs an id");
  if (!spec.paper?.citation || !spec.paper.where) bad("paper needs a citation and where in the paper (figure or section)");
  if (!spec.claim || !spec.paperFigure) bad("needs the claim and the paper's figure");
  const c = spec.criterion;
  if (!c?.source) bad("needs a criterion with its source (the paper's figure, or the rule stated in the notebook)");
  if ((c.kind === "above" || c.kind === "below") && !Number.isFinite(c.threshold))
    bad(`criterion threshold must be a number, got ${c.threshold}`);
  if (c.kind === "within" && !(c.margin > 0)) bad(`criterion margin must be > 0, got ${c.margin}`);
  if (!["above", "below", "within"].includes(c.kind))
    bad(`criterion kind must be above, below or within, got "${(c as { kind: string }).kind}"`);
  if (!spec.statistic?.name || !Number.isFinite(spec.statistic.value))
    bad(`statistic needs a name and a finite value, got ${spec.statistic?.value}`);
  if (!(Number.isInteger(spec.n) && spec.n >= 1)) bad(`n must be a positive integer, got ${spec.n}`);
  const u = spec.uncertainty;
  if (spec.n > 1 && !u) bad(`n = ${spec.n} needs an uncertainty (an interval over the ${spec.n} values)`);
  if (u && !(u.low <= spec.statistic.value && spec.statistic.value <= u.high))
    bad(`the statistic ${spec.statistic.value} lies outside its interval [${u.low}, ${u.high}]`);
  if (u && !(u.level > 0 && u.level < 1 && u.method)) bad("uncertainty needs its level and method");
  if (spec.control && !Number.isFinite(spec.control.value)) bad(`control value must be finite, got ${spec.control.value}`);
}

function decide(spec: ClaimSpecV2): Pick<ClaimRecordV2, "verdict" | "reason" | "control"> {
  const c = spec.criterion;
  const text = criterionText(c);
  const low = spec.uncertainty?.low ?? spec.statistic.value;
  const high = spec.uncertainty?.high ?? spec.statistic.value;
  const measured = spec.uncertainty
    ? `${spec.statistic.name} ${fmt(spec.statistic.value)} [${fmt(low)}, ${fmt(high)}]`
    : `${spec.statistic.name} ${fmt(spec.statistic.value)}`;
  const outcome = judge(c, low, high);
  const control = spec.control
    ? { ...spec.control, outcome: judge(c, spec.control.low ?? spec.control.value, spec.control.high ?? spec.control.value) }
    : undefined;
  const failedGates = (spec.gates ?? []).filter((g) => !g.passed);
  const controlReason =
    control && control.outcome !== "fails"
      ? `the control ${control.outcome === "passes" ? "also passes" : "does not clearly fail"} (${control.description}: ${fmt(control.value)} against ${text})`
      : undefined;
  if (failedGates.length) {
    // every reason that decides it, so a reader never fixes one and meets the next
    const gates = `gate failed: ${failedGates.map((g) => `${g.name} (${g.detail})`).join("; ")}`;
    return { verdict: "inconclusive", control, reason: controlReason ? `${gates}; and ${controlReason}` : gates };
  }
  if (controlReason) return { verdict: "inconclusive", control, reason: controlReason };
  if (outcome === "passes") return { verdict: "reproduced", control };
  if (outcome === "fails") return { verdict: "not reproduced", control, reason: `${measured} fails the criterion ${text}` };
  return { verdict: "inconclusive", control, reason: `${measured} straddles the criterion ${text}` };
}

// ---------------------------------------------------------------------------------------------
// Format 1 (notebooks not yet redone)

export type VerdictV1 = "held" | "partly" | "not reproduced" | "smoke run";

export interface ClaimSpecV1 {
  id: string;
  claim: string;
  /** The paper's figure or statement, quoted. */
  paper: string;
  /** Our measured figure(s), as text. */
  ours: string;
  holds: boolean | "partly";
  /** Throw in full mode if it does not hold (default true). */
  required?: boolean;
  caveat?: string;
}

export interface ClaimRecordV1 extends Omit<ClaimSpecV1, "holds" | "required"> {
  verdict: VerdictV1;
  smoke: boolean;
}

export type ClaimRecord = ClaimRecordV1 | ClaimRecordV2;
export type ClaimSpec = ClaimSpecV1 | ClaimSpecV2;

export class ClaimFailed extends Error {
  constructor(id: string, what: string) {
    super(`claim "${id}" ${what}`);
    this.name = "ClaimFailed";
  }
}

const recorded: ClaimRecord[] = [];

/** Every claim recorded in this process (for scripts and tests). */
export function recordedClaims(): readonly ClaimRecord[] {
  return recorded;
}

const COLOUR: Record<string, string> = {
  reproduced: "#2a7a3a",
  held: "#2a7a3a",
  partly: "#b07a00",
  inconclusive: "#b07a00",
  "not reproduced": "#b03030",
  "smoke run": "#777",
};
const MARK: Record<string, string> = {
  reproduced: "✔",
  held: "✔",
  partly: "◐",
  inconclusive: "◐",
  "not reproduced": "✘",
  "smoke run": "·",
};

/** Decides, shows and records one claim (the record: `recordedClaims()`; nothing is returned, so a notebook cell does not echo it). */
export function claim(spec: ClaimSpec): void {
  if ("criterion" in spec) claimV2(spec);
  else claimV1(spec);
}

function claimV2(spec: ClaimSpecV2): ClaimRecordV2 {
  validate(spec);
  const smoke = isSmoke();
  const { control: _control, required = false, ...rest } = spec;
  const record: ClaimRecordV2 = { ...rest, format: 2, criterionText: criterionText(spec.criterion), ...decide(spec), required, smoke };
  recorded.push(record);
  const shown = smoke ? "smoke run" : record.verdict;
  const u = spec.uncertainty;
  const stat = `${spec.statistic.name} = ${fmt(spec.statistic.value)}${spec.statistic.unit ? ` ${spec.statistic.unit}` : ""}${u ? ` (${Math.round(100 * u.level)}% interval [${fmt(u.low)}, ${fmt(u.high)}], ${u.method})` : ""}, n = ${spec.n}`;
  const control = record.control
    ? ` · control: ${record.control.description} = ${fmt(record.control.value)} (${record.control.outcome})`
    : "";
  const gates = spec.gates?.length ? ` · gates: ${spec.gates.map((g) => `${g.passed ? "✔" : "✘"} ${g.name}`).join("; ")}` : "";
  const reason = record.reason ? ` — ${record.reason}` : "";
  const changed = spec.criterionChanged ? ` · criterion changed: ${spec.criterionChanged}` : "";
  const plain =
    `${MARK[shown]} [${shown}] ${spec.claim} | paper (${spec.paper.citation}, ${spec.paper.where}): ${spec.paperFigure} | ` +
    `criterion: ${record.criterionText} (${spec.criterion.source}) | ours: ${stat}${control}${gates}${reason}${changed}`;
  const html =
    `<div style="border-left:4px solid ${COLOUR[shown]};padding:4px 10px;margin:4px 0">` +
    `<b style="color:${COLOUR[shown]}">${MARK[shown]} ${escapeHtml(shown)}</b> — ${escapeHtml(spec.claim)}<br>` +
    `<small>paper (${escapeHtml(spec.paper.citation)}, ${escapeHtml(spec.paper.where)}): ${escapeHtml(spec.paperFigure)}<br>` +
    `criterion: <b>${escapeHtml(record.criterionText)}</b> (${escapeHtml(spec.criterion.source)})${escapeHtml(changed)}<br>` +
    `ours: ${escapeHtml(stat)}${escapeHtml(control)}${escapeHtml(gates)}` +
    `${record.reason ? `<br>reason: ${escapeHtml(record.reason)}` : ""}${spec.note ? `<br>${escapeHtml(spec.note)}` : ""}</small></div>`;
  if (!displayBundle({ "text/html": html, "text/plain": plain, [CLAIM_MIME]: record })) console.log(plain);
  if (!smoke && required && record.verdict !== "reproduced") throw new ClaimFailed(spec.id, `is ${record.verdict}: ${record.reason ?? ""}`);
  return record;
}

function claimV1(spec: ClaimSpecV1): ClaimRecordV1 {
  const smoke = isSmoke();
  const verdict: VerdictV1 = smoke ? "smoke run" : spec.holds === true ? "held" : spec.holds === "partly" ? "partly" : "not reproduced";
  const record: ClaimRecordV1 = { id: spec.id, claim: spec.claim, paper: spec.paper, ours: spec.ours, caveat: spec.caveat, verdict, smoke };
  recorded.push(record);
  const caveat = verdict !== "held" && spec.caveat ? ` — ${spec.caveat}` : "";
  const plain = `${MARK[verdict]} [${verdict}] ${spec.claim} | paper: ${spec.paper} | ours: ${spec.ours}${caveat}`;
  const html =
    `<div style="border-left:4px solid ${COLOUR[verdict]};padding:4px 10px;margin:4px 0">` +
    `<b style="color:${COLOUR[verdict]}">${MARK[verdict]} ${escapeHtml(verdict)}</b> — ${escapeHtml(spec.claim)}<br>` +
    `<small>paper: ${escapeHtml(spec.paper)} · ours: ${escapeHtml(spec.ours)}${escapeHtml(caveat)}</small></div>`;
  if (!displayBundle({ "text/html": html, "text/plain": plain, [CLAIM_MIME]: record })) console.log(plain);
  if (!smoke && spec.holds !== true && (spec.required ?? true))
    throw new ClaimFailed(spec.id, `did not hold: ${spec.claim} — ours: ${spec.ours}`);
  return record;
}
