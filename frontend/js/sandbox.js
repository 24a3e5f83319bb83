// The lockdown shared by the skill workers, and their side of the message
// protocol with the page.
//
// A worker is created by the page, which transfers one MessagePort in a
// first message on the worker's global channel. From then on everything
// travels over that port, held only in this module's closures, so skill
// code that listens on (or replaces) the global `onmessage` hears nothing
// and cannot post anything to the page.
//
//   page → worker: {type: "connect", ...} first, with the port; the
//                  component worker's carries its compiled `module`
//                  {type: "run", id, code | netlist, inputs (JSON text)}
//                  (the component worker: {type: "run", id, sha256,
//                  bytes?, inputs, limits?, ports?})
//   worker → page: {type: "ready"}  once the runtime has loaded
//                  {type: "failed", error}  when it cannot load
//                  {type: "done", id, outputs (JSON text) | error, log}
//                  (the component worker: {type: "done", id, answer})
//
// Skill code runs in the worker's global scope (Pyodide's `js` module is
// that scope too), so before any of it runs, `lockDown()` removes from the
// scope everything that reaches the network, storage shared with the page,
// other workers or the page itself. The worker's own Content-Security-Policy
// (set by the web component) forbids connections anyway; this is the second
// wall, and the one that makes the attempts fail with a plain error.

// Names removed from the global scope and its prototype chain.
const BLOCKED = [
  // Network.
  "fetch",
  "XMLHttpRequest",
  "WebSocket",
  "WebSocketStream",
  "EventSource",
  "WebTransport",
  "importScripts",
  "FontFace",
  "fonts",
  // Storage shared with the page (same origin).
  "indexedDB",
  "caches",
  "cookieStore",
  "navigator",
  // Other contexts: new workers, channels to the page or other tabs.
  "Worker",
  "SharedWorker",
  "BroadcastChannel",
  "postMessage",
  "onmessage",
  "onmessageerror",
  "close",
  "Notification",
];

/// Removes every blocked name from `scope` and the objects it inherits
/// from, then checks that none is reachable any more. Throws (so that no
/// skill code runs) if one cannot be removed.
export function lockDown(scope = globalThis) {
  for (const name of BLOCKED) {
    for (let object = scope; object !== null; object = Object.getPrototypeOf(object)) {
      if (Object.prototype.hasOwnProperty.call(object, name) && !delete object[name]) {
        Object.defineProperty(object, name, { value: undefined, writable: false, configurable: false });
      }
    }
    if (scope[name] !== undefined) {
      throw new Error(`the worker could not remove \`${name}\` from its scope`);
    }
  }
}

/// `"<Name>: <message>"` for anything thrown.
export function errorText(error) {
  if (error instanceof Error || (error && typeof error === "object" && "message" in error)) {
    const name = error.name ? String(error.name) : "Error";
    return `${name}: ${String(error.message)}`;
  }
  return `Error: ${String(error)}`;
}

/// Connects a worker to the page. `load(connected)` prepares the runtime
/// (before the lockdown, which happens here once it resolves); `connected`
/// is a promise of the page's connect message, for runtimes that receive
/// something from the page at start (the component worker's compiled
/// module). `run(runtime, message)` answers one run with `{outputs}` or
/// `{error}` and a `log` (the component worker answers `{answer}`). Runs
/// are answered one at a time, in order.
export function serve({ load, run }) {
  let connect;
  const connected = new Promise((resolve) => {
    connect = resolve;
  });
  const loaded = (async () => {
    const runtime = await load(connected);
    lockDown();
    return runtime;
  })();
  let queue = Promise.resolve();

  function onConnect(event) {
    self.removeEventListener("message", onConnect);
    const port = event.ports[0];
    if (!port) return;
    connect(event.data);
    const send = (message) => port.postMessage(message);
    loaded.then(
      () => send({ type: "ready" }),
      (error) => send({ type: "failed", error: errorText(error) }),
    );
    port.onmessage = (message) => {
      const request = message.data;
      if (!request || request.type !== "run") return;
      queue = queue.then(async () => {
        let reply;
        try {
          reply = await run(await loaded, request);
        } catch (error) {
          reply = { error: errorText(error), log: "" };
        }
        send({ type: "done", id: request.id, ...reply });
      });
    };
  }
  self.addEventListener("message", onConnect);
}
