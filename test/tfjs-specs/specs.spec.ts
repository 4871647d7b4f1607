/**
 * Runs tfjs-core's op specs for the ops our engine patches, on the wasm backend as the engine
 * registers it (patched, or stock with TA_WASM_PATCHES=off). The specs are jasmine-style: give
 * them vitest's describe/it/expect and jasmine's `expect().nothing()`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ready } from "../../lib/engine";

expect.extend({ nothing: () => ({ pass: true, message: () => "" }) });
Object.assign(globalThis, { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach });

const SPECS = (process.env.TA_TFJS_SPECS ?? "ops/exp_test").split(",");

await ready({ backend: "wasm", quiet: true });
const jasmineUtil = await import("@tensorflow/tfjs-core/dist/jasmine_util.js");
jasmineUtil.setTestEnvs([{ name: "wasm", backendName: "wasm", flags: {}, isDataSync: true }]);
for (const spec of SPECS) await import(`@tensorflow/tfjs-core/dist/${spec}.js`);
