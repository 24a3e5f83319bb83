// Runs compiled skills (skill components of wit/skill/skill.wit) in this
// dedicated worker, with the same runtime as the edge: the module
// /pkg/component_worker_bg.wasm links llmos-skill-runtime, whose
// interpreter runs the component with fuel and memory limits, and answers
// with the same JSON text for the outputs (frontend/src/bin/component-worker).
//
// The worker fetches nothing: the page compiles the worker's module and
// sends it in the connect message, and sends each component's bytes with
// its first run (the page fetched them with its token; the worker never
// sees the token). Its Content-Security-Policy refuses every connection
// and nested workers, and the scope is locked down (sandbox.js) before the
// first run. Components are interpreted, never compiled by the browser.
//
// A run message carries `sha256`, `bytes` (a Uint8Array, only when this
// worker does not hold the component yet), `inputs` (JSON text) and
// optionally `limits` and `ports` (JSON texts); the reply is
// `{answer}`, the module's JSON text: `{"ok":{"outputs","log","fuel"}}` or
// `{"error":{"code","message","log","fuel"}}`.
import init, { runComponent } from "/pkg/component_worker.js";
import { serve } from "/js/sandbox.js";

serve({
  async load(connected) {
    const { module } = await connected;
    if (!(module instanceof WebAssembly.Module)) {
      throw new TypeError("the page did not send the component worker's module");
    }
    await init({ module_or_path: module });
    return {};
  },
  run(_runtime, request) {
    try {
      const answer = runComponent(
        String(request.sha256),
        request.bytes instanceof Uint8Array ? request.bytes : undefined,
        String(request.inputs),
        typeof request.limits === "string" ? request.limits : undefined,
        typeof request.ports === "string" ? request.ports : undefined,
      );
      return { answer };
    } catch (error) {
      // The module trapped outside any skill (a bug in the runtime): its
      // state can no longer be trusted. Rethrown outside the run, the
      // error reaches the page as this worker's error event, and the page
      // replaces the worker.
      setTimeout(() => {
        throw error;
      });
      return new Promise(() => {});
    }
  },
});
