//! `llmos traces import FILE.jsonl`: load traces from a JSON-lines file
//! (one trace per line, the JSON form of `GET /traces/{id}`) into the data
//! directory: each trace is committed to its user's volume and indexed, as
//! the components record them. For moving traces from another
//! installation, or seeding an evolution pass.
//!
//! Every line is checked before anything is written; an error names the
//! file, the line and the field. `trace_id` may be left out (one is made
//! from `created_at` and randomness), so may `created_at` (now). Traces
//! already recorded (same `trace_id`) are skipped, so an import can be
//! repeated.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use llmos_core::trace::{Trace, new_trace_id};
use llmos_host::app;
use llmos_host::runtime_config::DEFAULT_SQLITE_FILE;
use llmos_store::{GitTime, RusqliteExecutor, Signature, SqlStore, TraceIndex, Volumes};

use super::AppArgs;

/// Arguments of `llmos traces`.
#[derive(Debug, Args)]
pub struct TracesArgs {
    #[command(subcommand)]
    action: TracesAction,
}

#[derive(Debug, Subcommand)]
enum TracesAction {
    /// Record the traces of a JSON-lines file (one trace per line).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    #[command(flatten)]
    app: AppArgs,
    /// The JSON-lines file.
    file: PathBuf,
}

/// Runs `llmos traces …`.
pub fn run(args: TracesArgs) -> anyhow::Result<()> {
    match args.action {
        TracesAction::Import(args) => import(args),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Parses one line into a normalised trace.
fn parse_line(text: &str, now: i64) -> Result<Trace, String> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| "expected a JSON object".to_owned())?;
    if !object.contains_key("created_at") {
        object.insert("created_at".into(), now.into());
    }
    if !object.contains_key("trace_id") {
        let at = object
            .get("created_at")
            .and_then(Value::as_i64)
            .unwrap_or(now);
        object.insert(
            "trace_id".into(),
            new_trace_id(at, rand::random::<u32>()).into(),
        );
    }
    let trace: Trace = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("field `{path}`: {}", e.inner())
        }
    })?;
    trace.normalize().map_err(|e| e.to_string())
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let file = &args.file;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("while reading {}", file.display()))?;
    let now = now_ms();
    let mut traces = Vec::new();
    let mut seen = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let trace = parse_line(line, now)
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.display(), number + 1))?;
        if !seen.insert(trace.trace_id.clone()) {
            bail!(
                "{}:{}: field `trace_id`: `{}` appears twice in the file",
                file.display(),
                number + 1,
                trace.trace_id
            );
        }
        traces.push(trace);
    }

    let manifest = args.app.manifest()?;
    let data_dir = app::data_dir_for(&manifest, args.app.data_dir.as_deref());
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("while creating the data directory {}", data_dir.display()))?;
    let path = data_dir.join(DEFAULT_SQLITE_FILE);
    let open = || {
        RusqliteExecutor::open(&path).with_context(|| format!("while opening {}", path.display()))
    };
    let volumes = Volumes::new(SqlStore::open(open()?)?);
    let index = TraceIndex::new(open()?);
    index.migrate()?;

    let bar = ProgressBar::new(traces.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} importing traces [{bar:30}] {pos}/{len}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    let (mut recorded, mut skipped) = (0usize, 0usize);
    for trace in traces {
        bar.inc(1);
        if index.get(&trace.trace_id)?.is_some() {
            skipped += 1;
            continue;
        }
        let user = trace.user_id.as_str().to_owned();
        let author = Signature::new(
            user.clone(),
            format!("{user}@users.llmos.local"),
            GitTime::utc(trace.created_at.div_euclid(1000)),
        );
        let id = trace.trace_id.clone();
        index
            .record(&volumes, trace, author)
            .with_context(|| format!("while recording trace {id}"))?;
        recorded += 1;
    }
    bar.finish_and_clear();
    println!(
        "imported {recorded} trace{} from {}{}",
        if recorded == 1 { "" } else { "s" },
        file.display(),
        if skipped > 0 {
            format!(" ({skipped} already recorded, skipped)")
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_checked_field_by_field() {
        let ok = parse_line(
            r#"{"kind":"chat","user_id":"alice","task":"plot","outcome":"success","duration_ms":3,"created_at":1000}"#,
            5,
        )
        .unwrap();
        assert!(llmos_core::trace::is_trace_id(&ok.trace_id));
        let err = parse_line(
            r#"{"kind":"chat","user_id":"alice","task":"plot","outcome":"maybe","duration_ms":3}"#,
            5,
        )
        .unwrap_err();
        assert!(err.starts_with("field `outcome`"), "{err}");
        let err = parse_line(r#"{"kind":"chat""#, 5).unwrap_err();
        assert!(err.starts_with("not JSON"), "{err}");
        let err = parse_line(
            r#"{"kind":"chat","user_id":"../x","task":"t","outcome":"success","duration_ms":1}"#,
            5,
        )
        .unwrap_err();
        assert!(err.contains("user_id"), "{err}");
    }
}
