//! The Rust SDK for skill components (the `llmos:skill` world).
