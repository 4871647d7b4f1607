/**
 * Two set-ups at once (`npm start` and `npm test` after a pull) once failed with ENOTEMPTY on
 * dist/: one build deleted the folder the other was writing. Builds and set-ups now take a lock
 * (scripts/lock.mjs) and a build goes into a folder of its own that replaces dist/ when complete.
 * Tested here: process liveness (EPERM is a live process of another user), the lock's mutual
 * exclusion and stale-lock recovery, and two real builds started together in a copy of the project.
 */
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { temporaryFolders } from "./tempdirs";

const ROOT = path.resolve(__dirname, "..");

/** A temporary folder, removed after the tests (also when one fails). */
const tempDir = temporaryFolders();
const LOCK = path.join(ROOT, "scripts", "lock.mjs");

interface Lock {
  processAlive(pid: number): boolean;
  processStart(pid: number): string | null;
  acquireLock(
    file: string,
    options: { what: string; log?: (message: string) => void; pollMs?: number },
  ): Promise<{ waited: boolean; release: () => void }>;
}
const lock = (await import(LOCK)) as Lock;

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));
const isRoot = process.getuid?.() === 0;

describe("processAlive", () => {
  it("is true for this process and false for one that has exited", () => {
    expect(lock.processAlive(process.pid)).toBe(true);
    expect(lock.processAlive(deadPid())).toBe(false);
  });

  it("refuses a pid that is not a positive integer, naming it", () => {
    expect(() => lock.processAlive(0)).toThrow("pid must be a positive integer, got 0");
    expect(() => lock.processAlive(Number.NaN)).toThrow("got NaN");
  });

  // A process of another user answers kill(pid, 0) with EPERM: alive, not dead.
  it.skipIf(isRoot && !setpriv)("is true for another user's process (kill gives EPERM)", () => {
    const code = `import { processAlive } from ${JSON.stringify(LOCK)};
      let error = "none"; try { process.kill(1, 0); } catch (e) { error = e.code; }
      console.log(error, processAlive(1));`;
    const node = [process.execPath, "--input-type=module", "-e", code];
    // As root, ask as the unprivileged user "nobody" about pid 1 (root's).
    const r = isRoot
      ? spawnSync(setpriv!, ["--reuid=65534", "--regid=65534", "--clear-groups", ...node], { encoding: "utf8" })
      : spawnSync(node[0], node.slice(1), { encoding: "utf8" });
    expect(r.stdout.trim(), r.stderr).toBe("EPERM true");
  });
});

describe("acquireLock", () => {
  it("lets one process in at a time; the others wait and say for whom", async () => {
    const dir = tempDir("ta-lock-");
    const file = path.join(dir, "sub", "x.lock");
    const log = path.join(dir, "log");
    const code = (id: number) => `import * as fs from "node:fs"; import { acquireLock } from ${JSON.stringify(LOCK)};
      const { waited, release } = await acquireLock(${JSON.stringify(file)}, { what: "child ${id}", pollMs: 20 });
      fs.appendFileSync(${JSON.stringify(log)}, "${id} in " + waited + "\\n");
      await new Promise((r) => setTimeout(r, 300));
      fs.appendFileSync(${JSON.stringify(log)}, "${id} out\\n");
      release();`;
    const children = [1, 2, 3].map((id) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", code(id)], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on("exit", (c) => resolve({ code: c, stderr })));
    });
    const results = await Promise.all(children);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      const id = lines[i].split(" ")[0];
      expect(lines[i]).toMatch(new RegExp(`^${id} in (true|false)$`));
      expect(lines[i + 1]).toBe(`${id} out`); // nobody else got in meanwhile
    }
    expect(lines.filter((l) => l.endsWith("in true")).length).toBeGreaterThanOrEqual(1);
    expect(results.map((r) => r.stderr).join("")).toMatch(/child \d waiting for process \d+, which holds .*x\.lock/);
    expect(fs.existsSync(file)).toBe(false); // released
  });

  it("takes over a lock whose owner is gone, or whose pid now belongs to another process", async () => {
    const dir = tempDir("ta-lock-");
    const file = path.join(dir, "x.lock");
    const messages: string[] = [];
    fs.writeFileSync(file, JSON.stringify({ pid: deadPid(), start: "1" }));
    let held = await lock.acquireLock(file, { what: "test", log: (m) => messages.push(m) });
    expect(held.waited).toBe(false);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ pid: process.pid, start: lock.processStart(process.pid) });
    held.release();
    expect(fs.existsSync(file)).toBe(false);
    // A live pid with another start time: the pid was reused after the owner died.
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid, start: "123456789012" }));
    held = await lock.acquireLock(file, { what: "test", log: (m) => messages.push(m) });
    expect(held.waited).toBe(false);
    held.release();
    expect(messages).toEqual([]);
  });
});

/** A copy of what scripts/build.mjs reads (lib, scripts, tsconfig.json, package.json), node_modules linked. */
function projectCopy(): string {
  const dir = tempDir("ta-build-");
  for (const entry of ["lib", "scripts", "tsconfig.json", "package.json"])
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(dir, "node_modules"), "dir");
  return dir;
}

/** Every file under `dir` with its modification time. */
function files(dir: string): { file: string; mtime: number }[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      return { file: path.relative(dir, file), mtime: fs.statSync(file).mtimeMs };
    });
}

describe.skipIf(process.env.TA_TEST_SCOPE === "unit")("two builds started together", () => {
  it("both succeed: one builds, the other waits and finds dist/ fresh; nothing left over", async () => {
    const dir = projectCopy();
    // What a killed build leaves: its lock and its half-built folder.
    const dead = deadPid();
    fs.mkdirSync(path.join(dir, ".cache"));
    fs.writeFileSync(path.join(dir, ".cache", "build.lock"), JSON.stringify({ pid: dead, start: "1" }));
    fs.mkdirSync(path.join(dir, `.dist-build-${dead}-abcdef`, "kernels"), { recursive: true });
    const build = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(dir, "scripts", "build.mjs"), "--if-stale"], {
          cwd: dir,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stdout.on("data", (d) => (stderr += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all([build(), build()]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const all = results.map((r) => r.stderr).join("\n");
    expect(all).not.toMatch(/ENOTEMPTY|ENOENT|Error/);
    expect(results.filter((r) => r.stderr.includes("building (lib/ → dist/)"))).toHaveLength(1);
    expect(results.filter((r) => r.stderr.includes("built meanwhile by the other process: up to date"))).toHaveLength(1);
    expect(all).toMatch(/\[build\] waiting for process \d+, which holds .*build\.lock/);

    const built = files(path.join(dir, "dist"));
    const names = built.map((f) => f.file);
    for (const f of ["index.js", "index.d.ts", "kernels/simd.wasm", "kernels/simd-relaxed.wasm", "engine/index.js"])
      expect(names).toContain(f);
    // Every compiled source is there (a build cut short would miss some).
    const sources = fs
      .readdirSync(path.join(dir, "lib"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".as.ts"));
    for (const s of sources) expect(names).toContain(s.replace(/\.ts$/, ".js"));
    // dist/index.js is what lib/buildcheck.ts compares the sources with: newer than the kernels built before it.
    const index = built.find((f) => f.file === "index.js")!.mtime;
    for (const f of built.filter((f) => f.file.startsWith("kernels/") || f.file.startsWith("native/")))
      expect(f.mtime, f.file).toBeLessThanOrEqual(index);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(".dist-build-"))).toEqual([]);
    const mode = fs.statSync(path.join(dir, "dist")).mode & 0o777;
    expect(mode, mode.toString(8)).toBe(0o777 & ~process.umask()); // as mkdir makes it (not mkdtemp's 0700)
    expect(fs.readdirSync(path.join(dir, ".cache"))).toEqual([]);
  }, 300_000);
});
