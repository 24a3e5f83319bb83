//! Shared by the end-to-end tests of compiled skills in workflows: the app
//! of the workflows tests (`workflows_support`), the `workflow-skill`
//! fixture component, and compiled skill files for it.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills -p workflows -p web -p workflow-skill
#![allow(dead_code)]

use llmos_core::skill::component::{
    Language, Provenance, SKILL_WORLD, source_digest, with_provenance,
};

#[path = "../workflows_support/mod.rs"]
mod workflows_support;
pub use workflows_support::Env;

/// The bytes of the `workflow-skill` fixture component: input `x`
/// (number) and `mode` (string: `square`, `fail`, `loop`, `memory`),
/// output `y` (number).
pub fn fixture() -> Vec<u8> {
    llmos_tests::test_component("workflow-skill")
}

/// A compiled Rust skill file for the fixture's ports (the code block
/// stands for the fixture's source; the component is stored beside it).
/// `outputs` lists the output ports as `(name, type)`.
pub fn skill_file(id: &str, version: u32, outputs: &[(&str, &str)]) -> String {
    let mut text = format!(
        "---\nskill_id: {id}\nname: Square {version}\ntype: wasm-component\nexecution_mode: edge-wasm\n\
         category: mathematics\ndescription: Squares a number in a compiled component.\n\
         inputs:\n  - name: x\n    type: number\n  - name: mode\n    type: string\n    required: false\n\
         outputs:\n"
    );
    for (name, ty) in outputs {
        text.push_str(&format!("  - name: {name}\n    type: {ty}\n"));
    }
    text.push_str(&format!(
        "---\nSquares `x`.\n\n```rust\n// version {version}\nfn execute(x: f64) -> f64 {{ x * x }}\n```\n"
    ));
    text
}

/// The fixture with a provenance naming the source digest of `built_from`
/// (a skill file), as a build of that file writes it.
pub fn component_for(built_from: &str) -> Vec<u8> {
    let skill = llmos_core::skill::parse(Some("skills/x.md"), built_from).expect("a skill file");
    let provenance = Provenance {
        skill_id: skill
            .signature()
            .map(|s| s.skill_id.to_string())
            .unwrap_or_default(),
        source_sha256: source_digest(&skill).expect("a compiled skill"),
        language: Language::Rust,
        toolchain: "rustc 1.95.0".into(),
        world: SKILL_WORLD.into(),
    };
    with_provenance(&fixture(), &provenance).expect("the fixture is a component")
}
