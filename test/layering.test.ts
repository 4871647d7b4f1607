/**
 * The library's layering, read from its import statements: the core never imports a paper, paper
 * folders never import each other, the training loop knows no model and no display, and every
 * paper folder names its notebook (and every paper notebook has a folder).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const LIB = path.resolve(__dirname, "..", "lib");
const files = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith(".ts") && !e.name.endsWith(".as.ts") ? [p] : [];
  });
/** Relative imports of a file, resolved to paths under lib/ without extension ("models/params"). */
const importsOf = (file: string): string[] =>
  [...fs.readFileSync(file, "utf8").matchAll(/^(?:import|export)[^"';]*from\s+"(\.[^"]+)"/gm)].map((m) =>
    path
      .relative(LIB, path.resolve(path.dirname(file), m[1]))
      .split(path.sep)
      .join("/"),
  );
const rel = (file: string) => path.relative(LIB, file).split(path.sep).join("/");
const paperOf = (p: string) => /^papers\/([^/]+)/.exec(p)?.[1];
const all = files(LIB).map((f) => ({ file: rel(f), imports: importsOf(f) }));

describe("layering", () => {
  it("reads the imports it checks (the test can see a violation)", () => {
    expect(all.length).toBeGreaterThan(40);
    expect(all.find((f) => f.file === "index.ts")!.imports).toContain("papers/03-gmlp");
    expect(importsOf(path.join(LIB, "papers", "03-gmlp", "vision.ts"))).toContain("models/transformer");
  });

  it("the core imports no paper folder (only lib/index.ts re-exports them)", () => {
    const bad = all
      .filter((f) => !paperOf(f.file) && f.file !== "index.ts")
      .flatMap((f) => f.imports.filter((i) => paperOf(i)).map((i) => `${f.file} → ${i}`));
    expect(bad).toEqual([]);
  });

  it("paper folders do not import each other", () => {
    const bad = all
      .filter((f) => paperOf(f.file))
      .flatMap((f) => f.imports.filter((i) => paperOf(i) && paperOf(i) !== paperOf(f.file)).map((i) => `${f.file} → ${i}`));
    expect(bad).toEqual([]);
  });

  it("lib/train imports no model internals (only params and losses) and no display code", () => {
    const allowed = (i: string) => /^(train|data|engine)\//.test(i) || i === "config" || i === "models/params" || i === "models/loss";
    const bad = all
      .filter((f) => f.file.startsWith("train/"))
      .flatMap((f) => f.imports.filter((i) => !allowed(i)).map((i) => `${f.file} → ${i}`));
    expect(bad).toEqual([]);
  });

  it("models, data, engine and metrics import no training loop and no display code", () => {
    const bad = all
      .filter((f) => /^(models|data|engine|metrics)\//.test(f.file))
      .flatMap((f) => f.imports.filter((i) => /^(train|notebook)\//.test(i)).map((i) => `${f.file} → ${i}`));
    expect(bad).toEqual([]);
  });

  it("every paper folder's index.ts header names its notebook and test file; every paper notebook has a folder", () => {
    const folders = fs.readdirSync(path.join(LIB, "papers")).sort();
    const notebooks = fs
      .readdirSync(path.resolve(LIB, "..", "notebooks"))
      .filter((f) => /^(0[1-9]|[1-9]\d)-.*\.ipynb$/.test(f))
      .map((f) => f.replace(/\.ipynb$/, ""))
      .sort();
    expect(folders).toEqual(notebooks);
    for (const folder of folders) {
      const header = /^\/\*\*[\s\S]*?\*\//.exec(fs.readFileSync(path.join(LIB, "papers", folder, "index.ts"), "utf8"))?.[0] ?? "";
      expect(header, folder).toContain(`notebooks/${folder}.ipynb`);
      expect(header, folder).toContain(`test/papers/${folder}.test.ts`);
      expect(fs.existsSync(path.resolve(LIB, "..", "test", "papers", `${folder}.test.ts`)), folder).toBe(true);
    }
  });
});
