/**
 * Course mode: student copies have no solutions and no outputs, keep every exercise, and still run
 * top to bottom in a real kernel (smoke sizes) — each exercise cell, with its prediction left
 * undefined, reports a to-do instead of running its experiment.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EXERCISE_MIME } from "../lib/notebook/exercise";

const ROOT = path.resolve(__dirname, "..");
const python = fs.readFileSync(path.join(ROOT, ".jupyter", "python"), "utf8").trim();
type Cell = { cell_type: string; metadata?: { tags?: string[] }; source: string[] | string; outputs?: { data?: Record<string, unknown>; output_type: string }[] };
type Notebook = { cells: Cell[] };
const read = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
const tagged = (nb: Notebook, tag: string) => nb.cells.filter((c) => c.metadata?.tags?.includes(tag));

describe("course mode", () => {
  // Inside the project (build/), so the copies resolve "transformer-anatomy" as notebooks/ do.
  const dir = fs.mkdtempSync(path.join(ROOT, "build", "test-course-"));
  let rows: { file: string; exercises: number }[];

  beforeAll(async () => {
    const course = (await import(path.join(ROOT, "scripts", "course.mjs"))) as { buildCourse(out: string): typeof rows };
    rows = course.buildCourse(dir);
    return () => fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every notebook ends with 2–4 exercises, each with a solution in the instructor copy", () => {
    expect(rows.length).toBe(fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).length);
    for (const { file, exercises } of rows) {
      expect(exercises, file).toBeGreaterThanOrEqual(2);
      expect(exercises, file).toBeLessThanOrEqual(4);
      const instructor = read(path.join(dir, "instructor", file));
      expect(tagged(instructor, "solution").length, file).toBe(exercises);
      // full-run outputs kept in the instructor copy, and solutions graded there
      const graded = tagged(instructor, "solution").flatMap((c) => c.outputs ?? []).map((o) => o.data?.[EXERCISE_MIME] as { status: string } | undefined);
      expect(graded.filter((g) => g && g.status !== "to do").length, file).toBe(exercises);
    }
  });

  it("student copies: no solution cells, no outputs, exercises kept", () => {
    for (const { file, exercises } of rows) {
      const student = read(path.join(dir, "student", file));
      expect(tagged(student, "solution"), file).toEqual([]);
      expect(tagged(student, "exercise").length, file).toBe(exercises);
      expect(student.cells.every((c) => c.cell_type !== "code" || (c.outputs ?? []).length === 0), file).toBe(true);
      const text = JSON.stringify(student);
      expect(text, file).not.toContain("// Solution");
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
      const records = tagged(ran, "exercise").map((c) => (c.outputs ?? []).map((o) => o.data?.[EXERCISE_MIME]).find(Boolean) as { status: string } | undefined);
      expect(records.map((x) => x?.status), path.basename(file)).toEqual(records.map(() => "to do"));
    }
  }, 900_000);
});
