//! Previews of node outputs: numbers and JSON, line plots (SVG), Three.js
//! scenes, circuit waveforms, quantum state bars and convergence curves.
