//! Procedural macros of the llmos-skill SDK.
