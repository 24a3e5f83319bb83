//! Stable pattern fingerprints.
//!
//! A fingerprint is the first 16 hex digits (64 bits) of the SHA-256 of a
//! versioned text: `llmos-evolve-v1`, the trace kind, then the signature's
//! features one per line. Features never contain newlines (they are terms,
//! skill ids or `skill:<id>`), so different signatures give different
//! texts. The version prefix lets a later signature scheme start afresh.

use sha2::{Digest, Sha256};

use crate::trace::TraceKind;

/// The fingerprint of a signature of `kind` with `features` (in the order
/// the signature defines: sorted for chat, plan order for runs).
pub fn fingerprint(kind: TraceKind, features: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"llmos-evolve-v1\n");
    hasher.update(kind.as_str().as_bytes());
    for feature in features {
        hasher.update(b"\n");
        hasher.update(feature.as_bytes());
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_stable_and_distinguishes_kind_and_order() {
        let f =
            |k, v: &[&str]| fingerprint(k, &v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        let a = f(TraceKind::WorkflowRun, &["a", "b"]);
        assert_eq!(a.len(), 16);
        assert_eq!(a, f(TraceKind::WorkflowRun, &["a", "b"]));
        assert_ne!(a, f(TraceKind::WorkflowRun, &["b", "a"]));
        assert_ne!(a, f(TraceKind::Chat, &["a", "b"]));
        assert_ne!(f(TraceKind::Chat, &["ab"]), f(TraceKind::Chat, &["a", "b"]));
    }
}
