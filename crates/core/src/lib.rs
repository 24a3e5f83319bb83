//! Pure domain logic of LLMos-Lite.
//!
//! Nothing in this crate performs I/O: it parses and validates skills and
//! workflows, ranks skills, plans workflows and detects patterns in traces.
//! It builds for the host (native), for components (`wasm32-wasip2`) and for
//! the browser (`wasm32-unknown-unknown`), so the same rules apply everywhere.
#![forbid(unsafe_code)]

pub mod evolve;
pub mod ids;
pub mod rank;
pub mod skill;
pub mod sse;
pub mod text;
pub mod trace;
pub mod types;
pub mod workflow;
