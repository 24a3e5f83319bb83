//! Building components, as `spin build` does: each component's
//! `[component.<id>.build] command` runs with `sh -c` in the manifest
//! directory (or the component's `workdir`).
//!
//! [`stale_components`] decides what `llmos up` rebuilds before starting:
//! components whose `source` is missing or older than a file matched by their
//! `watch` globs.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::manifest::{ComponentDecl, Manifest};

/// Runs the build commands of `ids` (all buildable components when `None`).
/// Components without a build section are skipped. Stops at the first
/// failing command.
pub fn build(manifest: &Manifest, ids: Option<&[String]>) -> anyhow::Result<()> {
    let selected: Vec<&ComponentDecl> = manifest
        .components
        .values()
        .filter(|c| ids.is_none_or(|ids| ids.contains(&c.id)))
        .collect();
    if let Some(ids) = ids
        && let Some(unknown) = ids.iter().find(|id| !manifest.components.contains_key(*id))
    {
        anyhow::bail!(
            "no component named {unknown:?} in {}",
            manifest.path.display()
        );
    }
    let buildable: Vec<&ComponentDecl> = selected
        .iter()
        .copied()
        .filter(|c| c.build.is_some())
        .collect();
    for skipped in selected.iter().filter(|c| c.build.is_none()) {
        println!("{}: no build command, skipping", skipped.id);
    }
    if buildable.is_empty() {
        println!("Nothing to build");
        return Ok(());
    }

    let bar = ProgressBar::new(buildable.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .context("while setting up the progress bar")?
            .progress_chars("=> "),
    );
    for component in buildable {
        let Some(build) = &component.build else {
            continue;
        };
        bar.set_message(format!("building {}", component.id));
        for command in &build.commands {
            bar.suspend(|| {
                println!(
                    "Building component {} with `{command}` (in {})",
                    component.id,
                    build.workdir.display()
                );
            });
            let status = bar.suspend(|| {
                Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .current_dir(&build.workdir)
                    .status()
            });
            let status = status.with_context(|| {
                format!(
                    "while running the build command of component {:?}",
                    component.id
                )
            })?;
            if !status.success() {
                bar.abandon_with_message(format!("{} failed", component.id));
                anyhow::bail!(
                    "build command for component {:?} failed ({status}): {command}",
                    component.id
                );
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("Finished building all components");
    Ok(())
}

/// Components that need building before `llmos up`: source missing, or older
/// than a watched input.
pub fn stale_components(manifest: &Manifest) -> Vec<String> {
    manifest
        .components
        .values()
        .filter(|c| c.build.is_some() && is_stale(c))
        .map(|c| c.id.clone())
        .collect()
}

fn is_stale(component: &ComponentDecl) -> bool {
    let Some(built) = modified(&component.source) else {
        return true;
    };
    let Some(build) = &component.build else {
        return false;
    };
    build.watch.iter().any(|pattern| {
        let full = build.workdir.join(pattern);
        glob::glob(&full.to_string_lossy())
            .map(|paths| {
                paths
                    .flatten()
                    .filter_map(|p| modified(&p))
                    .any(|input| input > built)
            })
            .unwrap_or(false)
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path) -> Manifest {
        let text = r#"
spin_manifest_version = 2
[application]
name = "t"
[component.a]
source = "a.wasm"
[component.a.build]
command = "echo built > a.wasm"
watch = ["src/*.rs"]
[component.b]
source = "b.wasm"
"#;
        Manifest::parse(&dir.join("spin.toml"), text.to_owned()).expect("manifest")
    }

    #[test]
    fn missing_and_outdated_sources_are_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = manifest(dir.path());
        assert_eq!(stale_components(&m), ["a"]);

        build(&m, None).expect("build");
        assert!(dir.path().join("a.wasm").is_file());
        assert!(stale_components(&m).is_empty());

        std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
        let input = dir.path().join("src/lib.rs");
        std::fs::write(&input, "fn x() {}").expect("write");
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&input)
            .and_then(|f| f.set_modified(later))
            .expect("touch");
        assert_eq!(stale_components(&m), ["a"]);
    }

    #[test]
    fn failing_commands_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = r#"
spin_manifest_version = 2
[application]
name = "t"
[component.a]
source = "a.wasm"
[component.a.build]
command = "exit 3"
"#;
        let m = Manifest::parse(&dir.path().join("spin.toml"), text.to_owned()).expect("manifest");
        let err = build(&m, None).expect_err("fails");
        assert!(err.to_string().contains("\"a\""), "{err}");
    }
}
