//! Writes the OpenAPI document of the API (`llmos_api::document_json`,
//! assembled from the types the components serialise) and its `ETag`
//! into `OUT_DIR`, so the component serves it as one constant: an
//! instance never assembles it per request, and the served bytes always
//! come from the code it was built with. `llmos build` writes the same
//! bytes to `docs/openapi.json`.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let document = llmos_api::document_json();
    let digest = Sha256::digest(document.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(out.join("openapi.json"), &document).expect("write openapi.json");
    std::fs::write(out.join("openapi.etag"), format!("\"{hex}\"")).expect("write openapi.etag");
    // Rebuilt when llmos-api (a build dependency) changes, and only then.
    println!("cargo::rerun-if-changed=build.rs");
}
