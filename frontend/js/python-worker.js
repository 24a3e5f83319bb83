// Runs `python-wasm` skills in Pyodide, inside this dedicated worker.
//
// Pyodide loads from the app's own /vendor/pyodide/ (never a CDN) as soon
// as the page creates the worker. Then the scope is locked down (see
// sandbox.js) and each run executes the skill's code block in a fresh
// global namespace and calls execute(inputs), exactly as the native
// reference runner (crates/core/tests/system_skills/run_python.py) does.
//
// Pyodide's `js` module is given an empty object as its globals, so
// `import js` reaches nothing; a skill that climbs to the real global scope
// through a JS object's constructor finds the locked-down worker scope.
import { loadPyodide } from "/vendor/pyodide/pyodide.mjs";
import { serve } from "/js/sandbox.js";

// Defines the runner inside Python and returns it. Everything the runner
// uses is bound before any skill runs, so a skill that rebinds names in
// `__main__` does not change how later runs are executed.
const RUNNER = `
def _make_runner():
    import builtins
    import contextlib
    import io
    import json

    dumps, loads = json.dumps, json.loads

    def run(code, inputs_json):
        namespace = {"__name__": "skill", "__builtins__": builtins}
        log = io.StringIO()
        try:
            # Anything the skill prints is its log, never part of the reply.
            with contextlib.redirect_stdout(log):
                exec(compile(code, "<skill>", "exec"), namespace)
                execute = namespace.get("execute")
                if not callable(execute):
                    raise TypeError("the code block does not define execute(inputs)")
                outputs = execute(loads(inputs_json))
            if not isinstance(outputs, dict):
                raise TypeError(f"execute returned {type(outputs).__name__}, not a dict")
            return dumps({"outputs": dumps(outputs, allow_nan=False), "log": log.getvalue()})
        except BaseException as exc:  # SystemExit too: the skill's failure is the result
            return dumps({"error": f"{type(exc).__name__}: {exc}", "log": log.getvalue()})

    return run

_make_runner()
`;

serve({
  async load() {
    const pyodide = await loadPyodide({
      indexURL: "/vendor/pyodide/",
      jsglobals: {},
      // input() reads end-of-file: skills take inputs, not a terminal.
      stdin: () => null,
      // Output written outside redirect_stdout (C-level writes, warnings)
      // is dropped rather than logged to the console of the page.
      stdout: () => {},
      stderr: () => {},
    });
    const runner = pyodide.runPython(RUNNER);
    return { runner };
  },
  run({ runner }, request) {
    return JSON.parse(runner(String(request.code), String(request.inputs)));
  },
});
