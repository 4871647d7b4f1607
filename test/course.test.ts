/**
 * Course mode: each exercise has one source, its solution cell in the committed notebook; the
 * student's exercise cell is derived from it (the answers it marks, see scripts/course.mjs, blanked).
 * Student copies have no solutions and no outputs, keep every exercise, and still run top to
 * bottom in a real kernel (smoke sizes) — each exercise cell, with its prediction left undefined,
 * reports a to-do instead of running its experiment.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EXERCISE_MIME } from "../lib/notebook/exercise";

const ROOT = path.resolve(__dirname, "..");
const python = fs.readFileSync(path.join(ROOT, ".jupyter", "python"), "utf8").trim();
type Cell = {
  cell_type: string;
  id?: string;
  metadata?: { tags?: string[] };
  source: string[] | string;
  outputs?: { data?: Record<string, unknown>; output_type: string }[];
  execution_count?: number | null;
};
type Notebook = { cells: Cell[] };
const read = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
const tagged = (nb: Notebook, tag: string) => nb.cells.filter((c) => c.metadata?.tags?.includes(tag));
const text = (cell: Cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);
const NOTEBOOK_FILES = fs
  .readdirSync(path.join(ROOT, "notebooks"))
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
  .sort();
// An answer span as scripts/course.mjs documents it: /* answer[: note] */ … /* end */ or /* student: X */.
const SPAN = /\/\*\s*answer\b[\s\S]*?\*\/.*?\/\*\s*(?:end|student:[\s\S]*?)\s*\*\//;

interface Course {
  buildCourse(out: string): { file: string; exercises: number }[];
  exerciseFromSolution(cell: Cell, where?: string): Cell;
}

describe("exercises: one source", () => {
  let course: Course;
  beforeAll(async () => {
    course = (await import(path.join(ROOT, "scripts", "course.mjs"))) as Course;
  });

  it("the notebooks hold only solution cells; each derived exercise cell differs from its solution only where marked", () => {
    let pairs = 0;
    for (const file of NOTEBOOK_FILES) {
      const nb = read(path.join(ROOT, "notebooks", file));
      expect(tagged(nb, "exercise"), `${file}: hand-kept exercise cells`).toEqual([]);
      for (const solution of tagged(nb, "solution")) {
        const where = `${file} ${solution.id}`;
        const lines = text(solution).split("\n");
        const predictionLine = lines.find((l) => /\bconst prediction\b/.test(l)) ?? "";
        expect(predictionLine, `${where}: prediction marker`).toMatch(/=\s*\/\*\s*answer\b.*\/\*\s*end\s*\*\/;/);
        const exercise = course.exerciseFromSolution(solution, where);
        pairs++;
        expect(exercise.metadata?.tags, where).toContain("exercise");
        expect(exercise.metadata?.tags, where).not.toContain("solution");
        expect(exercise.outputs, where).toEqual([]);
        expect(exercise.execution_count, where).toBeNull();
        const derived = text(exercise).split("\n");
        expect(derived.length, where).toBe(lines.length);
        const id = /^\/\/ Solution (\d\d\.\d+) /.exec(lines[0])?.[1];
        expect(id, `${where}: first line`).toBeDefined();
        expect(derived[0], where).toBe(`// Exercise ${id}: write your prediction, make the change, run.`);
        expect(
          derived.find((l) => /\bconst prediction\b/.test(l)),
          where,
        ).toMatch(/^\s*const prediction: [^=]+= undefined;/);
        for (let n = 1; n < lines.length; n++) {
          if (!SPAN.test(lines[n])) {
            expect(derived[n], `${where} line ${n + 1}: unmarked lines are copied`).toBe(lines[n]);
            continue;
          }
          // A marked line: the same text outside the spans, in order.
          const outside = lines[n].split(new RegExp(SPAN.source, "g"));
          let at = 0;
          for (const piece of outside) {
            const found = derived[n].indexOf(piece, at);
            expect(found, `${where} line ${n + 1}: ${JSON.stringify(piece)} kept`).toBeGreaterThanOrEqual(at);
            at = found + piece.length;
          }
          expect(derived[n].startsWith(outside[0]) && derived[n].endsWith(outside[outside.length - 1]), where).toBe(true);
        }
        const all = derived.join("\n");
        expect(all, where).not.toMatch(/Solution/);
        expect(all, where).not.toMatch(/\/\*\s*(answer|end|student:)/);
      }
    }
    expect(pairs).toBeGreaterThanOrEqual(2 * NOTEBOOK_FILES.length);
  });

  it("a solution cell without a prediction marker fails, naming the notebook and cell", () => {
    const cell: Cell = {
      cell_type: "code",
      id: "abc",
      metadata: { tags: ["solution"] },
      outputs: [],
      execution_count: null,
      source: ["// Solution 03.1 (instructor copy)\n", "{\n", "  const prediction: number | undefined = 0.5;\n", "}"],
    };
    expect(() => course.exerciseFromSolution(cell, "03-gmlp.ipynb, cell 22")).toThrow(/^03-gmlp\.ipynb, cell 22: no prediction marker/);
  });

  it("a marked change gives the student's starting value", () => {
    const cell: Cell = {
      cell_type: "code",
      id: "abc",
      metadata: { tags: ["solution"] },
      outputs: [],
      execution_count: 3,
      source: [
        "// Solution 03.1 (instructor copy)\n",
        "{\n",
        "  const context = /* answer */ 4 /* student: 8 */; // ← window\n",
        "  const prediction: number | undefined = /* answer: why */ 2 * context /* end */;\n",
        "}",
      ],
    };
    expect(course.exerciseFromSolution(cell).source).toEqual([
      "// Exercise 03.1: write your prediction, make the change, run.\n",
      "{\n",
      "  const context = 8; // ← window\n",
      "  const prediction: number | undefined = undefined;\n",
      "}",
    ]);
  });
});

describe("course mode", () => {
  // Inside the project (build/), so the copies resolve "transformer-anatomy" as notebooks/ do.
  fs.mkdirSync(path.join(ROOT, "build"), { recursive: true }); // absent in a fresh clone
  const dir = fs.mkdtempSync(path.join(ROOT, "build", "test-course-"));
  let rows: { file: string; exercises: number }[];

  beforeAll(async () => {
    const course = (await import(path.join(ROOT, "scripts", "course.mjs"))) as { buildCourse(out: string): typeof rows };
    rows = course.buildCourse(dir);
    return () => fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every notebook ends with 2–4 exercises, each with a solution in the instructor copy", () => {
    expect(rows.length).toBe(NOTEBOOK_FILES.length);
    for (const { file, exercises } of rows) {
      expect(exercises, file).toBeGreaterThanOrEqual(2);
      expect(exercises, file).toBeLessThanOrEqual(4);
      const instructor = read(path.join(dir, "instructor", file));
      expect(tagged(instructor, "solution").length, file).toBe(exercises);
      // full-run outputs kept in the instructor copy, and solutions graded there
      const graded = tagged(instructor, "solution")
        .flatMap((c) => c.outputs ?? [])
        .map((o) => o.data?.[EXERCISE_MIME] as { status: string } | undefined);
      expect(graded.filter((g) => g && g.status !== "to do").length, file).toBe(exercises);
    }
  });

  it("student copies: no solution cells, no outputs, exercises kept", () => {
    for (const { file, exercises } of rows) {
      const student = read(path.join(dir, "student", file));
      expect(tagged(student, "solution"), file).toEqual([]);
      expect(tagged(student, "exercise").length, file).toBe(exercises);
      expect(
        student.cells.every((c) => c.cell_type !== "code" || (c.outputs ?? []).length === 0),
        file,
      ).toBe(true);
      const json = JSON.stringify(student);
      expect(json, file).not.toContain("// Solution");
      expect(json, file).not.toMatch(/\/\*\s*answer\b/);
    }
  });

  it("student copies run top to bottom (smoke), each exercise reporting a to-do", () => {
    const files = rows.map((r) => path.join(dir, "student", r.file));
    const r = spawnSync(python, [path.join(ROOT, "scripts", "run_notebooks.py"), "--smoke", "--write", "--timeout", "300", ...files], {
      env: { ...process.env, JUPYTER_PATH: path.join(ROOT, ".jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      encoding: "utf8",
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const file of files) {
      const ran = read(file);
      const records = tagged(ran, "exercise").map(
        (c) => (c.outputs ?? []).map((o) => o.data?.[EXERCISE_MIME]).find(Boolean) as { status: string } | undefined,
      );
      expect(
        records.map((x) => x?.status),
        path.basename(file),
      ).toEqual(records.map(() => "to do"));
    }
  }, 900_000);
});
