/**
 * `npm run reproduce`'s arguments are checked before anything runs: a typo in an option once ran
 * every notebook in full mode (rewriting them), and "1" once ran 10 by prefix. Unknown options and
 * ids that are not exactly one notebook stop with the valid ones. The parsing is tested as a
 * function, and the script itself only with --dry-run or --help (which run nothing).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "reproduce.mjs");

interface Parsed {
  help: boolean;
  smoke: boolean;
  dryRun: boolean;
  notebooks: string[];
}
interface Reproduce {
  parseArgs(args: string[], files: string[], env?: Record<string, string | undefined>): Parsed;
  notebookFiles(): string[];
}
const reproduce = (await import(SCRIPT)) as Reproduce;

const FILES = Array.from({ length: 11 }, (_, i) => `${String(i).padStart(2, "0")}-paper-${i}.ipynb`);

/** The error message parseArgs throws for these arguments (fails the test if it does not throw). */
function rejection(args: string[], files = FILES): string {
  try {
    reproduce.parseArgs(args, files);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`parseArgs accepted ${JSON.stringify(args)}`);
}

describe("reproduce's arguments", () => {
  it("match ids exactly: 1 and 01 are 01 (not 10), names with or without .ipynb, paths ending in a name", () => {
    expect(reproduce.parseArgs(["1"], FILES).notebooks).toEqual(["01-paper-1.ipynb"]);
    expect(reproduce.parseArgs(["01"], FILES).notebooks).toEqual(["01-paper-1.ipynb"]);
    expect(reproduce.parseArgs(["10"], FILES).notebooks).toEqual(["10-paper-10.ipynb"]);
    expect(reproduce.parseArgs(["03-paper-3", "02-paper-2.ipynb", "notebooks/07-paper-7.ipynb"], FILES).notebooks).toEqual([
      "03-paper-3.ipynb",
      "02-paper-2.ipynb",
      "07-paper-7.ipynb",
    ]);
    expect(reproduce.parseArgs(["1", "01", "01-paper-1"], FILES).notebooks).toEqual(["01-paper-1.ipynb"]); // once
  });

  it("run every notebook in full mode when given none, and read --smoke, --dry-run, --help, -h", () => {
    expect(reproduce.parseArgs([], FILES)).toEqual({ help: false, smoke: false, dryRun: false, notebooks: FILES });
    expect(reproduce.parseArgs(["--smoke", "4", "--dry-run"], FILES)).toEqual({
      help: false,
      smoke: true,
      dryRun: true,
      notebooks: ["04-paper-4.ipynb"],
    });
    expect(reproduce.parseArgs(["--help"], FILES).help).toBe(true);
    expect(reproduce.parseArgs(["01", "-h"], FILES).help).toBe(true);
    expect(rejection(["-h", "--bogus"])).toContain('unknown option "--bogus"'); // a typo is reported even with --help
  });

  it("take TA_SMOKE=1 (true, yes) from the environment as --smoke, and refuse a value it does not know", () => {
    for (const value of ["1", "true", "YES"]) expect(reproduce.parseArgs(["01"], FILES, { TA_SMOKE: value }).smoke, value).toBe(true);
    for (const value of ["0", "false", "no", "", undefined])
      expect(reproduce.parseArgs(["01"], FILES, { TA_SMOKE: value }).smoke, String(value)).toBe(false);
    expect(reproduce.parseArgs(["--smoke"], FILES, { TA_SMOKE: "0" }).smoke).toBe(true); // the flag still asks for it
    expect(() => reproduce.parseArgs([], FILES, { TA_SMOKE: "smoke" })).toThrow(/^TA_SMOKE must be 1, true or yes .* got "smoke"$/);
  });

  it("reject unknown options, naming them, suggesting the closest and listing the valid ones", () => {
    const message = rejection(["--smok"]);
    expect(message).toContain('unknown option "--smok"');
    expect(message).toContain("did you mean --smoke?");
    expect(message).toContain("options: --smoke, --dry-run, --help, -h");
    expect(rejection(["01", "-s"])).toContain('unknown option "-s"');
    expect(rejection(["--write"])).toContain('unknown option "--write"');
  });

  it("reject unknown ids and prefixes with the valid ids", () => {
    for (const id of ["11", "1a", "01-paper", "paper-1", "01-paper-1.ipynbx"]) {
      const message = rejection([id]);
      expect(message, id).toContain(`no notebook "${id}"`);
      expect(message, id).toContain("valid ids: 00, 01, 02, 03, 04, 05, 06, 07, 08, 09, 10");
    }
    expect(rejection(["01-paper"])).toContain("did you mean 01-paper-1?");
  });

  it("reject an id that names two notebooks", () => {
    const message = rejection(["5"], ["04-a.ipynb", "05-b.ipynb", "05-c.ipynb"]);
    expect(message).toBe('reproduce: "5" is ambiguous: it matches 05-b.ipynb, 05-c.ipynb; valid ids: 04, 05 (or a full name, e.g. 04-a)');
    expect(reproduce.parseArgs(["05-c"], ["04-a.ipynb", "05-b.ipynb", "05-c.ipynb"]).notebooks).toEqual(["05-c.ipynb"]);
  });

  it("find this project's notebooks", () => {
    const files = reproduce.notebookFiles();
    expect(files).toEqual(
      fs
        .readdirSync(path.join(ROOT, "notebooks"))
        .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
        .sort(),
    );
    expect(files.length).toBeGreaterThanOrEqual(11);
  });
});

describe("the reproduce script", () => {
  /** The script with --dry-run added, so that even if parsing broke nothing would run. */
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [SCRIPT, ...args, "--dry-run"], { encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" });
  const notebooks = reproduce.notebookFiles();

  it("exits 2 on a misspelt option, before running anything", () => {
    const r = cli("--smok");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown option "--smok" (did you mean --smoke?)');
    expect(r.stdout).toBe("");
  });

  it("exits 2 on an unknown id, listing the valid ones", () => {
    const r = cli("01", "99");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no notebook "99"; valid ids: ${notebooks.map((f) => f.slice(0, 2)).join(", ")}`);
  });

  it('runs 01, not 10, for "1" (shown by --dry-run)', () => {
    const r = cli("1");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([`${notebooks[1]} (full; outputs written back)`]);
    expect(notebooks[1]).toMatch(/^01-/);
  });

  it("runs the smoke sizes and writes nothing under TA_SMOKE=1; exits 2 on a TA_SMOKE it does not know", () => {
    const smoke = spawnSync(process.execPath, [SCRIPT, "1", "--dry-run"], { encoding: "utf8", env: { ...process.env, TA_SMOKE: "true" } });
    expect(smoke.status, smoke.stderr).toBe(0);
    expect(smoke.stdout.trim()).toBe(`${notebooks[1]} (smoke; nothing written)`);
    const bad = spawnSync(process.execPath, [SCRIPT, "1", "--dry-run"], { encoding: "utf8", env: { ...process.env, TA_SMOKE: "2" } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/TA_SMOKE must be 1, true or yes .* got "2"/);
  });

  it("prints its usage for --help, with every notebook id", () => {
    const r = cli("--help");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run reproduce/);
    for (const option of ["--smoke", "--dry-run", "--help"]) expect(r.stdout).toContain(option);
    for (const f of notebooks) expect(r.stdout).toContain(`${f.slice(0, 2)}  ${f}`);
  });
});
