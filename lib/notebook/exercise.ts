/**
 * Exercises at the end of each notebook: the student writes a prediction, makes a change (a config
 * value in the exercise cell), then runs the cell; `exercise` runs the experiment, shows the measured
 * value and grades the prediction. An exercise whose prediction is still `undefined` does not run
 * its experiment: it says what to fill in, so a student copy runs top to bottom untouched.
 *
 * In the notebooks, each exercise is a markdown cell and one code cell, the solution (tagged
 * "solution": prediction and change filled in, the instructor's answer). What the student must
 * fill in is marked in it by two block comments on one line, `answer` (or `answer: why`) before
 * and `end` after the instructor's prediction, which the student copy replaces by `undefined`:
 * `const prediction: number | undefined = ⟨answer⟩ 0.2785 / beta ⟨end⟩;`. A change the student
 * makes is marked the same way but closed by `student: X`, and the student copy starts from X.
 * (⟨…⟩ stands for a slash-star comment, which cannot be written inside this one; the syntax with
 * examples is in the header of scripts/course.mjs.) `npm run course` derives the student's
 * exercise cell (tagged "exercise", first line "// Exercise NN.k: …", no outputs) from each
 * solution cell with `exerciseFromSolution`; the committed notebooks hold no exercise cells.
 */
import { displayBundle, escapeHtml } from "./kernel";

export const EXERCISE_MIME = "application/vnd.transformer-anatomy.exercise+json";

export interface ExerciseSpec<P, M> {
  /** "<notebook>.<n>", e.g. "01.2". */
  id: string;
  /** The question, in one or two sentences. */
  question: string;
  /** The student's prediction; `undefined` until they write one. */
  prediction: P | undefined;
  /** The experiment, with the student's change; returns what was measured. */
  run: () => M | Promise<M>;
  /** Whether the prediction matches the measurement. */
  check: (prediction: P, measured: M) => boolean;
  /** How to show the measurement (default: JSON). */
  show?: (measured: M) => string;
  /** What the result means (shown after grading). */
  explain?: string;
}

export interface ExerciseRecord {
  id: string;
  status: "to do" | "correct" | "incorrect";
  prediction?: unknown;
  measured?: string;
}

/** A prediction as the student would write it: numbers to 4 significant digits. */
function formatPrediction(value: unknown): string {
  return typeof value === "number" ? String(Number(value.toPrecision(4))) : JSON.stringify(value);
}

function emit(record: ExerciseRecord, plain: string, html: string): void {
  if (!displayBundle({ "text/html": html, "text/plain": plain, [EXERCISE_MIME]: record })) console.log(plain);
}

/** Runs and grades one exercise (see module comment); returns the measurement, or undefined if not attempted. */
export async function exercise<P, M>(spec: ExerciseSpec<P, M>): Promise<M | undefined> {
  if (!/^\d\d\.\d+$/.test(spec.id)) throw new Error(`exercise id must look like "01.2", got "${spec.id}"`);
  if (spec.prediction === undefined) {
    const plain = `✎ Exercise ${spec.id}: ${spec.question} — write your prediction (and make the change) in this cell, then run it.`;
    emit(
      { id: spec.id, status: "to do" },
      plain,
      `<div style="border-left:4px solid #5b7fb5;padding:4px 10px;margin:4px 0"><b>✎ Exercise ${escapeHtml(spec.id)}</b> — ` +
        `${escapeHtml(spec.question)}<br><small>Write your prediction (and make the change) in this cell, then run it.</small></div>`,
    );
    return undefined;
  }
  const measured = await spec.run();
  const shown = spec.show ? spec.show(measured) : JSON.stringify(measured);
  const correct = spec.check(spec.prediction, measured);
  const verdict = correct ? "correct" : "incorrect";
  const predicted = formatPrediction(spec.prediction);
  const plain =
    `${correct ? "✔" : "✘"} Exercise ${spec.id}: you predicted ${predicted}; measured ${shown} — ${verdict}.` +
    (spec.explain ? ` ${spec.explain}` : "");
  const colour = correct ? "#2a7a3a" : "#b03030";
  emit(
    { id: spec.id, status: verdict, prediction: spec.prediction, measured: shown },
    plain,
    `<div style="border-left:4px solid ${colour};padding:4px 10px;margin:4px 0"><b style="color:${colour}">${correct ? "✔" : "✘"} ` +
      `Exercise ${escapeHtml(spec.id)}: ${verdict}</b> — you predicted <code>${escapeHtml(predicted)}</code>; ` +
      `measured <code>${escapeHtml(shown)}</code>.${spec.explain ? `<br><small>${escapeHtml(spec.explain)}</small>` : ""}</div>`,
  );
  return measured;
}
