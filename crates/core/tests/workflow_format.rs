//! Import and export: the canonical form round-trips byte for byte and
//! unknown fields survive at every level.

use llmos_core::workflow::{FormatError, Workflow};
use serde_json::json;

/// A canonical file: known fields in order, unknown ones after them sorted,
/// two-space indent, integral coordinates without fraction, final newline.
const CANONICAL: &str = r##"{
  "id": "wf-1",
  "name": "Demo",
  "nodes": [
    {
      "id": "a",
      "skill_id": "builtin:constant",
      "position": {
        "x": 120,
        "y": -40.5,
        "z_index": 3
      },
      "params": {
        "value": {
          "a": null,
          "b": [
            1,
            2.5,
            "x"
          ]
        }
      },
      "skill_commit": "0123456789abcdef0123456789abcdef01234567",
      "follow_latest": false,
      "collapsed": true,
      "ui": {
        "colour": "#ff0"
      }
    },
    {
      "id": "b",
      "skill_id": "plot",
      "position": {
        "x": 0,
        "y": 0
      },
      "params": {},
      "follow_latest": true
    }
  ],
  "edges": [
    {
      "source": "a",
      "source_port": "value",
      "target": "b",
      "target_port": "data",
      "label": "numbers"
    }
  ],
  "description": "kept",
  "version": 2
}
"##;

#[test]
fn canonical_file_round_trips_byte_for_byte() {
    let wf = Workflow::from_json(CANONICAL).unwrap();
    assert_eq!(wf.to_canonical_json(), CANONICAL);
}

#[test]
fn unknown_fields_are_kept_at_every_level() {
    let wf = Workflow::from_json(CANONICAL).unwrap();
    assert_eq!(wf.extra["description"], json!("kept"));
    assert_eq!(wf.extra["version"], json!(2));
    let a = &wf.nodes[0];
    assert_eq!(a.extra["collapsed"], json!(true));
    assert_eq!(a.extra["ui"], json!({"colour": "#ff0"}));
    assert_eq!(a.position.extra["z_index"], json!(3));
    assert_eq!(
        a.skill_commit.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(a.follow_latest, Some(false));
    assert_eq!(wf.edges[0].extra["label"], json!("numbers"));
    // Known fields are not duplicated into the unknown ones.
    assert!(!a.extra.contains_key("id") && !wf.extra.contains_key("nodes"));
}

#[test]
fn any_file_imports_to_the_same_value_and_exports_canonically() {
    let compact =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(CANONICAL).unwrap())
            .unwrap();
    let wf = Workflow::from_json(&compact).unwrap();
    assert_eq!(wf, Workflow::from_json(CANONICAL).unwrap());
    assert_eq!(wf.to_canonical_json(), CANONICAL);
}

#[test]
fn missing_optional_fields_get_their_canonical_defaults() {
    let wf = Workflow::from_json(
        r#"{"id":"w","nodes":[{"id":"a","skill_id":"s","position":{"x":1.0,"y":2}}]}"#,
    )
    .unwrap();
    let text = wf.to_canonical_json();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        back,
        json!({"id": "w", "name": "", "nodes": [{"id": "a", "skill_id": "s",
               "position": {"x": 1, "y": 2}, "params": {}}], "edges": []})
    );
    assert!(text.contains("\"x\": 1,"), "{text}");
    assert_eq!(
        Workflow::from_json(&text).unwrap().to_canonical_json(),
        text
    );
}

#[test]
fn value_round_trip_keeps_everything() {
    let wf = Workflow::from_json(CANONICAL).unwrap();
    assert_eq!(Workflow::from_value(wf.to_value()).unwrap(), wf);
}

#[test]
fn malformed_files_say_where() {
    let err = Workflow::from_json("{\n  \"nodes\": [\n    {\"id\": 1}\n  ]\n}").unwrap_err();
    let FormatError::Malformed { line, .. } = &err;
    assert_eq!(*line, 3, "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(Workflow::from_json("[]").is_err());
}

#[test]
fn missing_ids_are_left_to_validation() {
    let wf =
        Workflow::from_json(r#"{"nodes": [{"params": {}}], "edges": [{"source": "a"}]}"#).unwrap();
    let report = llmos_core::workflow::validate(&wf, &llmos_core::workflow::Catalog::new());
    let codes: Vec<_> = report.errors.iter().map(|e| (e.code, e.edge)).collect();
    use llmos_core::workflow::IssueCode as C;
    assert_eq!(
        codes,
        [
            (C::InvalidNodeId, None),
            (C::InvalidSkillId, None),
            (C::UnknownNode, Some(0)),
            (C::UnknownNode, Some(0)),
        ]
    );
}
