//! Manifest errors and their source locations.
//!
//! Every error that comes from the text of `spin.toml` names the file, the
//! 1-based line and column, and the dotted path of the offending field
//! (`component.web.files[0]`), so a user can jump straight to it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One step of a field path inside the manifest document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldSegment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A dotted field path such as `trigger.http[2].component`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<FieldSegment>);

impl FieldPath {
    /// Builds a path from table keys.
    pub fn keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FieldPath(
            keys.into_iter()
                .map(|k| FieldSegment::Key(k.into()))
                .collect(),
        )
    }

    /// This path extended by a table key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(FieldSegment::Key(key.into()));
        FieldPath(segments)
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(FieldSegment::Index(index));
        FieldPath(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.0 {
            match segment {
                FieldSegment::Key(key) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                FieldSegment::Index(index) => write!(f, "[{index}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// An error loading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("cannot read manifest {}: {source}", path.display())]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest text is not valid.
    #[error("{}", Located { path, line: *line, column: *column, field, message })]
    Invalid {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// Dotted path of the offending field; empty for syntax errors.
        field: String,
        /// What is wrong.
        message: String,
    },
}

struct Located<'a> {
    path: &'a Path,
    line: usize,
    column: usize,
    field: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(self.message)
    }
}

/// Locates fields of one manifest text for error messages.
pub struct SourceMap<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> SourceMap<'a> {
    /// A source map over `text`, read from `path`.
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        SourceMap { path, text }
    }

    /// An error at a byte range of the text.
    pub fn error_at_span(
        &self,
        span: Option<Range<usize>>,
        field: &FieldPath,
        message: impl Into<String>,
    ) -> ManifestError {
        let (line, column) = span
            .map(|s| line_column(self.text, s.start))
            .unwrap_or((1, 1));
        ManifestError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// An error at the value of `field`, or at its closest existing parent.
    pub fn error_at(&self, field: &FieldPath, message: impl Into<String>) -> ManifestError {
        self.error_at_span(self.span_of(field), field, message)
    }

    /// The byte range of the value at `field`, or of its closest existing
    /// parent when the field itself is absent.
    pub fn span_of(&self, field: &FieldPath) -> Option<Range<usize>> {
        let root = toml::de::DeTable::parse(self.text).ok()?;
        let mut best = Some(root.span());
        let mut current: Option<&toml::de::DeValue<'_>> = None;
        let mut table = Some(root.get_ref());
        for segment in &field.0 {
            let next = match (segment, table, current) {
                (FieldSegment::Key(key), Some(t), _) => t.get(key.as_str()),
                (FieldSegment::Index(i), None, Some(value)) => {
                    value.as_array().and_then(|a| a.get(*i))
                }
                _ => None,
            };
            let Some(next) = next else { break };
            best = Some(next.span());
            current = Some(next.get_ref());
            table = next.get_ref().as_table();
        }
        best
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_display_dotted_with_indices() {
        let path = FieldPath::keys(["trigger", "http"]).index(2).key("route");
        assert_eq!(path.to_string(), "trigger.http[2].route");
    }

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 4));
    }

    #[test]
    fn spans_reach_nested_fields_and_fall_back_to_parents() {
        let text = "[component.web]\nsource = \"x.wasm\"\nfiles = [\"a\", \"b\"]\n";
        let map = SourceMap::new(Path::new("spin.toml"), text);
        let span = map
            .span_of(&FieldPath::keys(["component", "web", "files"]).index(1))
            .expect("span");
        assert_eq!(line_column(text, span.start), (3, 15));
        let missing = map
            .span_of(&FieldPath::keys(["component", "web", "build"]))
            .expect("parent span");
        assert_eq!(line_column(text, missing.start).0, 1);
    }
}
