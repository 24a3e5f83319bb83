//! `llmos skills build|builder`: compiled skills.
//!
//! - `build [SKILL…]` compiles skills of the data directory's volumes
//!   natively (on the same SQLite file the components use) and commits
//!   each component beside its skill file (`skills/<id>.wasm`), in the
//!   skill's own volume. Without names it builds every compiled skill
//!   whose component is missing or was built from another version of the
//!   file; `--force` rebuilds fresh ones too.
//! - `builder` serves the builder over HTTP, for the app's
//!   `POST /skills/{id}/build` under a real `spin up` (`llmos up` starts
//!   one of its own).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use llmos_core::ids::VolumeId;
use llmos_core::skill::component::{self, Freshness};
use llmos_core::skill::{self, Skill};
use llmos_host::skill_builder::{self, SkillBuilder};
use llmos_store::{At, CommitRequest, GitTime, Signature, VolumePath};

use super::AppArgs;
use super::volumes::{Store, open, selected_volumes};

/// Author of the commits `llmos skills build` makes.
const BUILDER_AUTHOR: (&str, &str) = ("LLMos-Lite builder", "builder@llmos.local");

/// Arguments of `llmos skills`.
#[derive(Debug, Args)]
pub struct SkillsArgs {
    #[command(subcommand)]
    action: SkillsAction,
}

#[derive(Debug, Subcommand)]
enum SkillsAction {
    /// Compile skills into components and commit them beside their files.
    Build(BuildArgs),
    /// Serve the skill builder over HTTP (for `POST /skills/{id}/build` under `spin up`).
    Builder(BuilderArgs),
}

#[derive(Debug, Args)]
struct BuildArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Skill ids to build [default: every compiled skill that needs it].
    skills: Vec<String>,
    /// Only this volume (`system`, `teams/<id>`, `users/<id>`; repeatable).
    #[arg(long = "volume")]
    volumes: Vec<String>,
    /// Rebuild components that are already up to date.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct BuilderArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3100")]
    listen: SocketAddr,
}

/// Runs `llmos skills …`.
pub fn run(args: SkillsArgs) -> anyhow::Result<()> {
    match args.action {
        SkillsAction::Build(args) => build(args),
        SkillsAction::Builder(args) => serve(args),
    }
}

/// A compiled skill file found in a volume.
struct Candidate {
    volume: VolumeId,
    path: VolumePath,
    skill: Skill,
    text: String,
    head: llmos_store::ObjectId,
}

/// What happened to one candidate.
enum Done {
    Built {
        sha256: String,
        size: usize,
        seconds: f64,
        language: String,
    },
    UpToDate,
    Failed(String),
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let manifest = args.app.manifest()?;
    let config = skill_builder::config_for(&manifest.dir);
    let volumes = open(&args.app)?;
    let selected = selected_volumes(&volumes, &args.volumes)?;
    let wanted: BTreeSet<&str> = args.skills.iter().map(String::as_str).collect();
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut candidates = Vec::new();
    for volume in &selected {
        for candidate in compiled_skills(&volumes, volume, &wanted, &mut found)? {
            candidates.push(candidate);
        }
    }
    if let Some(missing) = wanted.iter().find(|id| !found.contains(**id)) {
        bail!(
            "no skill `{missing}` in {}",
            if args.volumes.is_empty() {
                "any volume".to_owned()
            } else {
                args.volumes.join(", ")
            }
        );
    }
    if candidates.is_empty() {
        println!("no compiled skills to build");
        return Ok(());
    }
    let mut failed = 0;
    let mut built = 0;
    for c in &candidates {
        let label = format!("{} {}", c.volume, c.path);
        match build_one(&volumes, c, &config, args.force || !wanted.is_empty()) {
            Ok(Done::Built {
                sha256,
                size,
                seconds,
                language,
            }) => {
                built += 1;
                println!(
                    "{label}: built {language} component, {} in {seconds:.1} s (sha256 {})",
                    human_size(size),
                    &sha256[..12]
                );
            }
            Ok(Done::UpToDate) => println!("{label}: up to date"),
            Ok(Done::Failed(why)) | Err(why) => {
                failed += 1;
                println!("{why}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} build(s) failed", candidates.len());
    }
    println!("{built} component(s) built");
    Ok(())
}

/// The compiled skill files of `volume` (all, or those named in `wanted`).
fn compiled_skills(
    volumes: &Store,
    volume: &VolumeId,
    wanted: &BTreeSet<&str>,
    found: &mut BTreeSet<String>,
) -> anyhow::Result<Vec<Candidate>> {
    let Some(head) = volumes.head(volume)? else {
        return Ok(Vec::new());
    };
    let dir = VolumePath::new("skills").expect("a valid path");
    let mut out = Vec::new();
    for entry in volumes.list_files(volume, Some(&dir), At::Commit(head), true)? {
        let path = entry.path.to_string();
        let Some(stem) = path.strip_suffix(".md") else {
            continue;
        };
        let id = match stem.strip_prefix("skills/") {
            Some(rest) if !rest.contains('/') => rest,
            Some(rest) => match rest.strip_prefix("drafts/") {
                Some(id) if !id.contains('/') => id,
                _ => continue,
            },
            None => continue,
        };
        if !wanted.is_empty() && !wanted.contains(id) {
            continue;
        }
        let vpath = VolumePath::new(&path).with_context(|| format!("{volume} {path}"))?;
        let file = volumes.read_file(volume, &vpath, At::Commit(head))?;
        let text = String::from_utf8(file.data)
            .with_context(|| format!("{volume} {path} is not UTF-8"))?;
        let parsed = match skill::parse(Some(&path), &text) {
            Ok(s) => s,
            Err(err) if wanted.contains(id) => {
                found.insert(id.to_owned());
                bail!("{volume} {err}");
            }
            Err(_) => continue,
        };
        if wanted.contains(id) {
            found.insert(id.to_owned());
            if component::Language::of(&parsed).is_none() {
                bail!(
                    "{volume} {path}: skill `{id}` is not compiled (only `wasm-component` skills and \
                     Python or JavaScript skills with `compiled: true` build to components)"
                );
            }
        }
        if component::Language::of(&parsed).is_none() {
            continue;
        }
        out.push(Candidate {
            volume: volume.clone(),
            path: vpath,
            skill: parsed,
            text,
            head,
        });
    }
    Ok(out)
}

fn build_one(
    volumes: &Store,
    c: &Candidate,
    config: &llmos_skill_build::BuildConfig,
    force: bool,
) -> Result<Done, String> {
    let label = format!("{} {}", c.volume, c.path);
    let wasm_path = component::component_path(c.path.as_str())
        .and_then(|p| VolumePath::new(&p).ok())
        .ok_or_else(|| format!("{label}: has no component path"))?;
    if !force
        && let Ok(existing) = volumes.read_file(&c.volume, &wasm_path, At::Commit(c.head))
        && let Ok(info) = component::inspect(&existing.data)
        && component::freshness(&c.skill, &info) == Some(Freshness::Fresh)
    {
        return Ok(Done::UpToDate);
    }
    eprintln!("{label}: building…");
    let started = Instant::now();
    let built = match llmos_skill_build::build(&c.text, c.path.as_str(), config) {
        Ok(b) => b,
        Err(err) => {
            return Ok(Done::Failed(describe_failure(
                &c.volume,
                c.path.as_str(),
                &err,
            )));
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let sha = built.info.sha256.clone();
    let author = Signature::new(BUILDER_AUTHOR.0, BUILDER_AUTHOR.1, GitTime::utc(now_secs()));
    let message = format!(
        "Build skill {} ({}, sha256 {})",
        c.skill.id(),
        built.language,
        &sha[..12]
    );
    let size = built.bytes.len();
    let request = CommitRequest::new(author, message).put(wasm_path, built.bytes);
    match volumes.commit_on(&c.volume, Some(c.head), request) {
        Ok(Some(_)) => Ok(Done::Built {
            sha256: sha,
            size,
            seconds,
            language: built.language.to_string(),
        }),
        Ok(None) => Err(format!(
            "{label}: the volume changed while the skill was building; nothing was committed, run the build again"
        )),
        Err(err) => Err(format!("{label}: {err}")),
    }
}

/// `volume path:line:column: message`, then the compiler's output.
fn describe_failure(volume: &VolumeId, path: &str, err: &llmos_skill_build::BuildError) -> String {
    let body = err.to_json();
    let e = &body["error"];
    let mut place = path.to_owned();
    if let Some(line) = e["line"].as_u64() {
        place.push_str(&format!(":{line}"));
        if let Some(col) = e["column"].as_u64() {
            place.push_str(&format!(":{col}"));
        }
    }
    let mut text = format!(
        "{volume} {place}: {} [{}]",
        e["message"].as_str().unwrap_or("the build failed"),
        e["code"].as_str().unwrap_or("skill-build-failed")
    );
    if let Some(output) = e["output"].as_str().filter(|o| !o.trim().is_empty()) {
        for line in output.trim_end().lines() {
            text.push_str("\n    ");
            text.push_str(line);
        }
    }
    text
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.0} KiB", (bytes as f64 / 1024.0).ceil())
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn serve(args: BuilderArgs) -> anyhow::Result<()> {
    let manifest = args.app.manifest()?;
    let builder = SkillBuilder::new(skill_builder::config_for(&manifest.dir));
    let tokio = super::async_runtime()?;
    tokio.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        println!("Skill builder on http://{}", listener.local_addr()?);
        skill_builder::serve(builder, listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}
