//! Checks of the shipped system skills (`volumes/system/skills/`): every file
//! follows the format of `docs/skills.md`, and every executable skill, run
//! natively under the same contract as in the browser, computes the right
//! thing. Python skills run under `python3`, JavaScript and Three.js skills
//! under `node`, circuits under `ngspice`, and Rust components as native
//! programs built with cargo and the skill SDK; a missing tool fails the
//! test with install advice.

#[path = "system_skills/descriptive_statistics.rs"]
mod descriptive_statistics;
#[path = "system_skills/ode_integrator.rs"]
mod ode_integrator;
#[path = "system_skills/runtimes.rs"]
mod runtimes;
#[path = "system_skills/rust_skill.rs"]
mod rust_skill;
#[path = "system_skills/skill_file.rs"]
mod skill_file;
#[path = "system_skills/spice.rs"]
mod spice;
#[path = "system_skills/table_transform.rs"]
mod table_transform;

use std::collections::HashSet;

use llmos_core::types::{PortType, Runtime};
use serde_json::{Value, json};

use runtimes::{run, run_ok};
use skill_file::SkillFile;

/// House rules for shipped skills, beyond what the parser enforces for any
/// skill: these files are the first thing new users read.
fn problems(skill: &SkillFile) -> Vec<String> {
    let mut problems = Vec::new();
    let s = &skill.skill;
    if s.description().trim().is_empty() {
        problems.push("the description is empty".into());
    }
    if s.keywords().is_empty() {
        problems.push("`keywords` must be a non-empty list".into());
    }
    if s.keywords().iter().any(|k| *k != k.to_lowercase()) {
        problems.push("keywords must be lowercase".into());
    }
    let Some(runtime) = s.runtime() else {
        return problems;
    };
    for (key, ports) in [("inputs", s.inputs()), ("outputs", s.outputs())] {
        for port in ports {
            if port
                .description
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
            {
                problems.push(format!("{key} `{}`: missing description", port.name));
            }
        }
    }
    if s.outputs().is_empty() {
        problems.push("an executable skill has at least one output".into());
    }
    let output_types: Vec<PortType> = s.outputs().iter().map(|p| p.ty).collect();
    match runtime {
        Runtime::Threejs if !output_types.contains(&PortType::Mesh) => {
            problems.push("a threejs skill has a `mesh` output".into())
        }
        Runtime::Spice if output_types != [PortType::Waveform] => {
            problems.push("a spice skill has exactly one output, of type `waveform`".into())
        }
        _ => {}
    }
    problems
}

#[test]
fn every_system_skill_file_is_well_formed() {
    let skills = SkillFile::all();
    let mut report = Vec::new();
    for skill in &skills {
        for problem in problems(skill) {
            report.push(format!("{}: {problem}", skill.path.display()));
        }
    }
    assert!(
        report.is_empty(),
        "malformed system skills:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_documented_system_skills_are_shipped() {
    let ids: HashSet<String> = SkillFile::all().into_iter().map(|s| s.stem).collect();
    let expected = [
        ("python-coding", None),
        ("scientific-computing-python", None),
        ("workflow-design", None),
        ("skill-authoring", None),
        ("quantum-vqe-node", Some("python-wasm")),
        ("text-statistics-node", Some("python-wasm")),
        ("threejs-cube-node", Some("threejs")),
        ("data-plot-node", Some("javascript")),
        ("json-transform-node", Some("javascript")),
        ("circuit-rc-node", Some("spice")),
        ("ode-integrator", Some("wasm-component")),
        ("table-transform", Some("javascript")),
        ("descriptive-statistics", Some("python-wasm")),
    ];
    for (id, ty) in expected {
        assert!(ids.contains(id), "missing system skill {id}");
        assert_eq!(SkillFile::load(id).skill_type(), ty, "type of {id}");
    }
}

#[test]
fn compiled_system_skills_build_from_their_code_block() {
    use llmos_core::skill::component::{self, Language};
    for (id, language) in [
        ("ode-integrator", Language::Rust),
        ("table-transform", Language::Javascript),
        ("descriptive-statistics", Language::Python),
    ] {
        let skill = SkillFile::load(id).skill;
        assert_eq!(Language::of(&skill), Some(language), "{id}");
        assert!(component::source_digest(&skill).is_some(), "{id}");
    }
    // The others run as source in the browser.
    let interpreted = SkillFile::load("json-transform-node").skill;
    assert_eq!(Language::of(&interpreted), None);
}

#[test]
fn checks_find_problems_in_a_malformed_skill() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("malformed-skill");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken-node.md");
    let text = "---\nskill_id: broken-node\nname: Broken\ntype: threejs\n\
                category: test\ndescription: Broken on purpose.\nkeywords: [Test]\ninputs:\n  - name: x\n    \
                type: number\n    default: 1\noutputs:\n  - name: n\n    type: number\n---\n# Broken\n\n\
                ```javascript\nfunction execute(inputs) { return { n: 1 }; }\n```\n";
    std::fs::write(&path, text).unwrap();
    let found = problems(&SkillFile::read(&path).unwrap()).join("\n");
    for expected in [
        "keywords must be lowercase",
        "inputs `x`: missing description",
        "a threejs skill has a `mesh` output",
    ] {
        assert!(
            found.contains(expected),
            "expected `{expected}` among:\n{found}"
        );
    }
    let renamed = dir.join("other-node.md");
    std::fs::write(&renamed, text).unwrap();
    let err = SkillFile::read(&renamed)
        .err()
        .expect("a file named after another id is refused");
    assert!(err.contains("broken-node"), "{err}");
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

// --- quantum-vqe-node -------------------------------------------------------

/// Exact ground state of the two-qubit H2 Hamiltonian plus nuclear repulsion.
const H2_GROUND_STATE_HA: f64 = -1.137;

#[test]
fn vqe_reaches_the_h2_ground_state_with_default_inputs() {
    let out = run_ok(&SkillFile::load("quantum-vqe-node"), json!({}));
    let energy = out["energy"].as_f64().unwrap();
    let exact = out["exact_energy"].as_f64().unwrap();
    assert!(
        (energy - H2_GROUND_STATE_HA).abs() < 1e-3,
        "energy {energy}"
    );
    assert!(
        (exact - H2_GROUND_STATE_HA).abs() < 1e-3,
        "exact energy {exact}"
    );
    assert!(
        (energy - exact).abs() < 1e-3,
        "VQE {energy} vs exact {exact}"
    );
    // Variational principle: no trial state lies below the ground state.
    assert!(energy >= exact - 1e-12, "VQE {energy} below exact {exact}");

    let convergence = numbers(&out["convergence"]);
    let iterations = out["iterations"].as_u64().unwrap() as usize;
    assert_eq!(
        convergence.len(),
        iterations + 1,
        "start plus one energy per step"
    );
    assert!(
        convergence[0] - energy > 0.5,
        "the default start is far from the optimum"
    );
    assert!(
        convergence.windows(2).all(|w| w[1] <= w[0] + 1e-12),
        "energy never rises"
    );
    assert_eq!(*convergence.last().unwrap(), energy);

    assert_eq!(numbers(&out["parameters"]).len(), 4);
    let state = out["state"].as_array().unwrap();
    let bases: Vec<&str> = state.iter().map(|s| s["basis"].as_str().unwrap()).collect();
    assert_eq!(bases, ["00", "01", "10", "11"]);
    let probabilities: Vec<f64> = state
        .iter()
        .map(|s| s["probability"].as_f64().unwrap())
        .collect();
    assert!(
        (probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9,
        "{probabilities:?}"
    );
    // The ground state is mostly the Hartree-Fock configuration |01>.
    assert!(probabilities[1] > 0.95, "{probabilities:?}");
}

#[test]
fn vqe_iterations_and_start_are_inputs() {
    let vqe = SkillFile::load("quantum-vqe-node");
    let out = run_ok(&vqe, json!({ "max_iterations": 5 }));
    assert_eq!(out["iterations"], json!(5));
    assert_eq!(numbers(&out["convergence"]).len(), 6);

    // All-zero angles are a saddle point: the gradient vanishes, nothing moves.
    let stuck = run_ok(&vqe, json!({ "initial_theta": [0, 0, 0, 0] }));
    assert!(
        stuck["energy"].as_f64().unwrap() > -0.6,
        "{}",
        stuck["energy"]
    );

    // The runtime refuses a value of the wrong type before running anything.
    let error = run(&vqe, json!({ "learning_rate": "fast" })).unwrap_err();
    assert_eq!(
        error,
        "input `learning_rate` must be a number, got \"fast\""
    );

    let error = run(&vqe, json!({ "initial_theta": [0.1, 0.2] })).unwrap_err();
    assert!(error.starts_with("ValueError: initial_theta"), "{error}");
}

// --- text-statistics-node ---------------------------------------------------

#[test]
fn text_statistics_counts_a_known_text() {
    let text = "The quick brown fox jumps over the lazy dog. The dog sleeps! Does the fox care?";
    let out = run_ok(
        &SkillFile::load("text-statistics-node"),
        json!({ "text": text, "top_n": 3 }),
    );
    assert_eq!(out["characters"], json!(79));
    assert_eq!(out["words"], json!(16));
    assert_eq!(out["unique_words"], json!(11));
    assert_eq!(out["sentences"], json!(3));
    // the quick brown fox jumps o-ver the la-zy dog | the dog sleeps | does the fox care
    assert_eq!(out["syllables"], json!(18));
    assert_eq!(
        out["top_words"],
        json!([{"word": "dog", "count": 2}, {"word": "fox", "count": 2}, {"word": "brown", "count": 1}])
    );
    let words_per_sentence = 16.0 / 3.0;
    let syllables_per_word = 18.0 / 16.0;
    let ease = 206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word;
    let grade = 0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59;
    assert!((out["flesch_reading_ease"].as_f64().unwrap() - ease).abs() < 1e-3);
    assert!((out["flesch_kincaid_grade"].as_f64().unwrap() - grade).abs() < 1e-3);
    assert!((out["average_sentence_length"].as_f64().unwrap() - words_per_sentence).abs() < 1e-3);
}

#[test]
fn text_statistics_keeps_stopwords_on_request_and_splits_sentences_carefully() {
    let skill = SkillFile::load("text-statistics-node");
    let text = "Pi is about 3.14, isn't it? \"Yes!\" she said... Well-known facts stay known";
    let out = run_ok(
        &skill,
        json!({ "text": text, "top_n": 1, "skip_stopwords": false }),
    );
    // `3.14` does not end a sentence; `?`, `!"` and `...` do; the tail counts.
    assert_eq!(out["sentences"], json!(4));
    // pi is about 3 14 isn't it yes she said well-known facts stay known
    assert_eq!(out["words"], json!(14));
    assert_eq!(out["top_words"], json!([{"word": "14", "count": 1}]));

    let error = run(&skill, json!({ "text": " ... !? " })).unwrap_err();
    assert!(error.contains("no words"), "{error}");
}

// --- data-plot-node ---------------------------------------------------------

#[test]
fn data_plot_turns_arrays_into_a_line_plot_spec() {
    let plot = SkillFile::load("data-plot-node");
    let out = run_ok(&plot, json!({ "y": [3, 1, 2], "title": "t" }));
    assert_eq!(
        out["plot"],
        json!({
            "type": "line-plot", "title": "t", "x_label": "x", "y_label": "y",
            "series": [{"name": "y", "x": [0, 1, 2], "y": [3, 1, 2]}]
        })
    );

    let out = run_ok(
        &plot,
        json!({ "y": [[1, 2], [3, 4]], "x": [0.5, 1.5], "series_names": ["a", "b"], "y_label": "V" }),
    );
    let series = out["plot"]["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(
        series[1],
        json!({"name": "b", "x": [0.5, 1.5], "y": [3, 4]})
    );
    assert_eq!(out["plot"]["y_label"], json!("V"));
}

#[test]
fn data_plot_names_the_bad_value() {
    let plot = SkillFile::load("data-plot-node");
    let error = run(&plot, json!({ "y": [1, "two", 3] })).unwrap_err();
    assert_eq!(error, "TypeError: y[1] is \"two\", not a finite number");
    let error = run(&plot, json!({ "y": [1, 2], "x": [1] })).unwrap_err();
    assert!(error.starts_with("RangeError: x has 1 values"), "{error}");
}

// --- json-transform-node ----------------------------------------------------

#[test]
fn json_transform_filters_sorts_limits_selects_and_renames() {
    let cities = json!([
        {"name": "Oslo", "population": 709000, "geo": {"country": "NO"}},
        {"name": "Lagos", "population": 15300000, "geo": {"country": "NG"}},
        {"name": "Lima", "population": 10900000, "geo": {"country": "PE"}},
        {"name": "Quito", "population": 2800000, "geo": {"country": "EC"}},
        {"name": "Atlantis"}
    ]);
    let out = run_ok(
        &SkillFile::load("json-transform-node"),
        json!({
            "data": cities,
            "where": [{"field": "population", "op": ">", "value": 1000000}],
            "sort_by": "-population",
            "limit": 2,
            "select": ["name", "geo.country"],
            "rename": {"geo.country": "country"},
            "column": "country"
        }),
    );
    assert_eq!(
        out["result"],
        json!([{"name": "Lagos", "country": "NG"}, {"name": "Lima", "country": "PE"}])
    );
    assert_eq!(out["count"], json!(2));
    assert_eq!(out["column_values"], json!(["NG", "PE"]));
}

#[test]
fn json_transform_conditions_and_missing_fields() {
    let skill = SkillFile::load("json-transform-node");
    let rows = json!([{"k": "a", "tags": ["x"]}, {"k": "b"}, {"k": 1}]);
    let names = |given: Value| -> Value {
        let mut given = given;
        given["data"] = rows.clone();
        given["column"] = json!("k");
        run_ok(&skill, given)["column_values"].clone()
    };
    assert_eq!(
        names(json!({"where": [{"field": "tags", "op": "contains", "value": "x"}]})),
        json!(["a"])
    );
    assert_eq!(
        names(json!({"where": [{"field": "tags", "op": "exists", "value": false}]})),
        json!(["b", 1])
    );
    assert_eq!(
        names(json!({"where": [{"field": "k", "op": "in", "value": ["b", 1]}]})),
        json!(["b", 1])
    );
    assert_eq!(
        names(json!({"where": [{"field": "k", "op": "!=", "value": "a"}]})),
        json!(["b", 1])
    );
    // Numbers sort before strings.
    assert_eq!(names(json!({"sort_by": "k"})), json!([1, "a", "b"]));

    let error = run(
        &skill,
        json!({"data": rows, "where": [{"field": "k", "op": "~"}]}),
    )
    .unwrap_err();
    assert!(
        error.starts_with("RangeError: where[0].op must be one of"),
        "{error}"
    );
}

// --- threejs-cube-node ------------------------------------------------------

#[test]
fn cube_scene_has_one_box_of_the_given_size_and_colour() {
    let out = run_ok(
        &SkillFile::load("threejs-cube-node"),
        json!({ "size": 2.5, "color": "#FF8800", "speed": 0.5 }),
    );
    let scene = &out["mesh"];
    assert_eq!(scene["type"], json!("scene"));
    let objects = scene["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{scene}");
    assert_eq!(
        objects[0]["geometry"],
        json!({"kind": "box", "width": 2.5, "height": 2.5, "depth": 2.5})
    );
    assert_eq!(objects[0]["material"]["color"], json!("#ff8800"));
    // 0.5 turns per second = π radians per second about y.
    let spin = numbers(&objects[0]["spin"]);
    assert!((spin[1] - std::f64::consts::PI).abs() < 1e-12, "{spin:?}");
    assert_eq!(numbers(&scene["camera"]["position"]).len(), 3);
    assert!(!scene["lights"].as_array().unwrap().is_empty());
}

#[test]
fn cube_accepts_css_names_and_short_hex() {
    let cube = SkillFile::load("threejs-cube-node");
    let colour = |c: &str| {
        run_ok(&cube, json!({ "color": c }))["mesh"]["objects"][0]["material"]["color"].clone()
    };
    assert_eq!(colour("steelblue"), json!("#4682b4"));
    assert_eq!(colour(" Orange "), json!("#ffa500"));
    assert_eq!(colour("#0f8"), json!("#00ff88"));
}

#[test]
fn cube_refuses_a_bad_colour_with_a_clear_error() {
    let cube = SkillFile::load("threejs-cube-node");
    let error = run(&cube, json!({ "color": "blurple" })).unwrap_err();
    assert!(
        error.starts_with("Error: color must be #rrggbb, #rgb or one of"),
        "{error}"
    );
    assert!(
        error.contains("steelblue") && error.ends_with("got \"blurple\""),
        "{error}"
    );
    let error = run(&cube, json!({ "size": 0 })).unwrap_err();
    assert_eq!(error, "RangeError: size must be greater than 0");
    let error = run(&cube, json!({ "size": -1 })).unwrap_err();
    assert!(
        error.starts_with("RangeError: size must be between"),
        "{error}"
    );
}

// --- circuit-rc-node --------------------------------------------------------

/// 1 − 1/e: the fraction of a step an RC low-pass reaches after one τ.
const ONE_TIME_CONSTANT: f64 = 0.632_120_558_828_557_7;

fn check_rc_charge(given: Value, r: f64, c: f64, vin: f64) {
    let rc = SkillFile::load("circuit-rc-node");
    let waveform = run_ok(&rc, given)["waveform"].clone();
    let signals: Vec<&String> = waveform["signals"].as_object().unwrap().keys().collect();
    assert_eq!(signals, ["v(in)", "v(out)"]);
    let tau = r * c;
    let at_tau = spice::sample_at(&waveform, "v(out)", tau);
    let expected = ONE_TIME_CONSTANT * vin;
    assert!(
        (at_tau - expected).abs() < 0.05 * expected,
        "v(out)({tau} s) = {at_tau} V, expected {expected} V for R = {r}, C = {c}"
    );
    let at_three_tau = spice::sample_at(&waveform, "v(out)", 3.0 * tau);
    assert!(
        (at_three_tau - 0.950 * vin).abs() < 0.05 * vin,
        "v(out)(3τ) = {at_three_tau}"
    );
    assert!((spice::sample_at(&waveform, "v(in)", tau) - vin).abs() < 1e-6 * vin.abs().max(1.0));
}

#[test]
fn rc_lowpass_reaches_63_percent_after_one_time_constant() {
    // Defaults: R = 1 kΩ, C = 1 µF, a 1 V step, 5 ms.
    check_rc_charge(json!({}), 1000.0, 1e-6, 1.0);
}

#[test]
fn rc_lowpass_time_constant_follows_r_and_c() {
    check_rc_charge(
        json!({ "R": 4700, "C": 2.2e-7, "vin": 5.0, "stop_time": 6e-3 }),
        4700.0,
        2.2e-7,
        5.0,
    );
}

#[test]
fn spice_inputs_cannot_inject_cards() {
    let rc = SkillFile::load("circuit-rc-node");
    let attack = "1k\n.control\nshell touch /tmp/pwned\n.endc";
    let error = run(&rc, json!({ "R": attack })).unwrap_err();
    assert!(error.starts_with("input `R` must be a number"), "{error}");
}
