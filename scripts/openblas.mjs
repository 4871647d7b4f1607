// Where OpenBLAS's C headers (cblas.h with openblas_config.h) are, if anywhere: Debian's
// libopenblas-dev puts them under the multiarch openblas-pthread folder. Shared by set-up (which
// installs the package when they are missing) and the build (which compiles the addon against them).
import * as fs from "node:fs";
import * as path from "node:path";

const CANDIDATES = [
  "/usr/include/x86_64-linux-gnu/openblas-pthread",
  "/usr/include/aarch64-linux-gnu/openblas-pthread",
  "/usr/include/openblas",
  "/usr/include",
];

/** The folder holding cblas.h and openblas_config.h, or null. */
export function openblasIncludeDir() {
  return CANDIDATES.find((d) => fs.existsSync(path.join(d, "cblas.h")) && fs.existsSync(path.join(d, "openblas_config.h"))) ?? null;
}
