//! One evolution pass over 100,000 traces of 1,000 users (target: < 2 s).
//!
//! The traces are generated in memory, ordered by (user, time) as the
//! trace index scans them, and streamed through `for_each_user`: one
//! detector per user, only that user's clusters in memory. Each user has
//! 100 traces: 60 chat turns drawn from 40 task wordings (some rewordings
//! of one another, so they cluster), 40 workflow runs drawn from 8 step
//! sequences, about 80% successful.

use criterion::{Criterion, criterion_group, criterion_main};
use llmos_core::evolve::{EvolveConfig, KnownPattern, Observation, for_each_user};
use llmos_core::trace::TraceKind;
use std::hint::black_box;

const USERS: usize = 1_000;
const PER_USER: usize = 100;

struct Owned {
    user: String,
    id: String,
    kind: TraceKind,
    at: i64,
    ok: bool,
    task: String,
    skills: Vec<String>,
    sequence: Vec<String>,
}

/// A small deterministic generator (xorshift), so every run sees the same
/// corpus without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn corpus() -> Vec<Owned> {
    let subjects = [
        "sine wave",
        "csv file",
        "rc filter",
        "matrix inverse",
        "quantum circuit",
        "bar chart",
        "json document",
        "sql query",
        "fourier transform",
        "linear regression",
    ];
    let verbs = ["plot", "summarise", "analyse", "compute"];
    let tails = ["", " please", " for my report", " again"];
    let sequences: Vec<Vec<String>> = (0..8)
        .map(|i| {
            (0..3 + i % 3)
                .map(|j| format!("skill-{}", (i * 7 + j * 3) % 20))
                .collect()
        })
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(USERS * PER_USER);
    for u in 0..USERS {
        let user = format!("user-{u:04}");
        for n in 0..PER_USER {
            let at = 1_764_000_000_000 + (n as i64) * 60_000;
            let ok = rng.below(10) < 8;
            if n % 5 < 3 {
                let subject = subjects[rng.below(subjects.len())];
                let verb = verbs[rng.below(verbs.len())];
                let tail = tails[rng.below(tails.len())];
                out.push(Owned {
                    user: user.clone(),
                    id: format!("tr-{at:013x}-{:08x}", u * PER_USER + n),
                    kind: TraceKind::Chat,
                    at,
                    ok,
                    task: format!("{verb} the {subject}{tail}"),
                    skills: vec![format!("skill-{}", rng.below(20))],
                    sequence: Vec::new(),
                });
            } else {
                out.push(Owned {
                    user: user.clone(),
                    id: format!("tr-{at:013x}-{:08x}", u * PER_USER + n),
                    kind: TraceKind::WorkflowRun,
                    at,
                    ok,
                    task: "workflow".into(),
                    skills: Vec::new(),
                    sequence: sequences[rng.below(sequences.len())].clone(),
                });
            }
        }
    }
    out
}

fn pass(config: &EvolveConfig, traces: &[Owned]) -> (usize, usize) {
    let stream = traces.iter().map(|t| {
        (
            t.user.as_str(),
            Observation {
                trace_id: &t.id,
                kind: t.kind,
                created_at: t.at,
                success: t.ok,
                task: &t.task,
                skills_used: &t.skills,
                sequence: &t.sequence,
            },
        )
    });
    let (mut users, mut patterns) = (0, 0);
    for_each_user(
        config,
        stream,
        |_| Vec::<KnownPattern>::new(),
        |_, detection| {
            users += 1;
            patterns += detection.patterns.len();
        },
    );
    (users, patterns)
}

fn bench(c: &mut Criterion) {
    let traces = corpus();
    let config = EvolveConfig::default();
    let (users, patterns) = pass(&config, &traces);
    assert_eq!(users, USERS);
    eprintln!(
        "{} traces, {users} users, {patterns} patterns per pass",
        traces.len()
    );
    let mut group = c.benchmark_group("evolve");
    group.sample_size(10);
    group.bench_function("pass_100k_traces_1k_users", |b| {
        b.iter(|| black_box(pass(&config, black_box(&traces))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
