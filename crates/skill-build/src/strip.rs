//! Removes one export from a component's top level.
//!
//! componentize-py exports, next to the world's functions, an instance
//! named `exports` (its own pre-initialisation interface) that no host of
//! the skill world calls and the interpreter's component layer cannot
//! load. The top-level export sections are rewritten without that entry;
//! every other entry keeps its exact bytes, and the result is validated.
//! The removed entry must be the last item of its kind's index space
//! (nothing after it may refer to it), which validation checks.

use llmos_core::skill::component::{ComponentFileError, sections, write_leb_u32};
use wasmparser::{
    BinaryReader, ComponentExportSectionReader, ComponentExternalKind, Validator, WasmFeatures,
};

/// The id of a component's export section.
const COMPONENT_EXPORT_SECTION: u8 = 11;

/// Why the export could not be removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    #[error("the component is malformed: {0}")]
    Malformed(#[from] ComponentFileError),
    #[error("the component's export section cannot be read: {0}")]
    Exports(String),
    #[error("the component is not valid without its `{name}` export: {message}")]
    Invalid { name: String, message: String },
}

/// `bytes` without the top-level instance export `name`; the bytes
/// unchanged when there is none. Returns whether one was removed.
pub fn remove_instance_export(bytes: &[u8], name: &str) -> Result<(Vec<u8>, bool), StripError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8.min(bytes.len())]);
    let mut removed = false;
    for section in sections(bytes)? {
        let body = &bytes[section.body.clone()];
        let rewritten = (section.id == COMPONENT_EXPORT_SECTION)
            .then(|| without_export(body, section.body.start, name));
        match rewritten {
            Some(Ok(Some(new_body))) => {
                removed = true;
                out.push(section.id);
                write_leb_u32(
                    u32::try_from(new_body.len()).expect("a smaller body"),
                    &mut out,
                );
                out.extend_from_slice(&new_body);
            }
            Some(Err(e)) => return Err(e),
            _ => out.extend_from_slice(&bytes[section.start..section.body.end]),
        }
    }
    if removed {
        let mut validator = Validator::new_with_features(WasmFeatures::all());
        validator
            .validate_all(&out)
            .map_err(|e| StripError::Invalid {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
    }
    Ok((out, removed))
}

/// The export section `body` (at `offset` in the file) without the
/// instance export `name`, or `None` when it has none.
fn without_export(body: &[u8], offset: usize, name: &str) -> Result<Option<Vec<u8>>, StripError> {
    let reader = ComponentExportSectionReader::new(BinaryReader::new(body, offset as u64))
        .map_err(|e| StripError::Exports(e.to_string()))?;
    let count = reader.count();
    let mut starts = Vec::new();
    let mut drop_index = None;
    for (i, item) in reader.into_iter_with_offsets().enumerate() {
        let (at, export) = item.map_err(|e| StripError::Exports(e.to_string()))?;
        let start = usize::try_from(at).expect("an offset within the file") - offset;
        if export.name.name == name && export.kind == ComponentExternalKind::Instance {
            drop_index = Some(i);
        }
        starts.push(start);
    }
    let Some(drop_index) = drop_index else {
        return Ok(None);
    };
    let mut new_body = Vec::with_capacity(body.len());
    write_leb_u32(count - 1, &mut new_body);
    for (i, start) in starts.iter().enumerate() {
        if i == drop_index {
            continue;
        }
        let end = starts.get(i + 1).copied().unwrap_or(body.len());
        new_body.extend_from_slice(&body[*start..end]);
    }
    Ok(Some(new_body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(text: &str) -> Vec<u8> {
        let buffer = wast::parser::ParseBuffer::new(text).unwrap();
        let mut wat = wast::parser::parse::<wast::Wat>(&buffer).unwrap();
        wat.encode().unwrap()
    }

    const WITH_EXTRA: &str = r#"(component
        (core module $m (func (export "f") (result i32) i32.const 7))
        (core instance $i (instantiate $m))
        (func $f (result u32) (canon lift (core func $i "f")))
        (instance $extra (export "f" (func $f)))
        (export "run" (func $f))
        (export "exports" (instance $extra))
    )"#;

    fn export_names(bytes: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            if let wasmparser::Payload::ComponentExportSection(r) = payload.unwrap() {
                for e in r {
                    names.push(e.unwrap().name.name.to_owned());
                }
            }
        }
        names
    }

    #[test]
    fn removes_the_instance_export_and_keeps_the_rest() {
        let bytes = component(WITH_EXTRA);
        assert_eq!(export_names(&bytes), ["run", "exports"]);
        let (stripped, removed) = remove_instance_export(&bytes, "exports").unwrap();
        assert!(removed);
        assert_eq!(export_names(&stripped), ["run"]);
        assert!(stripped.len() < bytes.len());
        Validator::new_with_features(WasmFeatures::all())
            .validate_all(&stripped)
            .unwrap();
    }

    #[test]
    fn leaves_a_component_without_it_unchanged() {
        let bytes = component(&WITH_EXTRA.replace("(export \"exports\" (instance $extra))", ""));
        let (same, removed) = remove_instance_export(&bytes, "exports").unwrap();
        assert!(!removed);
        assert_eq!(same, bytes);
        // A function export of that name is not an instance: kept.
        let (_, removed) = remove_instance_export(&component(WITH_EXTRA), "run").unwrap();
        assert!(!removed);
    }

    #[test]
    fn refuses_truncated_bytes() {
        let bytes = component(WITH_EXTRA);
        assert!(matches!(
            remove_instance_export(&bytes[..bytes.len() - 3], "exports"),
            Err(StripError::Malformed(_))
        ));
    }
}
