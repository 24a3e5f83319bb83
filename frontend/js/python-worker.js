// Runs `python-wasm` skills in Pyodide, inside this dedicated worker.
//
// Pyodide loads from the app's own /vendor/pyodide/ (never a CDN) as soon
// as the page creates the worker. Then the scope is locked down (see
// sandbox.js) and each run executes the skill's code block in a fresh
// global namespace and calls execute(inputs), exactly as the native
// reference runner (crates/core/tests/system_skills/run_python.py) does.
//
// Starting the interpreter from nothing takes seconds (CPython's start-up
// and the imports of Pyodide's own modules, compiled from source), so the
// build makes a memory snapshot of one that has started and defined the
// runner (frontend/python-snapshot.mjs). The worker downloads it beside
// Pyodide's files and restores it, which skips all of that. A snapshot
// that is missing, from another Pyodide build or otherwise unusable costs
// one failed attempt: the worker then starts Pyodide normally.
//
// Pyodide's `js` module is given an empty object as its globals, so
// `import js` reaches nothing; a skill that climbs to the real global scope
// through a JS object's constructor finds the locked-down worker scope.
import { loadPyodide } from "/vendor/pyodide/pyodide.mjs";
import { RUNNER, SNAPSHOT_PATH, pyodideOptions } from "/js/python-runtime.mjs";
import { errorText, serve } from "/js/sandbox.js";

const INDEX_URL = "/vendor/pyodide/";

// Requested at once, so it downloads while Pyodide fetches and compiles
// its wasm; load() decides what to do if it fails.
const snapshot = fetchSnapshot();
snapshot.catch(() => {});

/// The snapshot's bytes. It is stored gzipped (31 MB of memory, mostly
/// empty, in 6 MB) and served as it is; the worker inflates it.
async function fetchSnapshot() {
  const response = await fetch(INDEX_URL + SNAPSHOT_PATH);
  if (!response.ok || !response.body) {
    throw new Error(`no snapshot (HTTP ${response.status})`);
  }
  const inflated = response.body.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

/// A run with a known answer, made before a restored interpreter is used.
const CHECK = {
  code: "def execute(inputs):\n    return {'sum': sum(inputs['values'])}\n",
  inputs: '{"values": [1, 2, 3]}',
  outputs: '{"sum": 6}',
};

/// Pyodide, restored from `image` (a promise of the snapshot) if given,
/// and the runner defined in it.
async function start(image) {
  const options = pyodideOptions(INDEX_URL);
  if (image) {
    options._loadSnapshot = image;
  }
  const pyodide = await loadPyodide(options);
  return { pyodide, runner: pyodide.runPython(RUNNER) };
}

async function restore() {
  const { pyodide, runner } = await start(snapshot);
  // `random` was imported and seeded while the snapshot was made, and
  // every restore would otherwise draw the same numbers: seed it afresh
  // (from crypto.getRandomValues). The string hash secret cannot be
  // changed after start-up, so it is the build's: string hashes and set
  // order are the same in every restored worker.
  pyodide.runPython("import random; random.seed()");
  const reply = JSON.parse(runner(CHECK.code, CHECK.inputs));
  if (reply.outputs !== CHECK.outputs) {
    throw new Error(`the restored interpreter answered ${JSON.stringify(reply)}`);
  }
  return { runner };
}

serve({
  async load() {
    try {
      return await restore();
    } catch (error) {
      console.warn(`Python: the snapshot is unusable (${errorText(error)}); starting Pyodide normally`);
    }
    const { runner } = await start(null);
    return { runner };
  },
  run({ runner }, request) {
    return JSON.parse(runner(String(request.code), String(request.inputs)));
  },
});
