//! The `files` mounts of a component, made read-only for the guest.
//!
//! As `spin up` does by default, the matched files are gathered into a fresh
//! per-component directory that the guest sees as `/`:
//! - a string entry is a path or glob relative to the manifest directory;
//!   each matched file keeps its relative path (`static/**/*` →
//!   `/static/...`), a directory entry brings its whole tree;
//! - a `{ source, destination }` entry places a file or directory tree at the
//!   absolute guest path `destination`;
//! - `exclude_files` globs, matched against manifest-relative paths, drop
//!   files from either kind of entry.
//!
//! Files are hard-linked into the staging directory when the file system
//! allows (no copy, no extra space) and copied otherwise. The staging
//! directory is removed when the app stops.

use std::path::{Component, Path, PathBuf};

use crate::manifest::FilesMount;

/// Why a mount cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// An entry names neither an existing path nor a glob.
    #[error(
        "component {component:?}: files entry {entry:?} does not exist and is not a glob pattern"
    )]
    Missing {
        /// The component.
        component: String,
        /// The entry.
        entry: String,
    },
    /// An entry escapes the application directory.
    #[error("component {component:?}: {path} is outside the application directory")]
    Outside {
        /// The component.
        component: String,
        /// The path.
        path: String,
    },
    /// A glob could not be evaluated.
    #[error("component {component:?}: bad pattern {pattern:?}: {reason}")]
    Pattern {
        /// The component.
        component: String,
        /// The pattern.
        pattern: String,
        /// The error.
        reason: String,
    },
    /// Reading or staging a file failed.
    #[error("component {component:?}: cannot stage {path}: {source}")]
    Io {
        /// The component.
        component: String,
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Gathers the files of one component into `stage` (which must exist and be
/// empty). Returns whether any file was staged.
pub fn stage_component_files(
    component: &str,
    app_dir: &Path,
    mounts: &[FilesMount],
    exclude: &[String],
    stage: &Path,
) -> Result<bool, FilesError> {
    let excludes = exclude
        .iter()
        .map(|p| {
            glob::Pattern::new(p).map_err(|e| FilesError::Pattern {
                component: component.to_owned(),
                pattern: p.clone(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut stager = Stager {
        component,
        app_dir,
        stage,
        excludes,
        staged: 0,
    };
    for mount in mounts {
        match mount {
            FilesMount::Pattern(pattern) => stager.pattern(pattern)?,
            FilesMount::Placement {
                source,
                destination,
            } => stager.placement(source, destination)?,
        }
    }
    Ok(stager.staged > 0)
}

struct Stager<'a> {
    component: &'a str,
    app_dir: &'a Path,
    stage: &'a Path,
    excludes: Vec<glob::Pattern>,
    staged: usize,
}

impl Stager<'_> {
    fn pattern(&mut self, pattern: &str) -> Result<(), FilesError> {
        let path = self.app_dir.join(pattern);
        if path.is_dir() {
            let relative = self.relative_to_app(&path)?;
            return self.tree(&path, &self.stage.join(relative));
        }
        if path.is_file() {
            let relative = self.relative_to_app(&path)?;
            return self.file(&path, &self.stage.join(relative));
        }
        if !pattern.contains(['*', '?', '[']) {
            return Err(FilesError::Missing {
                component: self.component.to_owned(),
                entry: pattern.to_owned(),
            });
        }
        for matched in self.glob(&path)? {
            if matched.is_file() {
                let relative = self.relative_to_app(&matched)?;
                self.file(&matched, &self.stage.join(relative))?;
            }
        }
        Ok(())
    }

    fn placement(&mut self, source: &str, destination: &str) -> Result<(), FilesError> {
        let path = self.app_dir.join(source);
        self.relative_to_app(&path)?;
        let target = self.stage.join(destination.trim_start_matches('/'));
        if path.is_dir() {
            self.tree(&path, &target)
        } else if path.is_file() {
            self.file(&path, &target)
        } else {
            Err(FilesError::Missing {
                component: self.component.to_owned(),
                entry: source.to_owned(),
            })
        }
    }

    /// Every file under `dir`, placed under `target` by its path below `dir`.
    fn tree(&mut self, dir: &Path, target: &Path) -> Result<(), FilesError> {
        std::fs::create_dir_all(target).map_err(|e| self.io(target, e))?;
        for matched in self.glob(&dir.join("**/*"))? {
            if matched.is_file() {
                let below = matched.strip_prefix(dir).unwrap_or(&matched).to_owned();
                self.file(&matched, &target.join(below))?;
            }
        }
        Ok(())
    }

    fn file(&mut self, source: &Path, target: &Path) -> Result<(), FilesError> {
        let relative = self.relative_to_app(source)?;
        if self.excludes.iter().any(|p| p.matches_path(&relative)) {
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| self.io(parent, e))?;
        }
        if target.exists() {
            std::fs::remove_file(target).map_err(|e| self.io(target, e))?;
        }
        if std::fs::hard_link(source, target).is_err() {
            std::fs::copy(source, target).map_err(|e| self.io(source, e))?;
        }
        self.staged += 1;
        Ok(())
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, FilesError> {
        let text = pattern.to_string_lossy();
        let paths = glob::glob(&text).map_err(|e| FilesError::Pattern {
            component: self.component.to_owned(),
            pattern: text.clone().into_owned(),
            reason: e.to_string(),
        })?;
        paths
            .map(|p| {
                p.map_err(|e| FilesError::Pattern {
                    component: self.component.to_owned(),
                    pattern: text.clone().into_owned(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    fn relative_to_app(&self, path: &Path) -> Result<PathBuf, FilesError> {
        let normal = normalise(path);
        normal
            .strip_prefix(normalise(self.app_dir))
            .map(Path::to_owned)
            .map_err(|_| FilesError::Outside {
                component: self.component.to_owned(),
                path: path.display().to_string(),
            })
    }

    fn io(&self, path: &Path, source: std::io::Error) -> FilesError {
        FilesError::Io {
            component: self.component.to_owned(),
            path: path.display().to_string(),
            source,
        }
    }
}

/// Resolves `.` and `..` lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn stages_patterns_placements_and_exclusions() {
        let app = tempfile::tempdir().expect("app");
        let stage = tempfile::tempdir().expect("stage");
        write(app.path(), "static/a.txt", "a");
        write(app.path(), "static/sub/b.txt", "b");
        write(app.path(), "static/skip.bak", "x");
        write(app.path(), "dist/index.html", "<html>");
        write(app.path(), "notes.md", "n");
        let mounts = vec![
            FilesMount::Pattern("static/**/*".to_owned()),
            FilesMount::Pattern("notes.md".to_owned()),
            FilesMount::Placement {
                source: "dist".to_owned(),
                destination: "/web".to_owned(),
            },
        ];
        let staged = stage_component_files(
            "c",
            app.path(),
            &mounts,
            &["**/*.bak".to_owned()],
            stage.path(),
        )
        .expect("stage");
        assert!(staged);
        let s = stage.path();
        assert_eq!(
            std::fs::read_to_string(s.join("static/a.txt")).expect("a"),
            "a"
        );
        assert!(s.join("static/sub/b.txt").is_file());
        assert!(!s.join("static/skip.bak").exists());
        assert!(s.join("notes.md").is_file());
        assert!(s.join("web/index.html").is_file());
        assert!(!s.join("dist").exists());
    }

    #[test]
    fn missing_entries_and_escapes_are_errors() {
        let app = tempfile::tempdir().expect("app");
        let stage = tempfile::tempdir().expect("stage");
        let missing = stage_component_files(
            "c",
            app.path(),
            &[FilesMount::Pattern("nope.txt".to_owned())],
            &[],
            stage.path(),
        );
        assert!(matches!(missing, Err(FilesError::Missing { .. })));
        let outside = stage_component_files(
            "c",
            app.path(),
            &[FilesMount::Placement {
                source: "../..".to_owned(),
                destination: "/x".to_owned(),
            }],
            &[],
            stage.path(),
        );
        assert!(matches!(outside, Err(FilesError::Outside { .. })));
    }
}
