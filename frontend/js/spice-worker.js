// Simulates `spice` skills with eecircuit-engine (ngspice compiled to
// WebAssembly) inside this dedicated worker, so a long simulation never
// blocks the page and can be stopped by terminating the worker.
//
// The page renders the netlist (template checks and value substitution
// happen in Rust, crates/core/src/skill/netlist.rs) and converts the result
// into a waveform; this worker only runs ngspice and hands back its vectors.
// The engine is one module with the ngspice wasm inlined as a data: URL; it
// is loaded from the app's /vendor/eecircuit/ when the first circuit runs.
import { serve } from "/js/sandbox.js";

serve({
  async load() {
    const { Simulation } = await import("/vendor/eecircuit/eecircuit-engine.mjs");
    const simulation = new Simulation();
    await simulation.start();
    return { simulation };
  },
  async run({ simulation }, request) {
    simulation.setNetList(String(request.netlist));
    const result = await simulation.runSim();
    const errors = simulation.getError();
    const log = simulation.getInfo();
    if (!result || !Array.isArray(result.data) || result.data.length === 0) {
      const why = errors.length > 0 ? errors.join("\n") : "ngspice produced no vectors";
      return { error: `SpiceError: ${why}`, log };
    }
    if (result.dataType !== "real") {
      return { error: "SpiceError: the analysis produced complex vectors; only .tran is supported", log };
    }
    const vectors = result.data.map((vector) => ({
      name: vector.name,
      type: vector.type,
      values: Array.from(vector.values),
    }));
    return { outputs: JSON.stringify({ numPoints: result.numPoints, vectors }), log, errors };
  },
});
