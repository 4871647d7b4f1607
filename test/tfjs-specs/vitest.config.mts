import { defineConfig } from "vitest/config";

// tfjs-core's own op specs (ESM, jasmine-style) against our wasm engine; run by test/tfjs-specs.test.ts
// in a child process, once with our patched kernels and once with the stock ones (TA_WASM_PATCHES=off).
export default defineConfig({
  test: {
    include: ["test/tfjs-specs/specs.spec.ts"],
    pool: "forks",
    testTimeout: 60_000,
    server: { deps: { inline: [/@tensorflow\/tfjs-core\/dist\//] } },
  },
});
