"""The skill world's exports around a skill file's `execute(inputs)`.

Generated into every Python skill component by llmos-skill-build. The
skill's code block is the module `skill_code` (saved verbatim, so its line
numbers plus the fence line are the Markdown lines); `llmos_skill_meta`
holds the ports of the front matter.

Values: null -> None, boolean -> bool, number -> int when integral and
within 2^53 (as JSON would read it) else float, text -> str, bytes ->
bytes, array -> list, object -> dict; and back (bool before int, tuples as
lists, bytes and bytearray as bytes). `print()` goes to the node's log.
`SkillError(code, message)` ends the call with that error; any other
exception is `skill-python-error` naming the Markdown line it came from.
"""

import builtins
import math
import sys
import traceback

import wit_world
from wit_world.imports import host, types
from componentize_py_types import Err

import llmos_skill_meta as meta

# Deepest nesting converted either way (the host's own limit).
MAX_DEPTH = 256
# Largest integer a double holds exactly.
MAX_EXACT_INT = 2**53


class SkillError(Exception):
    """Raise `SkillError("bad-input", "what is wrong")` to fail the call."""

    def __init__(self, code, message=""):
        super().__init__(message)
        self.code = str(code)
        self.message = str(message)


builtins.SkillError = SkillError

import skill_code  # noqa: E402  (SkillError must exist when it runs)


class OutputError(Exception):
    pass


class LogWriter:
    """sys.stdout and sys.stderr during a call: one log line per line."""

    def __init__(self):
        self.pending = ""

    def write(self, text):
        self.pending += str(text)
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            host.log(line)
        return len(text)

    def flush(self):
        if self.pending:
            host.log(self.pending)
            self.pending = ""


PORT_TYPES = {
    "number": types.PortType.NUMBER,
    "string": types.PortType.STRING,
    "boolean": types.PortType.BOOLEAN,
    "array": types.PortType.ARRAY,
    "object": types.PortType.OBJECT,
    "image": types.PortType.IMAGE,
    "mesh": types.PortType.MESH,
    "waveform": types.PortType.WAVEFORM,
    "any": types.PortType.ANY,
}


def from_value(value):
    nodes = value.nodes

    def node(i, depth):
        if depth > MAX_DEPTH:
            raise OutputError("an input nests deeper than %d levels" % MAX_DEPTH)
        n = nodes[i]
        if isinstance(n, types.Node_Null):
            return None
        if isinstance(n, types.Node_Boolean):
            return bool(n.value)
        if isinstance(n, types.Node_Number):
            x = n.value
            if math.isfinite(x) and x == math.floor(x) and abs(x) <= MAX_EXACT_INT:
                return int(x)
            return x
        if isinstance(n, types.Node_Text):
            return n.value
        if isinstance(n, types.Node_Bytes):
            return bytes(n.value)
        if isinstance(n, types.Node_Array):
            return [node(j, depth + 1) for j in n.value]
        if isinstance(n, types.Node_Object):
            return {k: node(j, depth + 1) for k, j in n.value}
        raise OutputError("an input has an unknown node")

    return node(0, 0)


def to_value(x, where):
    nodes = []

    def push(x, depth, path):
        if depth > MAX_DEPTH:
            raise OutputError("%s nests deeper than %d levels" % (path, MAX_DEPTH))
        at = len(nodes)
        nodes.append(None)
        if x is None:
            n = types.Node_Null()
        elif isinstance(x, bool):
            n = types.Node_Boolean(x)
        elif isinstance(x, int):
            try:
                n = types.Node_Number(float(x))
            except OverflowError:
                raise OutputError("%s is an integer too large for a number" % path)
        elif isinstance(x, float):
            n = types.Node_Number(x)
        elif isinstance(x, str):
            n = types.Node_Text(x)
        elif isinstance(x, (bytes, bytearray, memoryview)):
            n = types.Node_Bytes(bytes(x))
        elif isinstance(x, (list, tuple)):
            n = types.Node_Array([push(item, depth + 1, "%s[%d]" % (path, i)) for i, item in enumerate(x)])
        elif isinstance(x, dict):
            members = []
            for k, v in x.items():
                if not isinstance(k, str):
                    raise OutputError("%s has the key %r, which is not a string" % (path, k))
                members.append((k, push(v, depth + 1, "%s.%s" % (path, k))))
            n = types.Node_Object(members)
        else:
            raise OutputError("%s is a %s, which has no JSON form" % (path, type(x).__name__))
        nodes[at] = n
        return at

    push(x, 0, where)
    return types.Value(nodes)


def drive(coroutine):
    """Runs an `async def execute` that never waits on anything."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise SkillError("python-error", "execute awaited something; skills run synchronously and have no event loop")


def describe_exception(e):
    where = ""
    # walk_tb, not extract_tb: the latter reads source files for their
    # text, and a skill has no filesystem.
    for frame, lineno in reversed(list(traceback.walk_tb(e.__traceback__))):
        if frame.f_code.co_filename.endswith("skill_code.py") and lineno:
            where = " (%s line %d)" % (meta.PATH, meta.FENCE_LINE + lineno)
            break
    text = str(e)
    name = type(e).__name__
    return ("%s: %s" % (name, text) if text else name) + where


def failure(code, message):
    return Err(types.SkillError(code, message))


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return types.SkillDescription(
            meta.NAME,
            meta.VERSION,
            [types.Port(name, PORT_TYPES[ty], required) for name, ty, required in meta.INPUTS],
            [types.Port(name, PORT_TYPES[ty], required) for name, ty, required in meta.OUTPUTS],
        )

    def execute(self, inputs):
        log = LogWriter()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log
        try:
            args = {}
            for name, value in inputs:
                args[name] = from_value(value)
            try:
                result = skill_code.execute(args)
                if hasattr(result, "send") and hasattr(result, "close") and hasattr(result, "__await__"):
                    result = drive(result)
            except SkillError as e:
                raise failure(e.code, e.message)
            except BaseException as e:  # noqa: B036  (every failure is the skill's error)
                raise failure("skill-python-error", describe_exception(e))
            if not isinstance(result, dict):
                raise failure(
                    "skill-output-invalid",
                    "execute returned %s; it must return a dict of outputs" % type(result).__name__,
                )
            outputs = []
            for name, value in result.items():
                if not isinstance(name, str):
                    raise failure("skill-output-invalid", "output name %r is not a string" % (name,))
                try:
                    outputs.append((name, to_value(value, "output `%s`" % name)))
                except OutputError as e:
                    raise failure("skill-output-invalid", str(e))
            return outputs
        except OutputError as e:
            raise failure("skill-input-invalid", str(e))
        finally:
            log.flush()
            sys.stdout, sys.stderr = saved
