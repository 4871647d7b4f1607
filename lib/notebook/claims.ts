/**
 * Claims: each notebook states what the paper claims, what we measured, and whether it held.
 * `claim()` shows a verdict line and stores a machine-readable record in the output (MIME type
 * CLAIM_MIME), from which the book's scorecard is built. In full mode a claim marked `required`
 * that does not hold throws: the notebook fails rather than print a result it did not get. Claims
 * the notebook expects may not reproduce at our scale are marked `required: false` and reported.
 */
import { displayBundle, escapeHtml } from "./kernel";
import { isSmoke } from "./mode";

export const CLAIM_MIME = "application/vnd.transformer-anatomy.claim+json";

export type Verdict = "held" | "partly" | "not reproduced" | "smoke run";

export interface ClaimSpec {
  /** Stable id, unique within the notebook (e.g. "postln-grad-grows"). */
  id: string;
  /** The claim in a sentence. */
  claim: string;
  /** The paper's figure or statement, quoted. */
  paper: string;
  /** Our measured figure(s), as text. */
  ours: string;
  /** Whether our measurement supports the claim ("partly" when only some of it does). */
  holds: boolean | "partly";
  /** Throw in full mode if it does not hold (default true). */
  required?: boolean;
  /** Why it may not hold at our scale (shown when it does not). */
  caveat?: string;
}

export interface ClaimRecord extends Omit<ClaimSpec, "holds" | "required"> {
  verdict: Verdict;
  smoke: boolean;
}

export class ClaimFailed extends Error {
  constructor(spec: ClaimSpec) {
    super(`claim "${spec.id}" did not hold: ${spec.claim} — ours: ${spec.ours}`);
    this.name = "ClaimFailed";
  }
}

const recorded: ClaimRecord[] = [];

/** Every claim recorded in this process (for scripts and tests). */
export function recordedClaims(): readonly ClaimRecord[] {
  return recorded;
}

export function claim(spec: ClaimSpec): void {
  const smoke = isSmoke();
  const verdict: Verdict = smoke ? "smoke run" : spec.holds === true ? "held" : spec.holds === "partly" ? "partly" : "not reproduced";
  const record: ClaimRecord = { id: spec.id, claim: spec.claim, paper: spec.paper, ours: spec.ours, caveat: spec.caveat, verdict, smoke };
  recorded.push(record);
  const colour = { held: "#2a7a3a", partly: "#b07a00", "not reproduced": "#b03030", "smoke run": "#777" }[verdict];
  const mark = { held: "✔", partly: "◐", "not reproduced": "✘", "smoke run": "·" }[verdict];
  const caveat = verdict !== "held" && spec.caveat ? ` — ${spec.caveat}` : "";
  const plain = `${mark} [${verdict}] ${spec.claim} | paper: ${spec.paper} | ours: ${spec.ours}${caveat}`;
  const html =
    `<div style="border-left:4px solid ${colour};padding:4px 10px;margin:4px 0">` +
    `<b style="color:${colour}">${mark} ${escapeHtml(verdict)}</b> — ${escapeHtml(spec.claim)}<br>` +
    `<small>paper: ${escapeHtml(spec.paper)} · ours: ${escapeHtml(spec.ours)}${escapeHtml(caveat)}</small></div>`;
  if (!displayBundle({ "text/html": html, "text/plain": plain, [CLAIM_MIME]: record })) console.log(plain);
  if (!smoke && spec.holds !== true && (spec.required ?? true)) throw new ClaimFailed(spec);
}
