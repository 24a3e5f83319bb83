// Runs one `javascript` or `threejs` skill in this dedicated worker; the
// page creates a fresh worker for every run, so nothing a skill leaves in
// the global scope reaches another run.
//
// The code block is evaluated with `new Function` (so this worker's
// Content-Security-Policy allows 'unsafe-eval' and nothing else beyond its
// own origin's scripts) after the scope has been locked down, then
// execute(inputs) is called and awaited, as the native reference runner
// (crates/core/tests/system_skills/run_js.mjs) does.
import { serve } from "/js/sandbox.js";

// What JSON cannot carry fails the run instead of being dropped or turned
// into null by JSON.stringify.
function jsonOnly(key, value) {
  const where = key === "" ? "(root)" : key;
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`output value ${where} is ${value}, which JSON cannot carry`);
  }
  if (value === undefined || typeof value === "function" || typeof value === "bigint" || typeof value === "symbol") {
    throw new TypeError(`output value ${where} is a ${typeof value}, not JSON`);
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = proto && proto.constructor ? proto.constructor.name : "object";
      throw new TypeError(`output value ${where} is a ${kind}; convert it to an array or a plain object`);
    }
  }
  return value;
}

serve({
  load() {
    return {};
  },
  async run(_runtime, request) {
    const log = [];
    const write = (...args) => log.push(args.map((arg) => String(arg)).join(" "));
    const console = { log: write, info: write, warn: write, error: write, debug: write };
    globalThis.console = console;
    try {
      // The code is a classic script; its top-level declarations are local
      // to this function, which hands back `execute` if the code defined it.
      const body = `${request.code}\n;return typeof execute === "function" ? execute : undefined;`;
      const execute = new Function("console", body)(console);
      if (execute === undefined) {
        throw new TypeError("the code block does not define execute(inputs)");
      }
      const outputs = await execute(JSON.parse(request.inputs));
      if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs)) {
        throw new TypeError("execute must return an object keyed by output name");
      }
      return { outputs: JSON.stringify(outputs, jsonOnly), log: log.join("\n") };
    } catch (error) {
      const name = error && error.name ? error.name : "Error";
      const message = error && error.message !== undefined ? error.message : String(error);
      return { error: `${name}: ${message}`, log: log.join("\n") };
    }
  },
});
