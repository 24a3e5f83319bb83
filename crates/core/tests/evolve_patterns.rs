//! Pattern detection on fixed corpora with known answers.

use llmos_core::evolve::{EvolveConfig, KnownPattern, Observation, PatternDetector, for_each_user};
use llmos_core::trace::TraceKind;

/// An owned trace for building corpora.
struct T {
    id: String,
    kind: TraceKind,
    at: i64,
    ok: bool,
    task: String,
    skills: Vec<String>,
    sequence: Vec<String>,
}

impl T {
    fn obs(&self) -> Observation<'_> {
        Observation {
            trace_id: &self.id,
            kind: self.kind,
            created_at: self.at,
            success: self.ok,
            task: &self.task,
            skills_used: &self.skills,
            sequence: &self.sequence,
        }
    }
}

fn chat(n: usize, task: &str, ok: bool) -> T {
    T {
        id: format!("tr-{n:013x}-00000000"),
        kind: TraceKind::Chat,
        at: 1_000 + n as i64,
        ok,
        task: task.into(),
        skills: vec!["data-plot-node".into()],
        sequence: vec![],
    }
}

fn run(n: usize, steps: &[&str], ok: bool) -> T {
    T {
        id: format!("tr-{n:013x}-00000001"),
        kind: TraceKind::WorkflowRun,
        at: 1_000 + n as i64,
        ok,
        task: "workflow".into(),
        skills: vec![],
        sequence: steps.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn detect(
    config: &EvolveConfig,
    traces: &[T],
    known: &[KnownPattern],
) -> llmos_core::evolve::Detection {
    let mut detector = PatternDetector::new(config, known);
    for t in traces {
        detector.push(&t.obs());
    }
    detector.finish()
}

#[test]
fn three_occurrences_make_a_pattern_and_two_do_not() {
    let config = EvolveConfig::default();
    let mut traces = Vec::new();
    for i in 0..3 {
        traces.push(run(i, &["builtin:constant", "builtin:math"], true));
    }
    for i in 3..5 {
        traces.push(run(i, &["builtin:constant", "builtin:merge"], true));
    }
    let found = detect(&config, &traces, &[]);
    assert_eq!(found.traces_analyzed, 5);
    assert_eq!(found.patterns.len(), 1, "{:#?}", found.patterns);
    let p = &found.patterns[0];
    assert_eq!(p.sequence, ["builtin:constant", "builtin:math"]);
    assert_eq!((p.occurrences, p.successes), (3, 3));
    assert_eq!(p.source_traces.len(), 3);
}

#[test]
fn success_rate_boundary_is_inclusive_at_seven_tenths() {
    let config = EvolveConfig::default();
    // 7 of 10 succeed: exactly 0.7, kept.
    let seventy: Vec<T> = (0..10).map(|i| run(i, &["a-skill"], i < 7)).collect();
    assert_eq!(detect(&config, &seventy, &[]).patterns.len(), 1);
    // 69 of 100 succeed: 0.69, dropped.
    let sixty_nine: Vec<T> = (0..100).map(|i| run(i, &["a-skill"], i < 69)).collect();
    assert!(detect(&config, &sixty_nine, &[]).patterns.is_empty());
    // 70 of 100: kept.
    let seventy_of_100: Vec<T> = (0..100).map(|i| run(i, &["a-skill"], i < 70)).collect();
    let found = detect(&config, &seventy_of_100, &[]);
    assert_eq!(found.patterns[0].success_rate, 0.7);
}

#[test]
fn thresholds_change_the_result() {
    let traces: Vec<T> = (0..3).map(|i| run(i, &["a-skill"], i < 2)).collect();
    let strict = EvolveConfig {
        min_pattern_count: 4,
        ..EvolveConfig::default()
    };
    assert!(detect(&strict, &traces, &[]).patterns.is_empty());
    let lenient = EvolveConfig {
        min_success_rate: 0.6,
        ..EvolveConfig::default()
    };
    assert_eq!(detect(&lenient, &traces, &[]).patterns.len(), 1);
    assert!(
        detect(&EvolveConfig::default(), &traces, &[])
            .patterns
            .is_empty()
    );
}

#[test]
fn similar_wording_clusters_and_different_tasks_do_not() {
    let config = EvolveConfig::default();
    let traces = vec![
        chat(0, "Plot a sine wave", true),
        chat(1, "plotting sine waves please", true),
        chat(2, "Can you plot the sine wave?", true),
        chat(3, "compute the cutoff frequency of an RC filter", true),
        chat(4, "fit a sine curve to my data", true),
        chat(5, "summarise this CSV file", true),
    ];
    let found = detect(&config, &traces, &[]);
    assert_eq!(found.patterns.len(), 1, "{:#?}", found.patterns);
    let p = &found.patterns[0];
    assert_eq!(p.occurrences, 3);
    assert_eq!(
        p.source_traces,
        [
            traces[0].id.clone(),
            traces[1].id.clone(),
            traces[2].id.clone()
        ]
    );
    assert!(p.keywords.contains(&"sine".to_owned()), "{:?}", p.keywords);
    assert_eq!(p.skills, [("data-plot-node".to_owned(), 3)]);
}

#[test]
fn different_sequences_are_different_patterns() {
    let config = EvolveConfig::default();
    let mut traces = Vec::new();
    for i in 0..3 {
        traces.push(run(i, &["a-skill", "b-skill"], true));
        traces.push(run(10 + i, &["b-skill", "a-skill"], true));
    }
    let found = detect(&config, &traces, &[]);
    assert_eq!(found.patterns.len(), 2);
    assert_ne!(found.patterns[0].fingerprint, found.patterns[1].fingerprint);
}

#[test]
fn fingerprints_are_stable_and_known_patterns_are_not_new() {
    let config = EvolveConfig::default();
    let mut traces: Vec<T> = (0..3).map(|i| chat(i, "plot a sine wave", true)).collect();
    let first = detect(&config, &traces, &[]);
    let p = first.patterns[0].clone();
    assert!(!p.known);
    // More traces, reworded: same fingerprint.
    traces.push(chat(7, "plotting sine waves", true));
    let again = detect(&config, &traces, &[]);
    assert_eq!(again.patterns[0].fingerprint, p.fingerprint);
    assert_eq!(again.patterns[0].occurrences, 4);
    // Once known, the pattern is found again but is not new.
    let known = KnownPattern {
        fingerprint: p.fingerprint.clone(),
        kind: p.kind,
        features: p.features.clone(),
        skill_id: Some("plot-sine-wave-x".into()),
        drafted_at: 1_002,
    };
    let second = detect(&config, &traces, std::slice::from_ref(&known));
    assert_eq!(second.patterns.len(), 1);
    assert!(second.patterns[0].known);
    assert_eq!(second.new_patterns().count(), 0);
}

#[test]
fn later_uses_of_an_evolved_skill_are_counted() {
    let config = EvolveConfig::default();
    let known = KnownPattern {
        fingerprint: "0".repeat(16),
        kind: TraceKind::Chat,
        features: vec!["zzz".into()],
        skill_id: Some("my-draft".into()),
        drafted_at: 1_005,
    };
    let mut traces = Vec::new();
    for i in 0..10 {
        let mut t = chat(i, "anything", i % 2 == 0);
        t.skills = vec!["my-draft".into()];
        traces.push(t);
    }
    let found = detect(&config, &traces, &[known]);
    let usage = found.usage["my-draft"];
    // Traces at 1006..=1009 are after drafting: 6, 8 succeed.
    assert_eq!(
        (usage.uses, usage.successes, usage.last_used_at),
        (4, 2, Some(1_009))
    );
}

#[test]
fn streams_group_by_user() {
    let config = EvolveConfig::default();
    let alice: Vec<T> = (0..3).map(|i| run(i, &["a-skill"], true)).collect();
    let bob: Vec<T> = (0..2).map(|i| run(i, &["a-skill"], true)).collect();
    let stream = alice
        .iter()
        .map(|t| ("alice", t.obs()))
        .chain(bob.iter().map(|t| ("bob", t.obs())));
    let mut results = Vec::new();
    for_each_user(
        &config,
        stream,
        |_| Vec::new(),
        |user, d| {
            results.push((user.to_owned(), d.traces_analyzed, d.patterns.len()));
        },
    );
    assert_eq!(
        results,
        [("alice".to_owned(), 3, 1), ("bob".to_owned(), 2, 0)]
    );
}
