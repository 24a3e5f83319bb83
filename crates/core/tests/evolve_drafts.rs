//! Draft files, the model seam, replay verification and the life cycle.

use llmos_core::evolve::{
    DraftError, EvolveConfig, EvolvedSkill, Observation, Pattern, PatternDetector, RetireReason,
    Usage, Verification, accept_model_body, model_prompt, plan_lifecycle, render_draft, replay,
    replay_case, workflow_of,
};
use llmos_core::ids::PrincipalId;
use llmos_core::skill::{self, SkillStatus};
use llmos_core::trace::{Outcome, Trace, TraceKind};
use llmos_core::workflow::{Catalog, Executors, Workflow};
use serde_json::{Map, Value, json};

fn chat_pattern() -> Pattern {
    let config = EvolveConfig::default();
    let ids: Vec<String> = (0..3).map(|i| format!("tr-{i:013x}-00000000")).collect();
    let tasks = [
        "Plot a sine wave",
        "plotting sine waves",
        "plot the sine wave: amplitude 2",
    ];
    let skills = vec!["data-plot-node".to_owned()];
    let mut detector = PatternDetector::new(&config, &[]);
    for (i, task) in tasks.iter().enumerate() {
        detector.push(&Observation {
            trace_id: &ids[i],
            kind: TraceKind::Chat,
            created_at: 1_764_000_000_000 + i as i64,
            success: true,
            task,
            skills_used: &skills,
            sequence: &[],
        });
    }
    detector.finish().patterns.remove(0)
}

fn workflow() -> Workflow {
    Workflow::from_value(json!({
        "id": "double", "name": "double",
        "nodes": [
            {"id": "a", "skill_id": "builtin:constant", "params": {"value": 3}},
            {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x * 2"}}],
        "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]
    }))
    .unwrap()
}

fn run_trace(n: u32, inputs: Value, outputs: Value) -> Trace {
    let mut details = Map::new();
    details.insert("workflow".into(), workflow().to_value());
    details.insert("inputs".into(), inputs);
    details.insert("outputs".into(), outputs);
    Trace {
        trace_id: format!("tr-{:013x}-00000000", 1000 + n),
        kind: TraceKind::WorkflowRun,
        user_id: PrincipalId::user("alice").unwrap(),
        team_id: None,
        created_at: 1000 + i64::from(n),
        task: "double".into(),
        skills_used: vec![],
        sequence: vec!["builtin:constant".into(), "builtin:math".into()],
        outcome: Outcome::Success,
        error: None,
        duration_ms: 3,
        details,
    }
}

#[test]
fn a_chat_draft_is_a_valid_skill_file() {
    let pattern = chat_pattern();
    let draft = render_draft(&pattern, Verification::Unverified, None, None, 5).unwrap();
    assert!(
        draft.path.starts_with("skills/drafts/plot-sine-wave-"),
        "{}",
        draft.path
    );
    assert!(!draft.model_written);
    // The stored text parses on its own, as the catalog will parse it.
    let parsed = skill::parse_as(&draft.skill_id, Some(&draft.path), draft.skill.source()).unwrap();
    assert_eq!(parsed.status(), Some(SkillStatus::Draft));
    assert_eq!(parsed.category(), "evolved");
    let fm = parsed.frontmatter();
    assert_eq!(fm["occurrences"], 3);
    assert_eq!(fm["success_rate"], 1.0);
    assert_eq!(fm["source_traces"].as_array().unwrap().len(), 3);
    assert_eq!(fm["verification"], "unverified");
    assert_eq!(fm["fingerprint"], pattern.fingerprint.as_str());
    assert!(parsed.keywords().contains(&"sine".to_owned()));
    let body = parsed.body();
    assert!(
        body.contains("## When to use") && body.contains("## Approach"),
        "{body}"
    );
    assert!(body.contains("\"Plot a sine wave\""), "{body}");
    assert!(body.contains("`data-plot-node`"), "{body}");
    assert!(body.contains("2025-11-24"), "{body}");
}

#[test]
fn the_model_writes_the_body_when_its_answer_is_usable() {
    let pattern = chat_pattern();
    let prompt = model_prompt(&pattern);
    assert!(prompt.user.contains("Plot a sine wave"), "{}", prompt.user);
    assert!(prompt.system.contains("## When to use"));
    let good = "```markdown\n# Sine plots\n\n## When to use\nWhen asked for a sine plot.\n\n## Approach\n1. Use data-plot-node.\n```";
    let draft = render_draft(&pattern, Verification::Unverified, None, Some(good), 5).unwrap();
    assert!(draft.model_written);
    assert!(draft.skill.body().contains("Use data-plot-node."));
    assert!(!draft.skill.body().contains("```"));
    // Unusable answers fall back to the template.
    for bad in [
        "",
        "just prose",
        "---\nname: x\n---\n## When to use\n## Approach\n",
    ] {
        let draft = render_draft(&pattern, Verification::Unverified, None, Some(bad), 5).unwrap();
        assert!(!draft.model_written, "{bad:?}");
        assert!(draft.skill.body().contains("## Evidence"));
    }
    assert_eq!(accept_model_body("  "), Err(DraftError::Empty));
    assert_eq!(
        accept_model_body("# x\n## When to use\nx"),
        Err(DraftError::MissingHeading("## Approach"))
    );
    assert!(matches!(
        accept_model_body(&"x".repeat(20_000)),
        Err(DraftError::TooLong(_))
    ));
}

#[test]
fn a_replayable_workflow_is_verified_and_a_different_one_is_not() {
    let catalog = Catalog::new();
    let mut executors = Executors::builtin();
    let good: Vec<_> = (0..3)
        .map(|n| run_trace(n, json!({}), json!({"m": {"result": 6}})))
        .collect();
    let wf = workflow_of(&good[0]).unwrap();
    let cases: Vec<_> = good.iter().filter_map(replay_case).collect();
    assert_eq!(cases.len(), 3);
    let verdict = replay(&wf, &catalog, &mut executors, &cases);
    assert_eq!(verdict.verification, Verification::Verified, "{verdict:?}");
    assert_eq!((verdict.checked, verdict.matched), (3, 3));

    // Recorded with other inputs (the constant overridden to 4 → 8).
    let inputs = json!({"a": {"value": 4}});
    let overridden = run_trace(5, inputs, json!({"m": {"result": 8}}));
    let verdict = replay(
        &wf,
        &catalog,
        &mut executors,
        &[replay_case(&overridden).unwrap()],
    );
    assert_eq!(verdict.verification, Verification::Verified, "{verdict:?}");

    // A run whose recorded outputs the workflow does not reproduce.
    let differs = run_trace(6, json!({}), json!({"m": {"result": 7}}));
    let verdict = replay(
        &wf,
        &catalog,
        &mut executors,
        &[cases[0].clone(), replay_case(&differs).unwrap()],
    );
    assert_eq!(verdict.verification, Verification::Unverified);
    assert_eq!((verdict.checked, verdict.matched), (2, 1));
    assert!(verdict.reason.unwrap().contains("node `m`"));

    // Nothing to compare: unverified.
    let verdict = replay(&wf, &catalog, &mut executors, &[]);
    assert_eq!(verdict.verification, Verification::Unverified);
}

#[test]
fn failed_runs_and_runs_without_outputs_are_not_replay_cases() {
    let mut failed = run_trace(1, json!({}), json!({"m": {"result": 6}}));
    failed.outcome = Outcome::Error;
    assert!(replay_case(&failed).is_none());
    let mut bare = run_trace(2, json!({}), json!({}));
    bare.details.remove("outputs");
    assert!(replay_case(&bare).is_none());
    // A run report's nodes work as well as `outputs`.
    let mut report = run_trace(3, json!({}), json!({}));
    report.details.remove("outputs");
    report.details.insert(
        "nodes".into(),
        json!({"m": {"status": "done", "outputs": {"result": 6}}}),
    );
    let case = replay_case(&report).unwrap();
    assert_eq!(case.outputs["m"]["result"], 6);
}

#[test]
fn a_workflow_draft_embeds_the_workflow() {
    let config = EvolveConfig::default();
    let traces: Vec<Trace> = (0..3).map(|n| run_trace(n, json!({}), json!({}))).collect();
    let mut detector = PatternDetector::new(&config, &[]);
    for t in &traces {
        detector.push(&Observation {
            trace_id: &t.trace_id,
            kind: t.kind,
            created_at: t.created_at,
            success: true,
            task: &t.task,
            skills_used: &t.skills_used,
            sequence: &t.sequence,
        });
    }
    let pattern = detector.finish().patterns.remove(0);
    let draft = render_draft(&pattern, Verification::Verified, Some(&workflow()), None, 5).unwrap();
    let parsed = skill::parse(Some(&draft.path), draft.skill.source()).unwrap();
    assert_eq!(parsed.frontmatter()["verification"], "verified");
    assert_eq!(parsed.frontmatter()["pattern"], "workflow-run");
    assert!(parsed.body().contains("```json"), "{}", parsed.body());
    assert!(parsed.body().contains("builtin:math"));
    assert!(
        draft.skill_id.as_str().starts_with("constant-math-"),
        "{}",
        draft.skill_id
    );
}

fn evolved(id: &str, drafted_at: i64, verification: Verification) -> EvolvedSkill {
    EvolvedSkill {
        skill_id: id.into(),
        verification,
        active: true,
        drafted_at,
        recorded: Usage::default(),
    }
}

#[test]
fn unused_drafts_retire_after_the_configured_time() {
    let config = EvolveConfig {
        retire_unused_after_ms: 1_000,
        ..EvolveConfig::default()
    };
    let skills = [
        evolved("old", 0, Verification::Unverified),
        evolved("fresh", 500, Verification::Unverified),
    ];
    let used = |id: &str| {
        if id == "old" {
            Usage::default()
        } else {
            Usage {
                uses: 1,
                successes: 1,
                last_used_at: Some(900),
            }
        }
    };
    let plan = plan_lifecycle(&skills, used, 0, 1_000, &config);
    assert_eq!(plan.retire, [("old".to_owned(), RetireReason::Unused)]);
    assert_eq!(plan.updates, [("fresh".to_owned(), used("fresh"))]);
    // Just before the limit nothing retires.
    let plan = plan_lifecycle(&skills, used, 0, 999, &config);
    assert!(plan.retire.is_empty());
}

#[test]
fn low_success_rates_retire_once_there_is_enough_evidence() {
    let config = EvolveConfig::default();
    let skills = [evolved("d", 0, Verification::Unverified)];
    let two_failures = |_: &str| Usage {
        uses: 2,
        successes: 0,
        last_used_at: Some(10),
    };
    assert!(
        plan_lifecycle(&skills, two_failures, 0, 20, &config)
            .retire
            .is_empty()
    );
    let poor = |_: &str| Usage {
        uses: 10,
        successes: 6,
        last_used_at: Some(10),
    };
    assert_eq!(
        plan_lifecycle(&skills, poor, 0, 20, &config).retire,
        [("d".to_owned(), RetireReason::LowSuccessRate)]
    );
}

#[test]
fn the_cap_retires_oldest_unverified_first() {
    let config = EvolveConfig {
        max_active_drafts: 3,
        ..EvolveConfig::default()
    };
    let skills = [
        evolved("v-oldest", 1, Verification::Verified),
        evolved("u-old", 2, Verification::Unverified),
        evolved("u-new", 3, Verification::Unverified),
    ];
    let none = |_: &str| Usage {
        uses: 0,
        successes: 0,
        last_used_at: Some(4),
    };
    let plan = plan_lifecycle(&skills, none, 2, 5, &config);
    assert_eq!(
        plan.retire,
        [
            ("u-old".to_owned(), RetireReason::OverCap),
            ("u-new".to_owned(), RetireReason::OverCap)
        ]
    );
    assert_eq!(plan.new_draft_budget, 2);
    // More new drafts than the cap: all old ones go, only 3 new are written.
    let plan = plan_lifecycle(&skills, none, 5, 5, &config);
    assert_eq!(plan.retire.len(), 3);
    assert_eq!(plan.retire[2].0, "v-oldest");
    assert_eq!(plan.new_draft_budget, 3);
    let active_after = skills.len() - plan.retire.len() + plan.new_draft_budget;
    assert_eq!(active_after, 3);
}
