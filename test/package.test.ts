/** The built package, as notebooks and plain Node scripts see it. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

describe("the package entry", () => {
  it("is importable by name from plain Node and re-exports the public API", () => {
    const names = [
      "tf",
      "ready",
      "createRng",
      "layerNorm",
      "rmsNorm",
      "slantedTriangularLR",
      "transformerConfig",
      "initTransformer",
      "transformerForward",
      "crossEntropy",
      "train",
      "loadSotu",
      "charTokenizer",
      "wordTokenizer",
      "gpt2Tokenizer",
      "lmBatcher",
      "plot",
      "table",
      "paperVsOurs",
      "claim",
      "progress",
      "bySize",
    ];
    const script = `const ta = require("transformer-anatomy"); console.log(JSON.stringify(${JSON.stringify(names)}.filter((k) => ta[k] === undefined)));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: path.join(ROOT, "scripts"), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual([]);
  });
});

describe("the supported Node versions", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
  };
  // semver comes with tslab (a dependency); it is what npm uses to compare engines.
  const semver = createRequire(__filename)("semver") as {
    satisfies(v: string, range: string): boolean;
    subset(a: string, b: string): boolean;
  };

  it("package.json, the lockfile's root, the set-up's check and the README state the same range", async () => {
    const { NODE_RANGE, nodeSupport } = (await import(path.join(ROOT, "scripts", "node-version.mjs"))) as {
      NODE_RANGE: string;
      nodeSupport(v: string): string;
    };
    expect(pkg.engines.node).toBe(NODE_RANGE);
    expect((lock.packages[""].engines as { node: string }).node).toBe(NODE_RANGE);
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    expect(readme).toContain(`Node 20.19 or newer (\`${NODE_RANGE}\``);
    expect(readme).not.toMatch(/Node ≥ 20\b(?!\.)|Node 20 or newer/);
    for (let major = 18; major <= 26; major++)
      for (let minor = 0; minor <= 30; minor++) {
        const v = `${major}.${minor}.0`;
        expect(nodeSupport(v) === "supported", v).toBe(semver.satisfies(v, NODE_RANGE));
      }
    expect(nodeSupport("20.18.3")).toBe("too old");
    expect(nodeSupport("23.11.0")).toBe("untested");
  });

  it("every locked dependency accepts every Node version in that range (no EBADENGINE from npm ci)", () => {
    const excluding = Object.entries(lock.packages)
      .filter(([name, p]) => name !== "" && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(([, p]) => !semver.subset(pkg.engines.node, (p.engines as { node: string }).node))
      .map(([name, p]) => `${name.replace(/^node_modules\//, "")}@${p.version}: node ${(p.engines as { node: string }).node}`);
    expect(excluding).toEqual([]);
  });
});
