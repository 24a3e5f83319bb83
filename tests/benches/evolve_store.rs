//! The evolution pass at the store level: 100,000 indexed traces of 1,000
//! users in SQLite (rusqlite, an on-disk WAL database like the host's),
//! read as the component's all-users pass does: the distinct users, then
//! each user's traces by a scan filtered on the user (batches of 500 rows,
//! time order) through that user's pattern detector (target: < 2 s).
//!
//! Only index rows are written (`TraceIndex::index` with a placeholder
//! commit): the pass reads the index, never the trace files.

use criterion::{Criterion, criterion_group, criterion_main};
use llmos_core::evolve::{EvolveConfig, Observation, PatternDetector};
use llmos_core::ids::PrincipalId;
use llmos_core::trace::{Outcome, Trace, TraceKind, new_trace_id};
use llmos_store::object::parse_id;
use llmos_store::{RusqliteExecutor, SqlExecutor, TraceFilter, TraceIndex};
use std::hint::black_box;

const USERS: usize = 1_000;
const PER_USER: usize = 100;

fn populate(db: &RusqliteExecutor) {
    let index = TraceIndex::new(db);
    index.migrate().unwrap();
    let commit = parse_id("0123456789abcdef0123456789abcdef01234567").unwrap();
    let subjects = [
        "sine wave",
        "csv file",
        "rc filter",
        "matrix inverse",
        "bar chart",
    ];
    let verbs = ["plot", "summarise", "analyse", "compute"];
    db.execute("BEGIN", &[]).unwrap();
    for u in 0..USERS {
        let user = PrincipalId::user(&format!("user-{u:04}")).unwrap();
        for n in 0..PER_USER {
            let at = 1_764_000_000_000 + (n as i64) * 60_000;
            let k = u * PER_USER + n;
            let chat = n % 5 < 3;
            let trace = Trace {
                trace_id: new_trace_id(at, k as u32),
                kind: if chat {
                    TraceKind::Chat
                } else {
                    TraceKind::WorkflowRun
                },
                user_id: user.clone(),
                team_id: None,
                created_at: at,
                task: format!("{} the {}", verbs[k % 4], subjects[(k / 4) % 5]),
                skills_used: vec![format!("skill-{}", k % 7)],
                sequence: if chat {
                    vec![]
                } else {
                    (0..3)
                        .map(|j| format!("skill-{}", (k % 6 + j) % 10))
                        .collect()
                },
                outcome: if k % 10 < 8 {
                    Outcome::Success
                } else {
                    Outcome::Error
                },
                error: None,
                duration_ms: 5,
                details: serde_json::Map::new(),
            };
            let path = trace.path();
            index.index(&trace, &path, commit).unwrap();
        }
    }
    db.execute("COMMIT", &[]).unwrap();
}

/// As the component's cron pass: the users with traces, then each user's
/// traces by a filtered scan.
fn pass(db: &RusqliteExecutor, config: &EvolveConfig) -> (usize, usize) {
    let index = TraceIndex::new(db);
    let users: Vec<String> = db
        .execute(
            "SELECT DISTINCT user_id FROM trace_index ORDER BY user_id",
            &[],
        )
        .unwrap()
        .rows
        .into_iter()
        .filter_map(|r| r.first().and_then(|v| v.as_text()).map(str::to_owned))
        .collect();
    let mut patterns = 0;
    for user in &users {
        let filter = TraceFilter {
            user: Some(PrincipalId::user(user).unwrap()),
            ..TraceFilter::default()
        };
        let mut detector = PatternDetector::new(config, &[]);
        index
            .scan(&filter, 500, |row| {
                detector.push(&Observation {
                    trace_id: &row.trace_id,
                    kind: row.kind,
                    created_at: row.created_at,
                    success: row.outcome == Outcome::Success,
                    task: &row.task,
                    skills_used: &row.skills_used,
                    sequence: &row.sequence,
                });
                true
            })
            .unwrap();
        patterns += detector.finish().patterns.len();
    }
    (users.len(), patterns)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = RusqliteExecutor::open(dir.path().join("sqlite_db.db")).unwrap();
    populate(&db);
    let config = EvolveConfig::default();
    let (users, patterns) = pass(&db, &config);
    assert_eq!(users, USERS);
    eprintln!(
        "{} traces, {users} users, {patterns} patterns per pass",
        USERS * PER_USER
    );
    let mut group = c.benchmark_group("evolve_store");
    group.sample_size(10);
    group.bench_function("scan_and_detect_100k_traces_1k_users", |b| {
        b.iter(|| black_box(pass(&db, &config)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
