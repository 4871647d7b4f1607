// AssemblyScript entry: every SIMD kernel the engine loads (scripts/build.mjs builds this file to
// dist/kernels/simd.wasm). Products, exp/erf/GELU, sums and transposes in matmul.as.ts; fused
// norms, masked softmax, Adam and the LSTM cell in fused.as.ts.
export * from "./matmul.as";
export * from "./fused.as";
