// A lock file between processes of this project (set-up and build: `npm start` and `npm test`
// started together after a pull both set up and build). Node built-ins only: set-up uses it before
// `npm ci`. The file holds its owner's pid and start time; a lock whose owner is gone (killed, or
// its pid now another process's) is stale and taken over.
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Whether a process exists. EPERM means it exists but belongs to another user (alive); only ESRCH
 * means there is no such process.
 * @param {number} pid
 */
export function processAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`processAlive: pid must be a positive integer, got ${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = /** @type {NodeJS.ErrnoException} */ (err).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    throw err;
  }
}

/**
 * A process's start time (clock ticks since boot, /proc/<pid>/stat field 22), or null where there
 * is no /proc or no such process. With the pid it names one process even after the pid is reused.
 * @param {number} pid
 * @returns {string | null}
 */
export function processStart(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces and parentheses): state is field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * The owner recorded in a lock file, or null if it is unreadable or not yet written.
 * @param {string} file
 * @returns {{ pid: number, start: string | null } | null}
 */
function owner(file) {
  try {
    const o = JSON.parse(fs.readFileSync(file, "utf8"));
    return Number.isInteger(o?.pid) ? { pid: o.pid, start: typeof o.start === "string" ? o.start : null } : null;
  } catch {
    return null;
  }
}

/**
 * Whether the recorded owner of a lock is still running.
 * @param {{ pid: number, start: string | null }} o
 */
function ownerRunning(o) {
  if (!processAlive(o.pid)) return false;
  const start = processStart(o.pid);
  return o.start === null || start === null || start === o.start;
}

/**
 * Takes the lock `file` (created with its folder), waiting while another live process holds it.
 * Returns whether it had to wait (another process held it: what it guarded may be done now).
 * The lock is released by `release` or when this process exits.
 * @param {string} file
 * @param {{ what: string, log?: (message: string) => void, pollMs?: number }} options what: starts the waiting message ("[build]")
 * @returns {Promise<{ waited: boolean, release: () => void }>}
 */
export async function acquireLock(file, { what, log = (m) => console.error(m), pollMs = 200 }) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const mine = JSON.stringify({ pid: process.pid, start: processStart(process.pid) });
  let waited = false;
  for (;;) {
    try {
      const fd = fs.openSync(file, "wx");
      fs.writeSync(fd, mine);
      fs.closeSync(fd);
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== "EEXIST") throw err;
    }
    const o = owner(file);
    let stale;
    if (o) stale = !ownerRunning(o);
    else {
      // Empty or half-written: its owner is between open and write, unless that was long ago.
      const age = (() => {
        try {
          return Date.now() - fs.statSync(file).mtimeMs;
        } catch {
          return 0; // gone meanwhile: try again
        }
      })();
      stale = age > 10_000;
    }
    if (stale) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (!waited && o) log(`${what} waiting for process ${o.pid}, which holds ${file}`);
    waited = true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    // Only our own lock (a stale-lock breaker may have replaced it if we were thought dead).
    try {
      if (fs.readFileSync(file, "utf8") === mine) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  process.on("exit", release);
  return { waited, release };
}
