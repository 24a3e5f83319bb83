//! The `llmos` host: runs the Spin app described by a `spin.toml` on
//! wasmtime, with Spin's semantics, and the project's command-line tasks.
//!
//! Layers, each calling only the ones below it:
//! - [`manifest`]: parsing and strict validation of `spin.toml`;
//! - [`app`]: the manifest with every value resolved ([`variables`],
//!   [`files`], [`runtime_config`], [`admin_token`]);
//! - [`runtime`]: engine policy, compiled-code cache, stores and limits;
//! - [`capabilities`] and [`outbound`]: the host interfaces guests call;
//! - [`routing`] and [`trigger`]: Spin's HTTP routing, the HTTP server and
//!   the cron scheduler;
//! - [`builder`]: `spin build`-style component builds;
//! - [`skill_builder`]: the service compiling skill files into skill
//!   components for the app.

pub mod admin_token;
pub mod app;
pub mod builder;
pub mod capabilities;
pub mod files;
pub mod manifest;
pub mod outbound;
pub mod routing;
pub mod runtime;
pub mod runtime_config;
pub mod skill_builder;
pub mod trigger;
pub mod variables;
