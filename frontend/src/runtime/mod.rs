//! Running executable skills in the browser: Python in Pyodide and
//! JavaScript in Web Workers that never see the page or its token,
//! SPICE netlists in ngspice (eecircuit-engine), Three.js scenes built from
//! the declarative output of skill code. See `docs/skills.md`.
