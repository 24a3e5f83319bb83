"""Native runner of python-wasm skills, the reference for the Pyodide runtime.

Reads one JSON request from stdin, {"code": "<the skill's code block>",
"inputs": {...}}, runs the code in a fresh namespace, calls execute(inputs)
and writes one JSON line to stdout: {"outputs": {...}, "log": "..."} on
success or {"error": "<Type>: <message>", "log": "..."} when the skill
raises or breaks the contract. The exit status is 0 in both cases; any
other status means the runner itself failed.
"""

import contextlib
import io
import json
import sys

MINIMUM_PYTHON = (3, 11)


def run(request):
    namespace = {"__name__": "skill", "__builtins__": __builtins__}
    log = io.StringIO()
    try:
        # Anything the skill prints is its log, never part of the JSON reply.
        with contextlib.redirect_stdout(log):
            exec(compile(request["code"], "<skill>", "exec"), namespace)
            execute = namespace.get("execute")
            if not callable(execute):
                raise TypeError("the code block does not define execute(inputs)")
            outputs = execute(request["inputs"])
        if not isinstance(outputs, dict):
            raise TypeError(f"execute returned {type(outputs).__name__}, not a dict")
        text = json.dumps({"outputs": outputs, "log": log.getvalue()}, allow_nan=False)
    except Exception as exc:  # the skill's failure is this runner's result
        text = json.dumps({"error": f"{type(exc).__name__}: {exc}", "log": log.getvalue()})
    return text


def main():
    if sys.version_info < MINIMUM_PYTHON:
        sys.exit(f"python-wasm skills need Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer")
    request = json.load(sys.stdin)
    sys.stdout.write(run(request) + "\n")


if __name__ == "__main__":
    main()
