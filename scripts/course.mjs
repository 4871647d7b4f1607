#!/usr/bin/env node
// npm run course: teaching copies of the notebooks in build/course/.
//   student/     outputs and execution counts cleared; each solution cell (tagged "solution") replaced
//                by the exercise cell derived from it (tagged "exercise", `prediction: undefined`), so
//                it runs as a to-do note until the student fills it in.
//   instructor/  the notebooks as committed: full-run outputs and the worked solutions.
// Both folders sit inside the project, so `import "transformer-anatomy"` resolves as it does in
// notebooks/; open them with `npm start` (Jupyter serves the whole project) or any tslab Jupyter.
//
// One source per exercise. The committed notebooks hold only the solution cell of each exercise;
// the student's cell is derived from it (exerciseFromSolution). In a solution cell, what the
// student must fill in is marked with two block comments on one line:
//
//   const prediction: number | undefined = /* answer: why, for the instructor */ 0.2785 / beta /* end */;
//   const context = /* answer */ 4 /* student: 8 */; // ← window length
//
//   /* answer */ … /* end */          the instructor's prediction; the student copy has `undefined`.
//   /* answer */ … /* student: X */   the instructor's change; the student copy starts from X.
// The opening comment may carry a note after "answer" (`/* answer: … */`, no "*/" inside); the
// whole span, markers and note included, is replaced. Every solution cell needs exactly one span
// on its `const prediction` line, closed by /* end */; spans never cross a line. The first line,
// "// Solution NN.k (…)", becomes "// Exercise NN.k: write your prediction, make the change, run.".
// The instructor copy keeps the markers: it is the committed notebook byte for byte (its outputs
// were produced by exactly that source), and the markers show the instructor what the student
// sees blank, with the reason in the note.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const COURSE_DIR = path.join(ROOT, "build", "course");
const NOTEBOOKS = path.join(ROOT, "notebooks");

/**
 * @typedef {{ cell_type: string, id?: string, metadata?: { tags?: string[], [key: string]: unknown },
 *   source: string[] | string, outputs?: unknown[], execution_count?: number | null, [key: string]: unknown }} Cell
 * @typedef {{ cells: Cell[], [key: string]: unknown }} Notebook
 */

/** @param {Cell} cell */
const tags = (cell) => cell.metadata?.tags ?? [];
/** @param {Cell} cell */
const sourceText = (cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);

/** An answer span: opening comment (with its note), the instructor's text, closing comment. */
const ANSWER_SPAN = /\/\*\s*answer\b(?:[^*]|\*(?!\/))*\*\/\s?(.*?)\s?\/\*\s*(end|student:((?:[^*]|\*(?!\/))*?))\s*\*\//g;
const OPENING = /\/\*\s*answer\b/g;
const CLOSING = /\/\*\s*(?:end\s*\*\/|student:)/g;
const SOLUTION_LINE = /^\/\/ Solution (\d\d\.\d+)\b.*$/;

/**
 * Replaces the answer spans of one line; returns the line and what it replaced.
 * @param {string} line
 * @returns {{ line: string, spans: { answer: string, student: string }[] }}
 */
function blankLine(line) {
  /** @type {{ answer: string, student: string }[]} */
  const spans = [];
  const blanked = line.replace(ANSWER_SPAN, (_all, answer, close, student) => {
    const startValue = close === "end" ? "undefined" : String(student).trim();
    spans.push({ answer, student: startValue });
    return startValue;
  });
  return { line: blanked, spans };
}

/**
 * The student's exercise cell derived from an instructor's solution cell (see the header of this
 * file): answer spans blanked, first line reworded, tagged "exercise", no outputs. `where` names
 * the cell in error messages (e.g. "06-attention-only.ipynb, cell 23").
 * @param {Cell} cell
 * @param {string} [where]
 * @returns {Cell}
 */
export function exerciseFromSolution(cell, where = `cell ${cell.id ?? "?"}`) {
  /** @param {string} why @returns {never} */
  function fail(why) {
    throw new Error(`${where}: ${why}`);
  }
  if (cell.cell_type !== "code" || !tags(cell).includes("solution")) fail('not a code cell tagged "solution"');
  const lines = sourceText(cell).split("\n");
  const first = SOLUTION_LINE.exec(lines[0]);
  if (!first) fail(`the first line must be "// Solution NN.k (…)", got ${JSON.stringify(lines[0])}`);
  const id = first[1];
  const declared = /\bid:\s*"(\d\d\.\d+)"/.exec(lines.join("\n"))?.[1];
  if (declared !== undefined && declared !== id) fail(`"// Solution ${id}" but the exercise has id "${declared}"`);
  let predictions = 0;
  const out = lines.map((line, n) => {
    const opened = line.match(OPENING)?.length ?? 0;
    const closed = line.match(CLOSING)?.length ?? 0;
    const { line: blanked, spans } = blankLine(line);
    if (opened !== spans.length || closed !== spans.length) {
      fail(
        `line ${n + 1} has an unclosed or stray answer marker (/* answer */ … /* end */ or /* student: … */, on one line): ${line.trim()}`,
      );
    }
    if (/\bconst prediction\b/.test(line)) {
      if (spans.length !== 1 || spans[0].student !== "undefined") {
        fail(
          `no prediction marker: mark the instructor's prediction as one span closed by /* end */, e.g. ` +
            `\`const prediction: number | undefined = /* answer */ 0.5 /* end */;\`; got: ${line.trim()}`,
        );
      }
      predictions++;
    }
    return blanked;
  });
  if (predictions !== 1)
    fail(
      `no prediction marker: expected one \`const prediction … = /* answer */ … /* end */;\` line, found ${predictions} \`const prediction\` lines`,
    );
  out[0] = `// Exercise ${id}: write your prediction, make the change, run.`;
  const text = out.join("\n");
  const leak = out.find((l) => /\bSolution\b/.test(l));
  if (leak !== undefined) fail(`the derived exercise cell still says "Solution": ${leak.trim()}`);
  const source = text.split(/(?<=\n)/);
  return {
    ...cell,
    execution_count: null,
    metadata: { ...cell.metadata, tags: tags(cell).map((t) => (t === "solution" ? "exercise" : t)) },
    outputs: [],
    source: Array.isArray(cell.source) ? source : text,
  };
}

/**
 * A student copy of a notebook (JSON object in, JSON object out): outputs cleared, each solution
 * cell replaced by its exercise cell.
 * @param {Notebook} nb
 * @param {string} [name] the notebook's file name, for error messages
 * @returns {Notebook}
 */
export function studentCopy(nb, name = "notebook") {
  const cells = nb.cells.map((cell, index) => {
    if (tags(cell).includes("solution")) return exerciseFromSolution(cell, `${name}, cell ${index} (id ${cell.id ?? "?"})`);
    if (cell.cell_type !== "code") return cell;
    return { ...cell, outputs: [], execution_count: null };
  });
  return { ...nb, cells };
}

/**
 * Writes build/course/{student,instructor}; returns per-notebook counts.
 * @param {string} [outDir]
 * @returns {{ file: string, exercises: number }[]}
 */
export function buildCourse(outDir = COURSE_DIR) {
  fs.rmSync(outDir, { recursive: true, force: true });
  for (const sub of ["student", "instructor"]) fs.mkdirSync(path.join(outDir, sub), { recursive: true });
  const rows = [];
  for (const file of fs
    .readdirSync(NOTEBOOKS)
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .sort()) {
    const text = fs.readFileSync(path.join(NOTEBOOKS, file), "utf8");
    /** @type {Notebook} */
    const nb = JSON.parse(text);
    const handKept = nb.cells.findIndex((c) => tags(c).includes("exercise"));
    if (handKept >= 0) {
      throw new Error(
        `${file}, cell ${handKept}: tagged "exercise"; exercise cells are derived from the solution cells ` +
          "(mark the answer with /* answer */ … /* end */ in the solution cell and delete this cell)",
      );
    }
    const student = studentCopy(nb, file);
    const exercises = student.cells.filter((c) => tags(c).includes("exercise")).length;
    fs.writeFileSync(path.join(outDir, "instructor", file), text);
    fs.writeFileSync(path.join(outDir, "student", file), `${JSON.stringify(student, null, 1)}\n`);
    rows.push({ file, exercises });
  }
  fs.writeFileSync(
    path.join(outDir, "README.md"),
    `# Course copies

Built by \`npm run course\` from \`notebooks/\`.

- \`student/\`: outputs cleared, worked solutions removed. Each exercise cell asks for a prediction
  (replace \`undefined\`) and suggests a change; running it runs the experiment and grades the prediction.
- \`instructor/\`: the notebooks as committed, with full-run outputs and a worked solution cell for each
  exercise; \`/* answer */ … /* end */\` marks what the student copy leaves for the student to fill in.

The teaching guide (order, prerequisites, time per notebook) is in \`notebooks/README.md\`.
`,
  );
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = buildCourse();
  const total = rows.reduce((t, r) => t + r.exercises, 0);
  console.log(
    `[course] ${rows.length} notebooks, ${total} exercises: student copies in build/course/student/, ` +
      "instructor copies in build/course/instructor/",
  );
}
