//! Glue shared by every Spin component of the app.
#![forbid(unsafe_code)]
