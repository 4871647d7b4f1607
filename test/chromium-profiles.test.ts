/**
 * Figures are rendered in a headless Chromium with a profile folder in the temporary folder, and
 * profile folders of killed kernels are swept at start-up. On a shared machine the sweep once took
 * another user's live folder for a dead one (process.kill answers EPERM for another user's process)
 * and then failed to remove it, so every figure failed. Profile folders now carry the uid; the sweep
 * looks only at this user's, EPERM means alive, and a folder it cannot remove is skipped.
 * The shared-machine case runs as the user "nobody" (setpriv) when the tests run as root.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { processAlive, sweepStaleProfiles } from "../lib/notebook/chromium";
import { temporaryFolders } from "./tempdirs";

const ROOT = path.resolve(__dirname, "..");

/** A temporary folder, removed after the tests (also when one fails). */
const tempDir = temporaryFolders();
const STEM = "transformer-anatomy-chromium-";
const uid = process.getuid!();

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" }).stdout.trim());
}

/** A profile-like folder (with a file inside, as Chromium leaves them). */
function folder(dir: string, name: string, owner?: number): string {
  const p = path.join(dir, name);
  fs.mkdirSync(p, { mode: 0o700 });
  fs.writeFileSync(path.join(p, "Local State"), "{}");
  if (owner !== undefined) {
    fs.chownSync(path.join(p, "Local State"), owner, owner);
    fs.chownSync(p, owner, owner);
  }
  return p;
}

describe("processAlive", () => {
  it("is true for a live process and false for one that has exited", () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(deadPid())).toBe(false);
  });

  it("refuses a pid that is not a positive integer", () => {
    expect(() => processAlive(-1)).toThrow("pid must be a positive integer, got -1");
  });
});

describe("sweepStaleProfiles", () => {
  it("removes this user's folders of dead processes only (with the uid in the name, and the old names)", () => {
    const dir = tempDir("ta-profiles-");
    const dead = deadPid();
    folder(dir, `${STEM}u${uid}-${dead}-aaaaaa`);
    folder(dir, `${STEM}${dead}-bbbbbb`); // from before the uid was in the name
    folder(dir, `${STEM}u${uid}-${process.pid}-cccccc`); // alive
    folder(dir, `${STEM}u${uid + 1}-${dead}-dddddd`); // another user's, even with a dead pid
    folder(dir, "unrelated-123-x");
    expect(sweepStaleProfiles(dir).sort()).toEqual([`${STEM}${dead}-bbbbbb`, `${STEM}u${uid}-${dead}-aaaaaa`]);
    expect(fs.readdirSync(dir).sort()).toEqual(
      [`${STEM}u${uid + 1}-${dead}-dddddd`, `${STEM}u${uid}-${process.pid}-cccccc`, "unrelated-123-x"].sort(),
    );
  });

  // As another user: root's folders and processes are someone else's. Needs the built library (dist/).
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));
  it.skipIf(uid !== 0 || !setpriv)("as another user on a shared temporary folder: no error, nobody else's folder touched", () => {
    const built = path.join(ROOT, "dist", "notebook", "chromium.js");
    expect(
      fs.existsSync(built) && fs.statSync(built).mtimeMs >= fs.statSync(path.join(ROOT, "lib", "notebook", "chromium.ts")).mtimeMs,
      "dist/ is older than lib/notebook/chromium.ts: run npm run build",
    ).toBe(true);
    const nobody = 65534;
    const dir = tempDir("ta-shared-tmp-");
    fs.chmodSync(dir, 0o1777); // like /tmp
    const dead = deadPid();
    const rootLive = `${STEM}u0-${process.pid}-rootlv`; // root's kernel, running
    const rootOld = `${STEM}${process.pid}-rootol`; // root's, old name
    const rootDead = `${STEM}u0-${dead}-rootdd`; // root's stale folder: root's to sweep, not nobody's
    folder(dir, rootLive);
    folder(dir, rootOld);
    folder(dir, rootDead);
    const mineDead = `${STEM}u${nobody}-${dead}-mydead`;
    const mineRootPid = `${STEM}u${nobody}-1-myinit`; // pid 1 is root's: kill gives EPERM, so alive
    folder(dir, mineDead, nobody);
    folder(dir, mineRootPid, nobody);
    const code = `const c = require(${JSON.stringify(built)});
      let error = "none"; try { process.kill(1, 0); } catch (e) { error = e.code; }
      console.log(JSON.stringify({ error, alive: c.processAlive(1), removed: c.sweepStaleProfiles(${JSON.stringify(dir)}) }));`;
    const r = spawnSync(setpriv!, [`--reuid=${nobody}`, `--regid=${nobody}`, "--clear-groups", process.execPath, "-e", code], {
      encoding: "utf8",
      env: { ...process.env, TMPDIR: dir },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ error: "EPERM", alive: true, removed: [mineDead] });
    expect(fs.readdirSync(dir).sort()).toEqual([rootOld, rootDead, rootLive, mineRootPid].sort());
  });
});
