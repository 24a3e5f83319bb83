//! The Rust SDK for skill components (the `llmos:skill` world of
//! `wit/skill/skill.wit`).
//!
//! A skill is a plain function over typed inputs; [`skill`] turns it into
//! the world's `describe` and `execute` exports, and [`Outputs`] (derived)
//! names its output ports:
//!
//! ```
//! use llmos_skill::prelude::*;
//!
//! #[derive(Outputs)]
//! struct Solution {
//!     t: Vec<f64>,
//!     y: Waveform,
//! }
//!
//! #[skill]
//! fn execute(rate: f64, y0: f64, steps: Option<u32>) -> Result<Solution, SkillError> {
//!     let steps = steps.unwrap_or(100);
//!     if steps == 0 {
//!         return Err(SkillError::new("bad-steps", "steps must be positive"));
//!     }
//!     let t: Vec<f64> = (0..=steps).map(|i| f64::from(i) / f64::from(steps)).collect();
//!     let y = t.iter().map(|t| y0 * (rate * t).exp()).collect();
//!     log(&format!("{} samples", t.len()));
//!     Ok(Solution { y: Waveform::new(t.clone(), [("y", y)]), t })
//! }
//! # fn main() {}
//! ```
//!
//! - Every parameter is an input port named after it (`r#type` → `type`);
//!   its type gives the port type (see [`port`]'s table), and `Option<T>`
//!   makes it optional. A missing required input or a value of the wrong
//!   type is a `skill-input-invalid` error naming the port, before the
//!   function runs.
//! - The function returns `Result<O, E>` (with `E: Into<SkillError>`) or
//!   `O`, where `O` derives [`Outputs`] (or is `()`): each field is an
//!   output port, and an `Option` field that is `None` is left out.
//! - `describe` names the skill after the crate (`CARGO_PKG_NAME` and
//!   `CARGO_PKG_VERSION`, which the skill builder sets from the skill
//!   file); the builder also passes `LLMOS_SKILL_NAME` when the skill id
//!   is not a valid package name, and it takes precedence.
//! - [`log`] appends a line to the node's log; `println!` and `eprintln!`
//!   land there too, and so does the message of a panic (which ends the
//!   call as `skill-trapped`).
//!
//! The world's bindings are generated once, here ([`bindings`]); a skill
//! crate never runs `wit-bindgen` itself. They are exported only when
//! building for WebAssembly, so skill code (and this crate's tests) also
//! builds and runs natively.

// The macros' expansions name this crate by its path, also inside its own
// tests.
extern crate self as llmos_skill;

mod error;
mod glue;
pub mod port;
pub mod value;

pub use error::SkillError;
/// Makes a struct with named fields a skill's outputs (see [`Outputs`]).
pub use llmos_skill_macros::Outputs;
/// Makes a function the skill's `execute` (see the crate docs).
pub use llmos_skill_macros::skill;
pub use port::{PortInfo, PortType, PortValue};
pub use value::{Bytes, Image, Map, Mesh, Value, Waveform};

/// What the macros' expansions call; not a stable interface.
#[doc(hidden)]
pub mod __private {
    pub use crate::glue::*;
}

/// The skill world's bindings (`wit-bindgen`), generated once for every
/// skill.
pub mod bindings {
    wit_bindgen_skill::generate!({
        path: "../../wit/skill",
        runtime_path: "::wit_bindgen_skill::rt",
        world: "skill",
        pub_export_macro: true,
        export_macro_name: "export_skill",
        default_bindings_module: "::llmos_skill::bindings",
        additional_derives: [PartialEq],
    });
}

/// A skill's outputs: derive it on a struct with named fields.
pub trait Outputs {
    /// The output ports, in field order.
    fn ports() -> Vec<PortInfo>;

    /// The fields that have a value, by port name.
    fn into_fields(self) -> Vec<(String, Value)>;
}

/// A skill with no outputs.
impl Outputs for () {
    fn ports() -> Vec<PortInfo> {
        Vec::new()
    }

    fn into_fields(self) -> Vec<(String, Value)> {
        Vec::new()
    }
}

/// What a skill function may return: its outputs, or a `Result` of them.
pub trait SkillReturn {
    type Outputs: Outputs;

    fn into_result(self) -> Result<Self::Outputs, SkillError>;
}

impl<O: Outputs> SkillReturn for O {
    type Outputs = O;

    fn into_result(self) -> Result<O, SkillError> {
        Ok(self)
    }
}

impl<O: Outputs, E: Into<SkillError>> SkillReturn for Result<O, E> {
    type Outputs = O;

    fn into_result(self) -> Result<O, SkillError> {
        self.map_err(Into::into)
    }
}

/// Appends `message` as a line to the node's log. Natively (in tests)
/// it goes to standard error.
pub fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::llmos::skill::host::log(message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}

/// Everything a skill file's code needs: `use llmos_skill::prelude::*;`.
pub mod prelude {
    pub use crate::{Bytes, Image, Map, Mesh, Outputs, SkillError, Value, Waveform, log, skill};
}
