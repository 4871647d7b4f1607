#!/usr/bin/env node
// npm run pretrain [-- <recipe>…]
// Trains the named recipes of lib/pretrain/recipes.ts and runs the named studies of
// lib/papers/studies.ts (default: all of them) one after another. A recipe is written to
// data/checkpoints/<name>/ (safetensors + manifest.json), a study to data/checkpoints/<name>/
// (study.json + manifest.json). Shows a progress bar and
// the validation curve as it trains; ends with each recipe's final validation loss beside its
// unigram and bigram baselines, its size and its time. Run one at a time: it uses both cores.
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
/** The built library (untyped here). @type {any} */
const ta = require(ROOT);

const args = process.argv.slice(2);
const unknownFlags = args.filter((a) => a.startsWith("-"));
if (unknownFlags.length) {
  console.error(`pretrain: unknown option ${unknownFlags.join(", ")}; usage: npm run pretrain [-- <recipe>…]`);
  process.exit(2);
}
const all = [...Object.keys(ta.RECIPES), ...Object.keys(ta.STUDIES)];
const names = args.length ? args : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`pretrain: unknown recipe ${unknown.map((n) => `"${n}"`).join(", ")}; recipes and studies: ${all.join(", ")}`);
  process.exit(2);
}

await ta.ready();

/**
 * A progress line on stderr: at most every 2 s and at the end.
 * @param {string} label
 */
function progressLine(label) {
  const start = performance.now();
  let last = 0;
  return {
    /** @param {number} done @param {number} total @param {Record<string, number>} metrics */
    update(done, total, metrics) {
      const now = performance.now();
      if (now - last < 2000 && done < total) return;
      last = now;
      const elapsed = (now - start) / 1000;
      const eta = (elapsed / done) * (total - done);
      const bar = "#".repeat(Math.round((30 * done) / total)).padEnd(30, ".");
      process.stderr.write(
        `\r[${bar}] ${label} ${done}/${total}${metrics.loss === undefined ? "" : ` · loss ${metrics.loss.toFixed(3)}`} · ${elapsed.toFixed(0)} s, ETA ${eta.toFixed(0)} s   `,
      );
    },
    /** @param {string} [note] */
    done(note) {
      process.stderr.write(`\n${note ? `${label}: ${note}\n` : ""}`);
    },
  };
}

const rows = [];
for (const name of names.filter((n) => n in ta.STUDIES)) {
  const study = ta.STUDIES[name];
  console.log(`[pretrain] ${name}: ${study.description}`);
  const bar = progressLine(name);
  const commit = ta.codeCommit(); // the code as it is when the study starts (later edits do not count)
  const start = performance.now();
  const result = study.run(study.full, {
    progress: (/** @type {number} */ done, /** @type {number} */ total, /** @type {string} */ label) => {
      process.stderr.write(`\n[pretrain] ${name} ${done}/${total}: ${label}\n`);
      bar.update(done, total, {});
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const dir = ta.saveStudy(study, result, seconds, undefined, commit);
  bar.done();
  console.log(`[pretrain] ${name}: ${(seconds / 60).toFixed(1)} min; written to ${path.relative(ROOT, dir)}`);
}
for (const name of names.filter((n) => !(n in ta.STUDIES))) {
  const recipe = ta.recipe(name);
  console.log(`[pretrain] ${name}: ${recipe.description}`);
  const trained = ta.trainRecipe(recipe, {
    progress: progressLine(name),
    onEval: (/** @type {number} */ step, /** @type {number} */ loss) =>
      process.stderr.write(`\n[pretrain] ${name} step ${step}: validation loss ${loss.toFixed(4)}\n`),
  });
  const dir = ta.saveCheckpoint(trained);
  ta.disposeParams(trained.params);
  const m = trained.manifest;
  const bytes = m.files.reduce((/** @type {number} */ s, /** @type {{ bytes: number }} */ f) => s + f.bytes, 0);
  rows.push({ name, m, bytes });
  console.log(
    `[pretrain] ${name}: ${m.steps} steps, ${(m.tokensSeen / 1e6).toFixed(2)} M tokens in ${(m.seconds / 60).toFixed(1)} min; ` +
      `validation loss ${m.finalValLoss.toFixed(4)} (unigram ${m.baselines.unigram.toFixed(4)}, bigram ${m.baselines.bigram.toFixed(4)}); ` +
      `${(bytes / 2 ** 20).toFixed(1)} MiB in ${path.relative(ROOT, dir)}`,
  );
}
if (rows.length) console.log("\nrecipe       final val   unigram    bigram   minutes   MiB");
for (const { name, m, bytes } of rows) {
  console.log(
    `${name.padEnd(12)} ${m.finalValLoss.toFixed(4).padStart(9)} ${m.baselines.unigram.toFixed(4).padStart(9)} ${m.baselines.bigram.toFixed(4).padStart(9)} ${(m.seconds / 60).toFixed(1).padStart(9)} ${(bytes / 2 ** 20).toFixed(1).padStart(5)}`,
  );
}
