//! One evolution pass for one user: reconcile what was drafted before with
//! the volume, stream the user's traces through the pattern detector,
//! draft the new patterns, update and retire earlier drafts, and (with
//! `auto_apply`) commit all of it as one commit in the user's volume.
//!
//! Generic over the SQL executor so the same code runs in the component
//! (Spin's SQLite) and in native unit tests (rusqlite).

use std::collections::{BTreeMap, BTreeSet};

use llmos_core::evolve::{
    self, Detection, EvolveConfig, EvolvedSkill, Pattern, PatternDetector, RetireReason, Usage,
    Verification,
};
use llmos_core::ids::{PrincipalId, SkillId, VolumeId};
use llmos_core::skill::{self, SkillStatus, SkillUpdate};
use llmos_core::trace::{Outcome, Trace, TraceKind};
use llmos_core::workflow::{Catalog, Executors, Workflow};
use llmos_store::catalog::SkillLocation;
use llmos_store::{
    At, CommitRequest, EntryKind, GitTime, ObjectStore, RefStore, Signature, SqlError, SqlExecutor,
    TraceFilter, TraceIndex, TraceStoreError, VolumeError, VolumePath, Volumes,
};
use serde_json::{Map, Value};

use crate::llm;
use crate::state::{self, PatternRecord, State};

/// Rows fetched per batch while scanning traces.
const SCAN_BATCH: usize = 500;
/// Source traces loaded to replay a workflow pattern.
const MAX_REPLAY_TRACES: usize = 5;

/// Why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Traces(#[from] TraceStoreError),
    #[error("draft {skill_id}: {message}")]
    Draft { skill_id: String, message: String },
}

pub use llmos_guest::api::evolve::{DraftReport, PassReport, Retirement};

/// Streams `user`'s traces through a detector that knows `records`.
pub fn detect<E: SqlExecutor>(
    db: &E,
    config: &EvolveConfig,
    user: &PrincipalId,
    records: &[PatternRecord],
) -> Result<Detection, PassError> {
    let known: Vec<_> = records.iter().map(PatternRecord::known).collect();
    let mut detector = PatternDetector::new(config, &known);
    let filter = TraceFilter {
        user: Some(user.clone()),
        ..TraceFilter::default()
    };
    TraceIndex::new(db).scan(&filter, SCAN_BATCH, |row| {
        detector.push(&evolve::Observation {
            trace_id: &row.trace_id,
            kind: row.kind,
            created_at: row.created_at,
            success: row.outcome == Outcome::Success,
            task: &row.task,
            skills_used: &row.skills_used,
            sequence: &row.sequence,
        });
        true
    })?;
    Ok(detector.finish())
}

fn draft_path(id: &str) -> Result<VolumePath, PassError> {
    let id = SkillId::new(id).map_err(|e| PassError::Draft {
        skill_id: id.to_owned(),
        message: e.to_string(),
    })?;
    Ok(SkillLocation::Draft.path(&id))
}

/// The author of evolution's commits.
pub fn author(now_ms: i64) -> Signature {
    Signature::new(
        "llmos evolution",
        "evolve@llmos.local",
        GitTime::utc(now_ms.div_euclid(1000)),
    )
}

/// Finds states that changed outside the engine: a draft deleted by its
/// user (rejected) or moved to `skills/<id>.md` (accepted).
fn reconcile<S: ObjectStore + RefStore>(
    volumes: &Volumes<S>,
    volume: &VolumeId,
    records: &mut [PatternRecord],
) -> Result<Vec<usize>, PassError> {
    let drafts_dir = VolumePath::new("skills/drafts").expect("a valid path");
    let present: BTreeSet<String> = volumes
        .list_files(volume, Some(&drafts_dir), At::Head, false)?
        .into_iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| e.path)
        .collect();
    let mut changed = Vec::new();
    for (i, record) in records.iter_mut().enumerate() {
        if !record.state.has_file() {
            continue;
        }
        let path = draft_path(&record.skill_id)?;
        if present.contains(path.as_str()) {
            continue;
        }
        let id = SkillId::new(&record.skill_id).map_err(|e| PassError::Draft {
            skill_id: record.skill_id.clone(),
            message: e.to_string(),
        })?;
        let accepted = [SkillLocation::File, SkillLocation::AgentSkill]
            .into_iter()
            .map(|l| volumes.entry(volume, &l.path(&id), At::Head))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(Option::is_some);
        record.state = if accepted {
            State::Accepted
        } else {
            State::Rejected
        };
        changed.push(i);
    }
    Ok(changed)
}

/// The usage a draft's front matter records.
fn recorded_usage(frontmatter: &Value) -> Usage {
    let int = |k: &str| frontmatter.get(k).and_then(Value::as_i64);
    Usage {
        uses: int("uses").and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        successes: int("use_successes")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        last_used_at: int("last_used_at"),
    }
}

/// Loads the source traces of a workflow pattern and replays its workflow.
fn verify<E: SqlExecutor, S: ObjectStore + RefStore>(
    db: &E,
    volumes: &Volumes<S>,
    volume: &VolumeId,
    pattern: &Pattern,
) -> Result<(Verification, Option<String>, Option<Workflow>), PassError> {
    let index = TraceIndex::new(db);
    let mut traces: Vec<Trace> = Vec::new();
    for id in pattern
        .successful_traces
        .iter()
        .rev()
        .take(MAX_REPLAY_TRACES)
    {
        if let Some(row) = index.get(id)? {
            traces.push(index.load(volumes, &row)?);
        }
    }
    // The workflow: recorded inline, else the file the trace names.
    let mut workflow = traces.iter().find_map(evolve::workflow_of);
    if workflow.is_none() {
        for trace in &traces {
            let Some(id) = trace.details.get("workflow_id").and_then(Value::as_str) else {
                continue;
            };
            let Ok(path) = VolumePath::new(&format!("workflows/{id}.json")) else {
                continue;
            };
            let at = trace
                .details
                .get("workflow_commit")
                .and_then(Value::as_str)
                .and_then(|c| llmos_store::object::parse_id(c).ok())
                .map_or(At::Head, At::Commit);
            if let Ok(file) = volumes.read_file(volume, &path, at)
                && let Ok(text) = std::str::from_utf8(&file.data)
                && let Ok(wf) = Workflow::from_json(text)
            {
                workflow = Some(wf);
                break;
            }
        }
    }
    let Some(workflow) = workflow else {
        return Ok((
            Verification::Unverified,
            Some("the source traces do not record the workflow".into()),
            None,
        ));
    };
    let cases: Vec<_> = traces.iter().filter_map(evolve::replay_case).collect();
    // Edge replay runs the built-in nodes; skills that run elsewhere make
    // the plan invalid or the run pending, and the draft stays unverified.
    let verdict = evolve::replay(
        &workflow,
        &Catalog::new(),
        &mut Executors::builtin(),
        &cases,
    );
    Ok((verdict.verification, verdict.reason, Some(workflow)))
}

/// Runs one pass for `user`.
pub fn run<E: SqlExecutor, S: ObjectStore + RefStore>(
    db: &E,
    volumes: &Volumes<S>,
    config: &EvolveConfig,
    user: &PrincipalId,
    auto_apply: bool,
    now_ms: i64,
) -> Result<PassReport, PassError> {
    let volume = VolumeId::User(user.clone());
    let mut records = state::load(db, user.as_str())?;
    let reconciled = reconcile(volumes, &volume, &mut records)?;
    let detection = detect(db, config, user, &records)?;

    // Earlier drafts as they are in the volume now.
    let mut existing: Vec<(usize, EvolvedSkill, skill::Skill)> = Vec::new();
    let mut state_changes: Vec<usize> = reconciled;
    for (i, record) in records.iter_mut().enumerate() {
        if !record.state.has_file() {
            continue;
        }
        let path = draft_path(&record.skill_id)?;
        let file = volumes.read_file(&volume, &path, At::Head)?;
        let Ok(parsed) = skill::parse_bytes(Some(path.as_str()), &file.data) else {
            // A draft its user broke is left alone until fixed.
            continue;
        };
        let active = parsed.status() != Some(SkillStatus::Retired);
        let state_now = if active { State::Draft } else { State::Retired };
        if state_now != record.state {
            if record.state == State::Retired && auto_apply {
                // Its user set a retired draft back to `draft`: it is
                // judged afresh from now on (uses counted from now, the
                // unused clock restarted).
                record.drafted_at = now_ms;
                state::revive(db, user.as_str(), &record.fingerprint, now_ms)?;
            }
            record.state = state_now;
            state_changes.push(i);
        }
        existing.push((
            i,
            EvolvedSkill {
                skill_id: record.skill_id.clone(),
                verification: record.verification,
                active,
                drafted_at: record.drafted_at,
                recorded: recorded_usage(parsed.frontmatter()),
            },
            parsed,
        ));
    }

    let new_patterns: Vec<&Pattern> = detection.new_patterns().collect();
    let skills: Vec<EvolvedSkill> = existing.iter().map(|(_, s, _)| s.clone()).collect();
    let plan = evolve::plan_lifecycle(
        &skills,
        |id| detection.usage.get(id).copied().unwrap_or_default(),
        new_patterns.len(),
        now_ms,
        config,
    );

    let mut request = CommitRequest::new(author(now_ms), String::new());
    let mut changes = 0usize;

    // Updates and retirements of earlier drafts.
    let retire: BTreeMap<&str, RetireReason> = plan
        .retire
        .iter()
        .map(|(id, r)| (id.as_str(), *r))
        .collect();
    let updates: BTreeMap<&str, Usage> = plan
        .updates
        .iter()
        .map(|(id, u)| (id.as_str(), *u))
        .collect();
    let mut retired = Vec::new();
    let mut updated = Vec::new();
    for (i, skill_state, parsed) in &existing {
        let id = skill_state.skill_id.as_str();
        let mut set = Map::new();
        let mut status = None;
        if let Some(usage) = updates.get(id) {
            set.insert("uses".into(), usage.uses.into());
            set.insert("use_successes".into(), usage.successes.into());
            if usage.uses > 0 {
                set.insert(
                    "use_success_rate".into(),
                    evolve::draft::round3(f64::from(usage.successes) / f64::from(usage.uses))
                        .into(),
                );
            }
            if let Some(at) = usage.last_used_at {
                set.insert("last_used_at".into(), at.into());
            }
            updated.push(id.to_owned());
        }
        if let Some(reason) = retire.get(id) {
            status = Some(SkillStatus::Retired.as_str().to_owned());
            set.insert("retired_reason".into(), reason.as_str().into());
            set.insert("retired_at".into(), now_ms.into());
            retired.push(Retirement {
                skill_id: id.to_owned(),
                reason: *reason,
            });
            records[*i].state = State::Retired;
            state_changes.push(*i);
        }
        if set.is_empty() && status.is_none() {
            continue;
        }
        let changed = parsed
            .update(&SkillUpdate {
                status,
                set,
                ..SkillUpdate::default()
            })
            .map_err(|e| PassError::Draft {
                skill_id: id.to_owned(),
                message: e.to_string(),
            })?;
        request = request.put(draft_path(id)?, changed.into_source());
        changes += 1;
    }

    // New drafts, most frequent first, within the cap.
    let mut drafts: Vec<DraftReport> = Vec::new();
    let mut new_records: Vec<PatternRecord> = Vec::new();
    let taken_ids: BTreeSet<String> = records.iter().map(|r| r.skill_id.clone()).collect();
    for pattern in new_patterns.iter().take(plan.new_draft_budget) {
        let (verification, note, workflow) = match pattern.kind {
            TraceKind::WorkflowRun => verify(db, volumes, &volume, pattern)?,
            TraceKind::Chat => (
                Verification::Unverified,
                Some("chat patterns stay unverified until a person reviews them".into()),
                None,
            ),
        };
        let answer = llm::draft_body(&evolve::model_prompt(pattern));
        let draft = evolve::render_draft(
            pattern,
            verification,
            workflow.as_ref(),
            answer.as_deref(),
            now_ms,
        )
        .map_err(|e| PassError::Draft {
            skill_id: evolve::draft_skill_id(pattern).to_string(),
            message: e.to_string(),
        })?;
        let skill_id = draft.skill_id.to_string();
        if taken_ids.contains(&skill_id) {
            // The same id from another fingerprint's 8 digits: skip rather
            // than overwrite someone else's draft.
            continue;
        }
        let path = VolumePath::new(&draft.path).expect("draft paths are valid");
        let exists = volumes.entry(&volume, &path, At::Head)?.is_some();
        if exists {
            continue;
        }
        let text = draft.skill.into_source();
        request = request.put(path, text.clone().into_bytes());
        changes += 1;
        new_records.push(PatternRecord {
            fingerprint: pattern.fingerprint.clone(),
            kind: pattern.kind,
            features: pattern.features.clone(),
            skill_id: skill_id.clone(),
            state: State::Draft,
            verification,
            drafted_at: now_ms,
        });
        drafts.push(DraftReport {
            skill_id,
            pattern: pattern.label.clone(),
            fingerprint: pattern.fingerprint.clone(),
            kind: pattern.kind,
            occurrences: pattern.occurrences,
            success_rate: evolve::draft::round3(pattern.success_rate),
            verification,
            verification_note: note,
            path: draft.path,
            commit: None,
            content: (!auto_apply).then_some(text),
        });
    }

    let mut commit = None;
    if auto_apply {
        if changes > 0 {
            let message = commit_message(drafts.len(), retired.len(), updated.len());
            let mut request = request;
            request.message = message;
            let outcome = volumes.commit(&volume, request)?;
            let id = outcome.commit.to_string();
            for draft in &mut drafts {
                draft.commit = Some(id.clone());
            }
            commit = Some(id);
        }
        for record in &new_records {
            state::insert(db, user.as_str(), record, now_ms)?;
        }
        state_changes.sort_unstable();
        state_changes.dedup();
        for i in state_changes {
            let record = &records[i];
            state::set_state(db, user.as_str(), &record.fingerprint, record.state, now_ms)?;
        }
    }

    Ok(PassReport {
        status: "completed",
        user_id: user.to_string(),
        traces_analyzed: detection.traces_analyzed,
        patterns_detected: detection.patterns.len(),
        skills_created: drafts.len(),
        skills: drafts,
        retired,
        updated,
        auto_apply,
        commit,
    })
}

fn commit_message(created: usize, retired: usize, updated: usize) -> String {
    let mut parts = Vec::new();
    if created > 0 {
        parts.push(format!("draft {created} skill{}", plural(created)));
    }
    if retired > 0 {
        parts.push(format!("retire {retired} draft{}", plural(retired)));
    }
    if updated > 0 {
        parts.push(format!(
            "update use counts of {updated} draft{}",
            plural(updated)
        ));
    }
    let mut text = format!("Evolve: {}", parts.join(", "));
    text.push_str("\n\nWritten by the evolution pass from this volume's traces.\n");
    text
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use llmos_core::trace::new_trace_id;
    use llmos_store::catalog::{Catalog, ListQuery};
    use llmos_store::{RusqliteExecutor, SqlStore};
    use serde_json::json;

    use super::*;

    type Db = Rc<RusqliteExecutor>;

    fn setup() -> (Db, Volumes<SqlStore<Db>>) {
        let db = Rc::new(RusqliteExecutor::open_in_memory().unwrap());
        let store = SqlStore::open(db.clone()).unwrap();
        TraceIndex::new(db.clone()).migrate().unwrap();
        for migration in state::MIGRATIONS {
            for statement in migration.statements {
                db.execute(statement, &[]).unwrap();
            }
        }
        for statement in llmos_store::catalog::MIGRATIONS {
            db.execute(statement, &[]).unwrap();
        }
        (db, Volumes::new(store))
    }

    fn alice() -> PrincipalId {
        PrincipalId::user("alice").unwrap()
    }

    fn record(
        db: &Db,
        volumes: &Volumes<SqlStore<Db>>,
        n: u32,
        task: &str,
        ok: bool,
        details: Map<String, Value>,
        kind: TraceKind,
    ) {
        let at = 1_764_000_000_000 + i64::from(n) * 1000;
        let trace = Trace {
            trace_id: new_trace_id(at, n),
            kind,
            user_id: alice(),
            team_id: None,
            created_at: at,
            task: task.into(),
            skills_used: if kind == TraceKind::Chat {
                vec!["data-plot-node".into()]
            } else {
                vec![]
            },
            sequence: if kind == TraceKind::WorkflowRun {
                vec!["builtin:constant".into(), "builtin:math".into()]
            } else {
                vec![]
            },
            outcome: if ok { Outcome::Success } else { Outcome::Error },
            error: None,
            duration_ms: 4,
            details,
        };
        TraceIndex::new(db.clone())
            .record(volumes, trace, author(at))
            .unwrap();
    }

    fn chats(db: &Db, volumes: &Volumes<SqlStore<Db>>, from: u32, count: u32) {
        let tasks = [
            "Plot a sine wave",
            "plotting sine waves",
            "plot the sine wave again",
        ];
        for n in from..from + count {
            let task = tasks[n as usize % 3];
            record(db, volumes, n, task, true, Map::new(), TraceKind::Chat);
        }
    }

    const NOW: i64 = 1_764_100_000_000;

    #[test]
    fn drafts_a_new_pattern_once_and_the_catalog_lists_it() {
        let (db, volumes) = setup();
        chats(&db, &volumes, 0, 3);
        let config = EvolveConfig::default();
        let first = run(&db, &volumes, &config, &alice(), true, NOW).unwrap();
        assert_eq!(
            (
                first.traces_analyzed,
                first.patterns_detected,
                first.skills_created
            ),
            (3, 1, 1)
        );
        let commit = first.commit.clone().unwrap();
        let draft = &first.skills[0];
        assert_eq!(draft.commit.as_deref(), Some(commit.as_str()));
        assert!(draft.content.is_none());
        let volume = VolumeId::User(alice());
        let catalog = Catalog::new(&volumes);
        catalog.ensure_fresh(std::slice::from_ref(&volume)).unwrap();
        let listing = catalog
            .list(std::slice::from_ref(&volume), &ListQuery::default())
            .unwrap();
        assert_eq!(listing.total, 1);
        assert_eq!(listing.entries[0].skill_id.as_str(), draft.skill_id);

        // A second pass finds the pattern again but drafts and commits nothing.
        let head = volumes.head(&volume).unwrap();
        let second = run(&db, &volumes, &config, &alice(), true, NOW + 1).unwrap();
        assert_eq!((second.patterns_detected, second.skills_created), (1, 0));
        assert!(second.commit.is_none());
        assert_eq!(volumes.head(&volume).unwrap(), head);
    }

    #[test]
    fn without_auto_apply_nothing_is_stored() {
        let (db, volumes) = setup();
        chats(&db, &volumes, 0, 3);
        let volume = VolumeId::User(alice());
        let head = volumes.head(&volume).unwrap();
        let report = run(
            &db,
            &volumes,
            &EvolveConfig::default(),
            &alice(),
            false,
            NOW,
        )
        .unwrap();
        assert_eq!(report.skills_created, 1);
        assert!(report.commit.is_none());
        let content = report.skills[0].content.clone().unwrap();
        assert!(skill::parse(None, &content).is_ok());
        assert_eq!(volumes.head(&volume).unwrap(), head);
        assert!(state::load(&db, "alice").unwrap().is_empty());
        // So an applying pass still drafts it.
        let applied = run(&db, &volumes, &EvolveConfig::default(), &alice(), true, NOW).unwrap();
        assert_eq!(applied.skills_created, 1);
    }

    #[test]
    fn a_deleted_draft_is_remembered_and_never_drafted_again() {
        let (db, volumes) = setup();
        chats(&db, &volumes, 0, 3);
        let config = EvolveConfig::default();
        let first = run(&db, &volumes, &config, &alice(), true, NOW).unwrap();
        let path = VolumePath::new(&first.skills[0].path).unwrap();
        let volume = VolumeId::User(alice());
        volumes
            .commit(
                &volume,
                CommitRequest::new(author(NOW), "Reject the draft").delete(path),
            )
            .unwrap();
        chats(&db, &volumes, 3, 6);
        let again = run(&db, &volumes, &config, &alice(), true, NOW + 10).unwrap();
        assert_eq!(again.skills_created, 0);
        let records = state::load(&db, "alice").unwrap();
        assert_eq!(records[0].state, State::Rejected);
    }

    fn run_details(result: i64) -> Map<String, Value> {
        let mut details = Map::new();
        details.insert(
            "workflow".into(),
            json!({"id": "double", "name": "double",
                "nodes": [
                    {"id": "a", "skill_id": "builtin:constant", "params": {"value": 3}},
                    {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x * 2"}}],
                "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]}),
        );
        details.insert("inputs".into(), json!({}));
        details.insert("outputs".into(), json!({"m": {"result": result}}));
        details
    }

    #[test]
    fn workflow_patterns_are_verified_by_replay() {
        let (db, volumes) = setup();
        for n in 0..3 {
            record(
                &db,
                &volumes,
                n,
                "double",
                true,
                run_details(6),
                TraceKind::WorkflowRun,
            );
        }
        let report = run(&db, &volumes, &EvolveConfig::default(), &alice(), true, NOW).unwrap();
        assert_eq!(
            report.skills[0].verification,
            Verification::Verified,
            "{report:?}"
        );

        let (db, volumes) = setup();
        for n in 0..3 {
            record(
                &db,
                &volumes,
                n,
                "double",
                true,
                run_details(7),
                TraceKind::WorkflowRun,
            );
        }
        let report = run(&db, &volumes, &EvolveConfig::default(), &alice(), true, NOW).unwrap();
        assert_eq!(report.skills[0].verification, Verification::Unverified);
        assert!(
            report.skills[0]
                .verification_note
                .as_deref()
                .unwrap()
                .contains("different outputs")
        );
    }

    #[test]
    fn an_unused_draft_is_retired_by_a_commit() {
        let (db, volumes) = setup();
        chats(&db, &volumes, 0, 3);
        let config = EvolveConfig {
            retire_unused_after_ms: 60_000,
            ..EvolveConfig::default()
        };
        let first = run(&db, &volumes, &config, &alice(), true, NOW).unwrap();
        let id = first.skills[0].skill_id.clone();
        let later = run(&db, &volumes, &config, &alice(), true, NOW + 60_000).unwrap();
        assert_eq!(later.retired.len(), 1);
        assert_eq!(later.retired[0].skill_id, id);
        assert!(later.commit.is_some());
        let file = volumes
            .read_file(
                &VolumeId::User(alice()),
                &VolumePath::new(&first.skills[0].path).unwrap(),
                At::Head,
            )
            .unwrap();
        let parsed = skill::parse_bytes(None, &file.data).unwrap();
        assert_eq!(parsed.status(), Some(SkillStatus::Retired));
        assert_eq!(parsed.frontmatter()["retired_reason"], "unused");
        // Retired stays retired, and is not drafted again.
        let after = run(&db, &volumes, &config, &alice(), true, NOW + 120_000).unwrap();
        assert!(after.commit.is_none() && after.skills_created == 0);
    }

    #[test]
    fn a_revived_draft_is_judged_afresh() {
        let (db, volumes) = setup();
        chats(&db, &volumes, 0, 3);
        let config = EvolveConfig {
            retire_unused_after_ms: 60_000,
            ..EvolveConfig::default()
        };
        let first = run(&db, &volumes, &config, &alice(), true, NOW).unwrap();
        let path = VolumePath::new(&first.skills[0].path).unwrap();
        let volume = VolumeId::User(alice());
        let later = run(&db, &volumes, &config, &alice(), true, NOW + 60_000).unwrap();
        assert_eq!(later.retired.len(), 1);
        // Its user sets it back to draft.
        let file = volumes.read_file(&volume, &path, At::Head).unwrap();
        let retired = skill::parse_bytes(None, &file.data).unwrap();
        let revived = retired
            .update(&SkillUpdate {
                status: Some("draft".into()),
                ..SkillUpdate::default()
            })
            .unwrap();
        volumes
            .commit(
                &volume,
                CommitRequest::new(author(NOW), "Revive").put(path.clone(), revived.into_source()),
            )
            .unwrap();
        let next = run(&db, &volumes, &config, &alice(), true, NOW + 70_000).unwrap();
        assert!(next.retired.is_empty(), "{next:?}");
        assert_eq!(state::load(&db, "alice").unwrap()[0].state, State::Draft);
        // A full unused period after the revival, it retires again.
        let much_later = run(&db, &volumes, &config, &alice(), true, NOW + 130_000).unwrap();
        assert_eq!(much_later.retired.len(), 1);
    }

    #[test]
    fn the_cap_holds() {
        let (db, volumes) = setup();
        let config = EvolveConfig {
            max_active_drafts: 2,
            ..EvolveConfig::default()
        };
        let topics = [
            "sine wave plot",
            "csv summary table",
            "rc filter cutoff",
            "matrix inverse compute",
        ];
        let mut n = 0;
        for topic in topics {
            for _ in 0..3 {
                record(&db, &volumes, n, topic, true, Map::new(), TraceKind::Chat);
                n += 1;
            }
        }
        let report = run(&db, &volumes, &config, &alice(), true, NOW).unwrap();
        assert_eq!(report.patterns_detected, 4);
        assert_eq!(report.skills_created, 2);
        let active = state::load(&db, "alice")
            .unwrap()
            .iter()
            .filter(|r| r.state == State::Draft)
            .count();
        assert_eq!(active, 2);
        // The next pass drafts the other two and retires the first two.
        let next = run(&db, &volumes, &config, &alice(), true, NOW + 1).unwrap();
        assert_eq!((next.skills_created, next.retired.len()), (2, 2));
        let active = state::load(&db, "alice")
            .unwrap()
            .iter()
            .filter(|r| r.state == State::Draft)
            .count();
        assert_eq!(active, 2);
    }
}
