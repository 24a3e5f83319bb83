//! On-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes hundreds of milliseconds to
//! seconds; loading the compiled artifact takes about a millisecond. The
//! cache key is a SHA-256 over the `.wasm` bytes and the engine's
//! compatibility hash (wasmtime version, target, and every setting that
//! affects generated code), so a changed component or engine setting never
//! reuses stale code.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept.
#[derive(Clone, Debug)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        CompileCache { dir: Some(dir) }
    }

    /// No caching: always compile.
    pub fn disabled() -> Self {
        CompileCache { dir: None }
    }

    /// The default cache directory: `$LLMOS_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/llmos`, else `~/.cache/llmos`, else `fallback`.
    pub fn default_dir(fallback: &Path) -> PathBuf {
        if let Some(dir) = std::env::var_os("LLMOS_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("llmos");
        }
        if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(home).join(".cache").join("llmos");
        }
        fallback.to_owned()
    }

    /// Loads the component at `wasm_path`, from the cache when possible.
    pub fn load(&self, engine: &Engine, wasm_path: &Path) -> anyhow::Result<Component> {
        let bytes = std::fs::read(wasm_path)
            .with_context(|| format!("while reading component {}", wasm_path.display()))?;
        let Some(dir) = &self.dir else {
            return compile(engine, &bytes, wasm_path);
        };
        let entry = dir.join(format!("{}.cwasm", cache_key(engine, &bytes)));
        if entry.is_file() {
            // SAFETY: `Component::deserialize_file` runs native code from the
            // file, so the file must hold output of `Component::serialize`
            // from a compatible engine. Entries are written only by `store`
            // below, atomically (temp file + rename), into the user's own
            // cache directory, under a name that includes the engine's
            // compatibility hash; wasmtime additionally checks the artifact's
            // header against this engine and fails (we then recompile) on a
            // mismatch.
            match unsafe { Component::deserialize_file(engine, &entry) } {
                Ok(component) => return Ok(component),
                Err(err) => {
                    tracing::warn!(
                        "discarding unusable compiled cache entry {}: {err}",
                        entry.display()
                    );
                    let _ = std::fs::remove_file(&entry);
                }
            }
        }
        let component = compile(engine, &bytes, wasm_path)?;
        if let Err(err) = store(&component, dir, &entry) {
            tracing::warn!(
                "cannot write compiled cache entry {}: {err:#}",
                entry.display()
            );
        }
        Ok(component)
    }
}

fn compile(engine: &Engine, bytes: &[u8], wasm_path: &Path) -> anyhow::Result<Component> {
    Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("while compiling component {}", wasm_path.display()))
}

fn store(component: &Component, dir: &Path, entry: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let serialized = component.serialize().map_err(anyhow::Error::from)?;
    let temp = entry.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, serialized)?;
    std::fs::rename(&temp, entry)?;
    Ok(())
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.0.update(bytes);
    hex::encode(hasher.0.finalize())
}

/// Feeds `Hash` output into SHA-256, which unlike `DefaultHasher` is stable
/// across builds and processes.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        // Only `write` is used; the digest is read from the inner hasher.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
