/**
 * Renders plotly figures to PNG in one shared headless Chromium (Debian's `chromium`, driven by
 * playwright-core). Started on the first figure; closed by `closeRenderer()` or when the process
 * exits (Chromium talks to us over a pipe and quits when it closes; its profile folder, which
 * we own, is removed at exit and stale ones from killed kernels are swept at start-up).
 * Profile folders are per user (the uid is in their name, as the temporary folder may be shared):
 * the sweep looks only at this user's, and a process it cannot signal (EPERM) counts as alive.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

type BrowserContext = import("playwright-core").BrowserContext;
type Page = import("playwright-core").Page;

const PROFILE_STEM = "transformer-anatomy-chromium-";
/** This user's profile folders: transformer-anatomy-chromium-u<uid>-<pid>-<random>. */
const PROFILE_PREFIX = `${PROFILE_STEM}u${process.getuid?.() ?? os.userInfo().username}-`;

/**
 * Flags headless Debian Chromium needs on machines with no GPU and no network, often run as root
 * (containers, CI): no sandbox (it will not start sandboxed as root), no GPU, no background network
 * traffic (component updates, sync), no first-run set-up, and /tmp instead of a small /dev/shm.
 * Each renderer also gets a fresh profile folder (its `--user-data-dir`, made in `start()` below).
 */
export const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
];

export function chromiumPath(): string {
  const candidates = [process.env.TA_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = candidates.find((p) => p && fs.existsSync(p));
  if (!found) {
    throw new Error(
      "No Chromium found for rendering figures (looked in /usr/bin/chromium, /usr/bin/chromium-browser, " +
        "/usr/bin/google-chrome). Install Debian's `chromium` (npm start does this) or set TA_CHROMIUM to its path.",
    );
  }
  return found;
}

export function plotlyBundlePath(): string {
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

interface Renderer {
  context: BrowserContext;
  page: Page;
  profile: string;
}

let renderer: Promise<Renderer> | null = null;

/**
 * Whether a process exists. `kill(pid, 0)` fails with ESRCH when there is no such process and with
 * EPERM when there is one we may not signal (another user's): that one is alive.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`processAlive: pid must be a positive integer, got ${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    throw err;
  }
}

/**
 * Removes this user's profile folders in `dir` whose kernel is gone (killed before its exit
 * handler ran). Folders of other users, and of live processes, are left alone; a folder that cannot
 * be removed is skipped (a stale folder must never stop a figure). Also this user's folders from
 * before the uid was in the name (transformer-anatomy-chromium-<pid>-…, owned by this user).
 * Returns the folders removed.
 */
export function sweepStaleProfiles(dir: string = os.tmpdir()): string[] {
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(PROFILE_STEM)) continue;
    const rest = name.startsWith(PROFILE_PREFIX) ? name.slice(PROFILE_PREFIX.length) : name.slice(PROFILE_STEM.length);
    const match = /^(\d+)-/.exec(rest);
    if (!match) continue; // another user's (u<uid>-…) or not ours at all
    const folder = path.join(dir, name);
    try {
      if (uid !== undefined && fs.lstatSync(folder).uid !== uid) continue;
      if (processAlive(Number(match[1]))) continue;
      fs.rmSync(folder, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

async function start(): Promise<Renderer> {
  const { chromium } = await import("playwright-core");
  try {
    sweepStaleProfiles();
  } catch {
    // an unreadable temporary folder: nothing to sweep
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `${PROFILE_PREFIX}${process.pid}-`));
  process.once("exit", () => fs.rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.setContent("<!doctype html><html><body></body></html>");
  await page.addScriptTag({ path: plotlyBundlePath() });
  return { context, page, profile };
}

/** PNG bytes of a plotly figure ({data, layout}) at width×height CSS pixels times `scale`. */
export async function renderPng(
  figure: { data: unknown[]; layout?: unknown },
  width: number,
  height: number,
  scale = 1,
): Promise<Uint8Array> {
  renderer ??= start().catch((err) => {
    renderer = null;
    throw err;
  });
  const { page } = await renderer;
  const dataUrl = await page.evaluate(
    async ({ fig, w, h, s }) => {
      const plotly = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
      return plotly.toImage({ data: fig.data, layout: fig.layout ?? {} }, { format: "png", width: w, height: h, scale: s });
    },
    { fig: figure, w: width, h: height, s: scale },
  );
  const prefix = "data:image/png;base64,";
  if (!dataUrl.startsWith(prefix)) throw new Error("plotly did not return a PNG");
  return Buffer.from(dataUrl.slice(prefix.length), "base64");
}

/** Closes the shared Chromium (scripts call this so Node can exit; kernels need not). */
export async function closeRenderer(): Promise<void> {
  if (!renderer) return;
  const r = renderer;
  renderer = null;
  const { context, profile } = await r.catch(() => ({ context: null, profile: null }));
  await context?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
}
