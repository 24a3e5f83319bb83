//! Writes the OpenAPI document of the API (`llmos_api::document_json`,
//! assembled from the types the components serialise) and its `ETag`
//! and its gzip form into `OUT_DIR`, so the component serves it as one constant: an
//! instance never assembles it per request, and the served bytes always
//! come from the code it was built with. `llmos build` writes the same
//! bytes to `docs/openapi.json`.

use std::io::Write as _;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let document = llmos_api::document_json();
    let digest = Sha256::digest(document.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(out.join("openapi.json"), &document).expect("write openapi.json");
    std::fs::write(out.join("openapi.etag"), format!("\"{hex}\"")).expect("write openapi.etag");
    // Its gzip form, compressed once here rather than per request.
    let mut coder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    coder.write_all(document.as_bytes()).expect("gzip");
    std::fs::write(out.join("openapi.json.gz"), coder.finish().expect("gzip"))
        .expect("write openapi.json.gz");
    // Rebuilt when llmos-api (a build dependency) changes, and only then.
    println!("cargo::rerun-if-changed=build.rs");
}
