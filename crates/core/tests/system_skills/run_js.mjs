// Native runner of javascript and threejs skills, the reference for the
// browser's worker runtime.
//
// Reads one JSON request from stdin, {"code": "<the skill's code block>",
// "inputs": {...}}, evaluates the code as a classic script in a fresh global
// scope that has no require, process, fetch or DOM, calls execute(inputs),
// awaits it if it returns a promise, and writes one JSON line to stdout:
// {"outputs": {...}, "log": "..."} on success or {"error": "<Name>: <message>",
// "log": "..."} when the skill throws or breaks the contract. The exit status
// is 0 in both cases; any other status means the runner itself failed.

import { readFileSync } from "node:fs";
import vm from "node:vm";

// Long enough for any system skill, short enough to stop an endless loop.
const TIMEOUT_MS = 10_000;

function jsonOnly(key, value) {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`output value ${key || "(root)"} is ${value}, which JSON cannot carry`);
  }
  if (value === undefined || typeof value === "function" || typeof value === "bigint") {
    throw new TypeError(`output value ${key || "(root)"} is a ${typeof value}, not JSON`);
  }
  return value;
}

async function run(request) {
  const log = [];
  const write = (...args) => log.push(args.map((arg) => String(arg)).join(" "));
  const context = vm.createContext({
    console: { log: write, info: write, warn: write, error: write, debug: write },
  });
  try {
    vm.runInContext(request.code, context, { filename: "skill.js", timeout: TIMEOUT_MS });
    // Reads both `function execute` and a top-level `const execute = ...`.
    const execute = vm.runInContext("typeof execute === 'function' ? execute : undefined", context);
    if (execute === undefined) {
      throw new TypeError("the code block does not define execute(inputs)");
    }
    // Inputs are built inside the skill's realm so that its own Array and
    // Object prototypes apply to them.
    context.__inputs = JSON.stringify(request.inputs);
    const pending = vm.runInContext("execute(JSON.parse(__inputs))", context, {
      timeout: TIMEOUT_MS,
    });
    const outputs = await pending;
    if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs)) {
      throw new TypeError("execute must return an object keyed by output name");
    }
    return JSON.stringify({ outputs, log: log.join("\n") }, jsonOnly);
  } catch (error) {
    const name = error && error.name ? error.name : "Error";
    const message = error && error.message !== undefined ? error.message : String(error);
    return JSON.stringify({ error: `${name}: ${message}`, log: log.join("\n") });
  }
}

const request = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write((await run(request)) + "\n");
