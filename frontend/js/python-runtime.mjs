// What the Python worker (python-worker.js) and the build's memory
// snapshot of Pyodide (../python-snapshot.mjs, run in Node) share: the
// options Pyodide starts with and the runner's Python source. The snapshot
// is an interpreter that has already started with these options and run
// RUNNER, so both must be the same for a restored interpreter to be the
// one a normal start would give.

/// Where the build puts the snapshot, beside Pyodide's own files.
export const SNAPSHOT_PATH = "python-snapshot.bin.gz";

/// Defines the runner inside Python and returns it. Everything the runner
/// uses is bound before any skill runs, so a skill that rebinds names in
/// `__main__` does not change how later runs are executed.
export const RUNNER = `
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

/// `loadPyodide` options for `indexURL`, apart from the snapshot ones.
export function pyodideOptions(indexURL) {
  return {
    indexURL,
    // Pyodide's `js` module: an empty object, so `import js` reaches
    // nothing of the worker (or of Node, when the snapshot is made).
    jsglobals: {},
    // Pyodide derives LANG from the browser's language; a fixed one keeps
    // skills independent of the visitor's settings and the snapshot (made
    // where there is no browser language) equal to a normal start.
    env: { LANG: "C.UTF-8" },
    // input() reads end-of-file: skills take inputs, not a terminal.
    stdin: () => null,
    // Output written outside redirect_stdout (C-level writes, warnings)
    // is dropped rather than logged to the console of the page.
    stdout: () => {},
    stderr: () => {},
  };
}
