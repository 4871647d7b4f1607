#!/usr/bin/env node
// npm run course: teaching copies of the notebooks in build/course/.
//   student/     outputs and execution counts cleared, solution cells (tagged "solution") removed;
//                the exercise cells stay, with `prediction: undefined`, so they run as to-do notes
//                until the student fills them in.
//   instructor/  the notebooks as committed: full-run outputs and the worked solutions.
// Both folders sit inside the project, so `import "transformer-anatomy"` resolves as it does in
// notebooks/; open them with `npm start` (Jupyter serves the whole project) or any tslab Jupyter.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const COURSE_DIR = path.join(ROOT, "build", "course");
const NOTEBOOKS = path.join(ROOT, "notebooks");

const tags = (cell) => cell.metadata?.tags ?? [];

/** A student copy of a notebook (JSON object in, JSON object out). */
export function studentCopy(nb) {
  const cells = nb.cells
    .filter((cell) => !tags(cell).includes("solution"))
    .map((cell) => {
      if (cell.cell_type !== "code") return cell;
      return { ...cell, outputs: [], execution_count: null };
    });
  return { ...nb, cells };
}

/** Writes build/course/{student,instructor}; returns per-notebook counts. */
export function buildCourse(outDir = COURSE_DIR) {
  fs.rmSync(outDir, { recursive: true, force: true });
  for (const sub of ["student", "instructor"]) fs.mkdirSync(path.join(outDir, sub), { recursive: true });
  const rows = [];
  for (const file of fs.readdirSync(NOTEBOOKS).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort()) {
    const text = fs.readFileSync(path.join(NOTEBOOKS, file), "utf8");
    const nb = JSON.parse(text);
    const exercises = nb.cells.filter((c) => tags(c).includes("exercise")).length;
    const solutions = nb.cells.filter((c) => tags(c).includes("solution")).length;
    if (exercises !== solutions) throw new Error(`${file}: ${exercises} exercise cells but ${solutions} solution cells`);
    fs.writeFileSync(path.join(outDir, "instructor", file), text);
    fs.writeFileSync(path.join(outDir, "student", file), JSON.stringify(studentCopy(nb), null, 1) + "\n");
    rows.push({ file, exercises });
  }
  fs.writeFileSync(path.join(outDir, "README.md"), `# Course copies

Built by \`npm run course\` from \`notebooks/\`.

- \`student/\`: outputs cleared, worked solutions removed. Each exercise cell asks for a prediction
  (replace \`undefined\`) and suggests a change; running it runs the experiment and grades the prediction.
- \`instructor/\`: the notebooks as committed, with full-run outputs and a solution cell after each exercise.

The teaching guide (order, prerequisites, time per notebook) is in \`notebooks/README.md\`.
`);
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = buildCourse();
  const total = rows.reduce((t, r) => t + r.exercises, 0);
  console.log(`[course] ${rows.length} notebooks, ${total} exercises: student copies in build/course/student/, ` +
    "instructor copies in build/course/instructor/");
}
