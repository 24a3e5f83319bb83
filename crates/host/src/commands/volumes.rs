//! `llmos volumes export|import|fsck`: the git volumes of an app's data
//! directory, read and written natively on the same SQLite file the
//! components use (`<data-dir>/sqlite_db.db`; WAL, so a running host may
//! keep serving meanwhile).
//!
//! - `export DIR` writes each volume as an ordinary bare git repository
//!   (`DIR/system.git`, `DIR/teams/<id>.git`, `DIR/users/<id>.git`) with the
//!   store's object ids, so `git log`, `git fsck` and `git clone` work on it.
//! - `import DIR` loads a git repository (everything reachable from its
//!   `HEAD`, into an empty volume) or a folder of skill files (`*.md` and
//!   Agent Skills directories with a `SKILL.md`, committed on top of the
//!   volume's head after every file passed validation).
//! - `fsck` re-hashes every object and walks every volume's commit graph.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill;
use llmos_host::app;
use llmos_host::runtime_config::DEFAULT_SQLITE_FILE;
use llmos_store::export::{self, BARE_REPOSITORY_DIRS};
use llmos_store::object::parse_id;
use llmos_store::{
    CommitRequest, GitTime, ObjectKind, RefName, RusqliteExecutor, Signature, SqlStore, VolumePath,
    Volumes, fsck,
};

use super::AppArgs;

/// Arguments of `llmos volumes`.
#[derive(Debug, Args)]
pub struct VolumesArgs {
    #[command(subcommand)]
    action: VolumesAction,
}

#[derive(Debug, Subcommand)]
enum VolumesAction {
    /// Write every volume (or the given ones) as a bare git repository under DIR.
    Export(ExportArgs),
    /// Load a git repository or a folder of skill files into a volume.
    Import(ImportArgs),
    /// Verify every object's id and every volume's commit graph.
    Fsck(FsckArgs),
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Where to write the repositories.
    dir: PathBuf,
    /// Export only this volume (`system`, `teams/<id>`, `users/<id>`; repeatable).
    #[arg(long = "volume")]
    volumes: Vec<String>,
}

#[derive(Debug, Args)]
struct ImportArgs {
    #[command(flatten)]
    app: AppArgs,
    /// A git repository, or a folder of skill files.
    dir: PathBuf,
    /// The volume to import into.
    #[arg(long, default_value = "system")]
    volume: String,
    /// Commit message for a folder import.
    #[arg(long, short = 'm')]
    message: Option<String>,
}

#[derive(Debug, Args)]
struct FsckArgs {
    #[command(flatten)]
    app: AppArgs,
}

/// Runs `llmos volumes …`.
pub fn run(args: VolumesArgs) -> anyhow::Result<()> {
    match args.action {
        VolumesAction::Export(args) => export_volumes(args),
        VolumesAction::Import(args) => import(args),
        VolumesAction::Fsck(args) => check(args),
    }
}

pub(super) type Store = Volumes<SqlStore<RusqliteExecutor>>;

/// Opens the app's default database (creating the schema if the app has
/// never run).
pub(super) fn open(app_args: &AppArgs) -> anyhow::Result<Store> {
    let manifest = app_args.manifest()?;
    let data_dir = app::data_dir_for(&manifest, app_args.data_dir.as_deref());
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("while creating the data directory {}", data_dir.display()))?;
    let path = data_dir.join(DEFAULT_SQLITE_FILE);
    let db = RusqliteExecutor::open(&path)
        .with_context(|| format!("while opening {}", path.display()))?;
    let store =
        SqlStore::open(db).with_context(|| format!("while preparing {}", path.display()))?;
    Ok(Volumes::new(store))
}

pub(super) fn parse_volume(text: &str) -> anyhow::Result<VolumeId> {
    text.parse().with_context(|| format!("--volume `{text}`"))
}

/// The volumes named by `--volume` options, or every volume when none is.
pub(super) fn selected_volumes(volumes: &Store, named: &[String]) -> anyhow::Result<Vec<VolumeId>> {
    if named.is_empty() {
        Ok(volumes.list_volumes()?)
    } else {
        named.iter().map(|v| parse_volume(v)).collect()
    }
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn export_volumes(args: ExportArgs) -> anyhow::Result<()> {
    let volumes = open(&args.app)?;
    let selected = selected_volumes(&volumes, &args.volumes)?;
    if selected.is_empty() {
        println!("no volumes to export");
        return Ok(());
    }
    let bar = progress(selected.len() as u64, "exporting");
    for volume in &selected {
        let repo = args.dir.join(format!("{volume}.git"));
        if repo.exists() {
            bail!(
                "{} already exists; export into an empty directory",
                repo.display()
            );
        }
        for dir in BARE_REPOSITORY_DIRS {
            std::fs::create_dir_all(repo.join(dir))
                .with_context(|| format!("while creating {}", repo.join(dir).display()))?;
        }
        let mut files = 0;
        for file in export::bare_repository(volumes.store(), volume)
            .with_context(|| format!("while exporting {volume}"))?
        {
            let file = file.with_context(|| format!("while exporting {volume}"))?;
            let path = repo.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("while creating {}", parent.display()))?;
            }
            std::fs::write(&path, &file.bytes)
                .with_context(|| format!("while writing {}", path.display()))?;
            files += 1;
        }
        bar.println(format!("{volume}: {} ({files} files)", repo.display()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "exported {} volume(s) to {}",
        selected.len(),
        args.dir.display()
    );
    Ok(())
}

fn check(args: FsckArgs) -> anyhow::Result<()> {
    let volumes = open(&args.app)?;
    let report = fsck(volumes.store()).context("while checking the store")?;
    println!(
        "{} objects checked, {} volumes, {} refs, {} reachable objects",
        report.objects_scanned, report.volumes, report.refs, report.reachable
    );
    if report.is_ok() {
        println!("fsck: ok");
        return Ok(());
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    bail!("fsck found {} problem(s)", report.problems.len())
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let volume = parse_volume(&args.volume)?;
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    let volumes = open(&args.app)?;
    if is_git_repository(&args.dir) {
        import_repository(&volumes, &volume, &args.dir)
    } else {
        import_skill_folder(&volumes, &volume, &args.dir, args.message)
    }
}

fn is_git_repository(dir: &Path) -> bool {
    dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir())
}

/// `git` in `dir`, failing with its stderr.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("while running git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// Imports every object reachable from the repository's `HEAD` and points
/// the (empty) volume at that commit.
fn import_repository(volumes: &Store, volume: &VolumeId, dir: &Path) -> anyhow::Result<()> {
    if let Some(head) = volumes.head(volume)? {
        bail!(
            "{volume} already has history (head {head}); import a repository into an empty volume"
        );
    }
    let head = String::from_utf8(git(dir, &["rev-parse", "--verify", "HEAD^{commit}"])?)
        .context("git rev-parse printed non-UTF-8")?;
    let head = parse_id(head.trim()).context("while reading the repository's HEAD")?;
    let listing = String::from_utf8(git(dir, &["rev-list", "--objects", "HEAD"])?)
        .context("git rev-list printed non-UTF-8")?;
    let ids: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    let bar = progress(ids.len() as u64, "reading objects");
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("while running git cat-file")?;
    let mut stdin = child.stdin.take().context("git cat-file has no stdin")?;
    let request: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut out = BufReader::new(child.stdout.take().context("git cat-file has no stdout")?);
    let mut objects = Vec::with_capacity(ids.len());
    for id in &ids {
        let mut header = String::new();
        out.read_line(&mut header)?;
        let mut fields = header.split_whitespace();
        let (Some(got), Some(kind), Some(size)) = (fields.next(), fields.next(), fields.next())
        else {
            bail!("git cat-file answered `{}` for {id}", header.trim());
        };
        if got != *id {
            bail!("git cat-file answered for {got} instead of {id}");
        }
        let kind = match kind {
            "blob" => ObjectKind::Blob,
            "tree" => ObjectKind::Tree,
            "commit" => ObjectKind::Commit,
            "tag" => ObjectKind::Tag,
            other => bail!("object {id} has unknown type `{other}`"),
        };
        let size: usize = size.parse().with_context(|| format!("size of {id}"))?;
        let mut data = vec![0; size];
        out.read_exact(&mut data)?;
        let mut newline = [0u8; 1];
        out.read_exact(&mut newline)?;
        objects.push((kind, data));
        bar.inc(1);
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the git cat-file writer panicked"))??;
    child.wait()?;
    bar.finish_and_clear();
    let written = volumes.import_objects(volume, objects)?;
    for (id, expected) in written.iter().zip(&ids) {
        if parse_id(expected).ok() != Some(*id) {
            bail!("object {expected} re-hashed to {id}: the repository is corrupt");
        }
    }
    let now = now_secs();
    if !volumes.set_ref(
        volume,
        &RefName::main(),
        None,
        head,
        now,
        &format!("import {}", dir.display()),
    )? {
        bail!("{volume} gained history while importing; nothing was changed");
    }
    println!(
        "imported {} objects into {volume} (head {head})",
        written.len()
    );
    Ok(())
}

/// The files of a skill folder, keyed by their path in the volume, after
/// every skill file in it passed validation.
fn collect_skill_files(dir: &Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("while reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: the name is not UTF-8", path.display()))?;
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            let skill_md = path.join(skill::AGENT_SKILL_FILE_NAME);
            if !skill_md.is_file() {
                continue;
            }
            // An Agent Skills directory: the SKILL.md and everything beside it.
            let hint = format!("{name}/{}", skill::AGENT_SKILL_FILE_NAME);
            let text = std::fs::read(&skill_md)
                .with_context(|| format!("while reading {}", skill_md.display()))?;
            let parsed = skill::parse_bytes(Some(&hint), &text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", skill_md.display()))?;
            let id = parsed.id().as_str().to_owned();
            add_tree(&path, &format!("skills/{id}"), &mut files)?;
        } else if name.ends_with(".md") {
            let text = std::fs::read(&path)
                .with_context(|| format!("while reading {}", path.display()))?;
            let parsed = skill::parse_bytes(Some(name), &text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let id: &SkillId = parsed.id();
            files.insert(format!("skills/{id}.md"), text);
        }
    }
    if files.is_empty() {
        bail!(
            "{} holds no skill files (*.md or directories with a {})",
            dir.display(),
            skill::AGENT_SKILL_FILE_NAME
        );
    }
    Ok(files)
}

fn add_tree(dir: &Path, prefix: &str, files: &mut BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("while reading {}", dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: the name is not UTF-8", path.display()))?;
        if name.starts_with('.') {
            continue;
        }
        let key = format!("{prefix}/{name}");
        if path.is_dir() {
            add_tree(&path, &key, files)?;
        } else {
            files.insert(
                key,
                std::fs::read(&path)
                    .with_context(|| format!("while reading {}", path.display()))?,
            );
        }
    }
    Ok(())
}

fn import_skill_folder(
    volumes: &Store,
    volume: &VolumeId,
    dir: &Path,
    message: Option<String>,
) -> anyhow::Result<()> {
    let files = collect_skill_files(dir)?;
    let count = files.len();
    let author = Signature::new("LLMos-Lite", "system@llmos.local", GitTime::utc(now_secs()));
    let message = message.unwrap_or_else(|| format!("Import skills from {}", dir.display()));
    let mut request = CommitRequest::new(author, message);
    for (path, bytes) in files {
        let path = VolumePath::new(&path).with_context(|| format!("path `{path}`"))?;
        request = request.put(path, bytes);
    }
    let outcome = volumes
        .commit(volume, request)
        .with_context(|| format!("while committing to {volume}"))?;
    if outcome.created {
        println!(
            "imported {count} file(s) into {volume} (commit {})",
            outcome.commit
        );
    } else {
        println!("{volume} already holds these {count} file(s); nothing to commit");
    }
    Ok(())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
