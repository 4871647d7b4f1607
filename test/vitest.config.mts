import { defineConfig } from "vitest/config";

// One file at a time: the wasm backend uses both cores, and the notebook tests start kernels.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
