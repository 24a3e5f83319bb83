//! Paths of files inside a volume.
//!
//! A [`VolumePath`] is relative, `/`-separated and validated once, so every
//! tree the store writes passes `git fsck --strict` and every exported
//! repository checks out safely on Linux, macOS and Windows.

use std::fmt;
use std::str::FromStr;

/// Longest path accepted, in bytes (git itself has no limit; file systems do).
pub const MAX_PATH_LEN: usize = 4096;

/// Longest single path segment, in bytes (`NAME_MAX` on common file systems).
pub const MAX_SEGMENT_LEN: usize = 255;

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty")]
    Empty,
    #[error("path `{path}` is longer than {max} bytes", max = MAX_PATH_LEN)]
    TooLong { path: String },
    #[error("path `{path}` is absolute; volume paths are relative")]
    Absolute { path: String },
    #[error("path `{path}` has an empty segment (a leading, trailing or doubled `/`)")]
    EmptySegment { path: String },
    #[error("path `{path}` contains the segment `{segment}`, which navigates the tree")]
    Traversal { path: String, segment: String },
    #[error("path `{path}` contains the reserved segment `{segment}` (git's own metadata)")]
    Reserved { path: String, segment: String },
    #[error("path `{path}` has a segment longer than {max} bytes", max = MAX_SEGMENT_LEN)]
    SegmentTooLong { path: String },
    #[error("path `{path}` contains the character {ch:?} at byte {pos}")]
    BadChar { path: String, ch: char, pos: usize },
}

/// A validated, relative path of a file or directory inside a volume, e.g.
/// `skills/python-coding.md`.
///
/// Rules: non-empty; at most [`MAX_PATH_LEN`] bytes; not absolute; segments
/// separated by a single `/`, each non-empty, at most [`MAX_SEGMENT_LEN`]
/// bytes, not `.` or `..`; no control characters, no `\` and no characters
/// that file systems ignore; and no segment that git treats as its own
/// metadata (anything starting with `.git` in any case, or the 8.3 short name
/// `git~N`), because `git fsck` rejects such trees.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VolumePath(String);

impl VolumePath {
    /// Validates `path` and wraps it.
    pub fn new(path: &str) -> Result<Self, PathError> {
        validate(path)?;
        Ok(Self(path.to_owned()))
    }

    /// The path as text, e.g. `skills/a.md`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated segments, each non-empty.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment: the file or directory name.
    pub fn file_name(&self) -> &str {
        self.0
            .rsplit('/')
            .next()
            .expect("split yields at least one item")
    }

    /// The directory containing this path, or `None` at the top level.
    pub fn parent(&self) -> Option<VolumePath> {
        self.0
            .rsplit_once('/')
            .map(|(dir, _)| VolumePath(dir.to_owned()))
    }

    /// This path with `child` appended; `child` is validated as a path too.
    pub fn join(&self, child: &str) -> Result<VolumePath, PathError> {
        VolumePath::new(&format!("{}/{child}", self.0))
    }

    /// True when `self` equals `dir` or lies below it.
    pub fn starts_with(&self, dir: &VolumePath) -> bool {
        self.0 == dir.0
            || (self.0.len() > dir.0.len()
                && self.0.starts_with(&dir.0)
                && self.0.as_bytes()[dir.0.len()] == b'/')
    }
}

impl fmt::Display for VolumePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for VolumePath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VolumePath::new(s)
    }
}

impl AsRef<str> for VolumePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Characters HFS+ ignores when comparing names, so `.g\u{200c}it` would be
/// `.git` there; `git fsck` applies the same rule and so do we.
fn is_ignorable(ch: char) -> bool {
    matches!(
        ch,
        '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}'
    )
}

fn validate(path: &str) -> Result<(), PathError> {
    let owned = || path.escape_default().to_string();
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong {
            path: path.chars().take(64).collect::<String>() + "…",
        });
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute { path: owned() });
    }
    for (pos, ch) in path.char_indices() {
        if ch.is_control() || ch == '\\' || is_ignorable(ch) {
            return Err(PathError::BadChar {
                path: owned(),
                ch,
                pos,
            });
        }
    }
    for segment in path.split('/') {
        if segment.is_empty() {
            return Err(PathError::EmptySegment { path: owned() });
        }
        if segment == "." || segment == ".." {
            return Err(PathError::Traversal {
                path: owned(),
                segment: segment.to_owned(),
            });
        }
        if segment.len() > MAX_SEGMENT_LEN {
            return Err(PathError::SegmentTooLong { path: owned() });
        }
        let lower = segment.to_ascii_lowercase();
        if lower.starts_with(".git") || lower.starts_with("git~") {
            return Err(PathError::Reserved {
                path: owned(),
                segment: segment.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in [
            "a",
            "skills/python-coding.md",
            "a/b/c/d.txt",
            ".hidden",
            "..a",
            "a..b",
            "git/x",
            "a.git",
            "résumé.md",
            "with space.md",
        ] {
            assert_eq!(VolumePath::new(p).unwrap().as_str(), p);
        }
    }

    #[test]
    fn path_validation_rejects_traversal() {
        for p in ["..", "../etc/passwd", "a/../b", "a/..", "./a", "a/./b", "."] {
            assert!(
                matches!(VolumePath::new(p), Err(PathError::Traversal { .. })),
                "{p}"
            );
        }
    }

    #[test]
    fn rejects_absolute_and_empty_segments() {
        assert_eq!(VolumePath::new(""), Err(PathError::Empty));
        assert!(matches!(
            VolumePath::new("/etc/passwd"),
            Err(PathError::Absolute { .. })
        ));
        for p in ["a//b", "a/", "a/b/"] {
            assert!(
                matches!(VolumePath::new(p), Err(PathError::EmptySegment { .. })),
                "{p}"
            );
        }
    }

    #[test]
    fn rejects_git_metadata_names() {
        for p in [
            ".git",
            ".git/config",
            "a/.GIT/hooks",
            "a/.Git",
            ".gitmodules",
            "GIT~1/config",
            "a/.git. ",
        ] {
            assert!(
                matches!(VolumePath::new(p), Err(PathError::Reserved { .. })),
                "{p}"
            );
        }
    }

    #[test]
    fn rejects_control_and_ignorable_characters() {
        for p in [
            "a\nb",
            "a\0",
            "tab\there",
            "a\\b",
            "del\u{7f}",
            ".g\u{200c}it",
        ] {
            assert!(
                matches!(VolumePath::new(p), Err(PathError::BadChar { .. })),
                "{p:?}"
            );
        }
    }

    #[test]
    fn rejects_overlong_paths() {
        let seg = "a".repeat(MAX_SEGMENT_LEN + 1);
        assert!(matches!(
            VolumePath::new(&seg),
            Err(PathError::SegmentTooLong { .. })
        ));
        let long = vec!["abcdefg"; MAX_PATH_LEN / 8 + 1].join("/");
        assert!(matches!(
            VolumePath::new(&long),
            Err(PathError::TooLong { .. })
        ));
    }

    #[test]
    fn navigates_segments() {
        let p = VolumePath::new("skills/sub/a.md").unwrap();
        assert_eq!(p.segments().collect::<Vec<_>>(), ["skills", "sub", "a.md"]);
        assert_eq!(p.file_name(), "a.md");
        assert_eq!(p.parent().unwrap().as_str(), "skills/sub");
        assert_eq!(VolumePath::new("a").unwrap().parent(), None);
        let dir = VolumePath::new("skills").unwrap();
        assert!(p.starts_with(&dir));
        assert!(!VolumePath::new("skillsx/a").unwrap().starts_with(&dir));
        assert_eq!(dir.join("b.md").unwrap().as_str(), "skills/b.md");
        assert!(dir.join("../x").is_err());
    }
}
