/**
 * Every notebook, executed top to bottom in smoke mode by a real Jupyter kernel (tslab) through
 * the same runner as `npm run reproduce`. Outputs are discarded.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const notebooks = fs
  .readdirSync(path.join(ROOT, "notebooks"))
  .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
  .sort();
const python = fs.readFileSync(path.join(ROOT, ".jupyter", "python"), "utf8").trim();

describe("notebooks run in smoke mode", () => {
  it("are all found", () => {
    expect(notebooks.length).toBeGreaterThan(0);
  });
  for (const name of notebooks) {
    it(name, () => {
      const r = spawnSync(
        python,
        [path.join(ROOT, "scripts", "run_notebooks.py"), "--smoke", "--timeout", "300", path.join(ROOT, "notebooks", name)],
        {
          env: { ...process.env, JUPYTER_PATH: path.join(ROOT, ".jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
          encoding: "utf8",
        },
      );
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    }, 600_000);
  }
});
