//! Output previews of the selected node: see `crate::preview`.

pub use crate::preview::OutputPreview;
