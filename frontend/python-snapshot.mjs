// Makes the memory snapshot the Python worker restores instead of starting
// Pyodide from nothing (see js/python-worker.js): Pyodide from
// node_modules starts in Node with the worker's options
// (js/python-runtime.mjs), defines the runner, and its whole wasm memory
// is written, gzipped, to OUT.
//
// Usage: TZ=UTC node frontend/python-snapshot.mjs OUT (run by assets.sh).
//
// A snapshot only fits the Pyodide build that made it (Pyodide checks a
// build id when restoring), which is why it is made from the same package
// the app serves, at every build. Node's own state does not leak into it:
// `js` is an empty object here too, and the environment is fixed by the
// shared options, except the time zone, which the interpreter reads once
// at start-up; TZ=UTC gives the zone a browser in UTC would.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { RUNNER, pyodideOptions } from "./js/python-runtime.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node python-snapshot.mjs OUT");
  process.exit(2);
}

const indexURL = join(here, "node_modules", "pyodide") + "/";
const { loadPyodide } = await import(join(indexURL, "pyodide.mjs"));
const pyodide = await loadPyodide({
  ...pyodideOptions(indexURL),
  _makeSnapshot: true,
  // What a browser has as the program name; Node would put this script's
  // path into the environment (`_`) and sys.executable.
  _sysExecutable: "./this.program",
});
pyodide.runPython(RUNNER).destroy();
// loadPyodide puts "" first on sys.path, and does again after a restore.
pyodide.runPython("import sys; sys.path.remove('')");

const image = pyodide.makeMemorySnapshot();
// Mostly empty memory: level 9 takes ~2 s here and gives 6 MB of 31.
writeFileSync(out, gzipSync(image, { level: 9 }));
console.log(`python-snapshot: ${image.length} bytes of memory, ${out}`);
