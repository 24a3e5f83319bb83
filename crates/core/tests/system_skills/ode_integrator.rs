//! Checks of `ode-integrator`, its Rust code block built natively: exact
//! and analytic solutions, the order of convergence, conservation of
//! energy, the expression grammar and errors naming the equation.

use serde_json::{Map, Value, json};

use crate::runtimes::{run, run_ok};
use crate::skill_file::SkillFile;

fn integrate(given: Value) -> Map<String, Value> {
    run_ok(&SkillFile::load("ode-integrator"), given)
}

fn failure(given: Value) -> String {
    run(&SkillFile::load("ode-integrator"), given).unwrap_err()
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
        .collect()
}

fn signal(out: &Map<String, Value>, name: &str) -> Vec<f64> {
    numbers(&out["trajectory"]["signals"][name])
}

fn time(out: &Map<String, Value>) -> Vec<f64> {
    numbers(&out["trajectory"]["time"])
}

fn final_value(out: &Map<String, Value>, name: &str) -> f64 {
    out["final_state"][name].as_f64().expect("a number")
}

#[test]
fn free_fall_is_exact_with_rk4() {
    // Runge-Kutta 4 integrates polynomials of degree 4 exactly: y = 20 - 5 t^2.
    let out = integrate(json!({
        "variables": ["y", "v"], "equations": ["v", "-g"], "initial": [20, 0],
        "parameters": {"g": 10}, "t1": 2, "steps": 4
    }));
    assert_eq!(time(&out), [0.0, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(signal(&out, "y"), [20.0, 18.75, 15.0, 8.75, 0.0]);
    assert_eq!(signal(&out, "v"), [0.0, -5.0, -10.0, -15.0, -20.0]);
    assert_eq!(out["final_state"], json!({"y": 0, "v": -20}));
    let signals: Vec<&String> = out["trajectory"]["signals"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(signals, ["v", "y"], "one signal per variable");
}

#[test]
fn exponential_decay_converges_with_the_fourth_power_of_the_step() {
    let error = |method: &str, steps: u32| -> f64 {
        let out = integrate(json!({
            "variables": ["x"], "equations": ["-k*x"], "initial": [1],
            "parameters": {"k": 0.5}, "t1": 4, "steps": steps, "method": method
        }));
        let worst = time(&out)
            .iter()
            .zip(signal(&out, "x"))
            .map(|(t, x)| (x - (-0.5 * t).exp()).abs())
            .fold(0.0, f64::max);
        assert_eq!(time(&out).len(), steps as usize + 1);
        worst
    };
    let (coarse, fine) = (error("rk4", 20), error("rk4", 40));
    let order = (coarse / fine).log2();
    assert!(
        (3.8..4.2).contains(&order),
        "rk4 order {order} ({coarse} / {fine})"
    );
    assert!(error("rk4", 2000) < 1e-13);
    let (coarse, fine) = (error("euler", 200), error("euler", 400));
    let order = (coarse / fine).log2();
    assert!((0.9..1.1).contains(&order), "euler order {order}");
}

#[test]
fn adaptive_steps_meet_the_tolerance() {
    for tolerance in [1e-4, 1e-7, 1e-10] {
        let out = integrate(json!({
            "variables": ["x"], "equations": ["-k*x"], "initial": [1], "parameters": {"k": 0.5},
            "t1": 4, "steps": 8, "method": "rk45", "tolerance": tolerance
        }));
        // rk45 lands exactly on the output times.
        assert_eq!(time(&out), [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]);
        let worst = time(&out)
            .iter()
            .zip(signal(&out, "x"))
            .map(|(t, x)| (x - (-0.5 * t).exp()).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 10.0 * tolerance,
            "tolerance {tolerance}: error {worst}"
        );
    }

    // A damped spring x'' = -4x - 0.4x' against its closed form.
    let out = integrate(json!({
        "variables": ["x", "v"], "equations": ["v", "-k*x - c*v"], "initial": [1, 0],
        "parameters": {"k": 4, "c": 0.4}, "t1": 10, "steps": 50, "method": "rk45", "tolerance": 1.0e-9
    }));
    let wd = (4.0f64 - 0.04).sqrt();
    for (t, x) in time(&out).iter().zip(signal(&out, "x")) {
        let exact = (-0.2 * t).exp() * ((wd * t).cos() + 0.2 / wd * (wd * t).sin());
        assert!((x - exact).abs() < 1e-7, "x({t}) = {x}, exact {exact}");
    }
}

#[test]
fn a_harmonic_oscillator_keeps_its_energy_with_rk4_but_not_with_euler() {
    // x'' = -w^2 x with w = 2: E = v^2/2 + w^2 x^2/2 = 2 throughout.
    let drift = |method: &str| -> f64 {
        let out = integrate(json!({
            "variables": ["x", "v"], "equations": ["v", "-w^2*x"], "initial": [1, 0],
            "parameters": {"w": 2}, "t1": 10, "steps": 2000, "method": method
        }));
        signal(&out, "x")
            .iter()
            .zip(signal(&out, "v"))
            .map(|(x, v)| ((0.5 * v * v + 2.0 * x * x) - 2.0).abs() / 2.0)
            .fold(0.0, f64::max)
    };
    let rk4 = drift("rk4");
    assert!(rk4 < 1e-9, "rk4 energy drift {rk4}");
    let euler = drift("euler");
    assert!(euler > 0.1, "explicit Euler gains energy: {euler}");
}

#[test]
fn formulas_follow_the_usual_precedence() {
    // One Euler step of size 1 from y = 0 gives y(1) = the formula at t = 0.
    let value = |formula: &str, parameters: Value| -> f64 {
        let out = integrate(json!({
            "variables": ["y"], "equations": [formula], "initial": [0],
            "parameters": parameters, "t1": 1, "steps": 1, "method": "euler"
        }));
        final_value(&out, "y")
    };
    for (formula, expected) in [
        ("-2^2", -4.0),
        ("2^3^2", 512.0),
        ("2^-1", 0.5),
        ("2 + 3*4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("8/2/2", 2.0),
        ("10 - 2 - 3", 5.0),
        ("--2", 2.0),
        ("2*-3", -6.0),
        ("1.5e1 + .5", 15.5),
        (
            "abs(-2) + sqrt(16) + exp(0) + ln(e) + cos(0) + sin(0) + tan(0)",
            9.0,
        ),
        ("2*pi", std::f64::consts::TAU),
        ("t + y", 0.0),
    ] {
        assert_eq!(value(formula, json!({})), expected, "{formula}");
    }
    assert_eq!(value("a*b - c", json!({"a": 3, "b": 4, "c": 0.5})), 11.5);
}

#[test]
fn equations_that_do_not_parse_are_refused_with_the_position() {
    let error = |formula: &str| -> String {
        failure(json!({
            "variables": ["x", "v"], "equations": ["v", formula], "initial": [1, 0],
            "parameters": {"k": 1}, "t1": 1
        }))
    };
    assert_eq!(
        error("-k*x - q"),
        "skill-invalid-equation: equations[1] `-k*x - q`, position 8: unknown name `q` (known: t, x, v, k, pi, e)"
    );
    assert!(
        error("2x").contains("position 2: expected an operator before `x` (write `*` to multiply)")
    );
    assert!(error("sin x").contains("position 1: `sin` is a function: write sin(…)"));
    assert!(error("(x + 1").contains("position 1: `(` is never closed"));
    assert!(error("x)").contains("position 2: `)` without a matching `(`"));
    assert!(error("x +").contains("position 4: the expression ends where a value is expected"));
    assert!(error("x # 2").contains("position 3: unexpected character `#`"));
    assert!(error("foo(x)").contains("unknown function `foo`"));
    assert!(error(" ").contains("equations[1] is empty"));
    let deep = format!("{}x{}", "(".repeat(100), ")".repeat(100));
    assert!(
        error(&deep).contains("nesting deeper than 64 levels"),
        "{}",
        error(&deep)
    );
}

#[test]
fn bad_inputs_are_refused_naming_them() {
    let base = || json!({"variables": ["x"], "equations": ["-x"], "initial": [1], "t1": 1});
    let with = |key: &str, value: Value| {
        let mut given = base();
        given[key] = value;
        failure(given)
    };
    assert!(
        with("initial", json!([1, 2]))
            .starts_with("skill-invalid-input: initial has 2 values but variables has 1")
    );
    assert!(
        with("equations", json!(["-x", "1"]))
            .starts_with("skill-invalid-input: equations has 2 entries")
    );
    assert!(with("variables", json!(["t"])).contains("variables[0] `t` is reserved"));
    assert!(with("variables", json!(["2x"])).contains("variables[0] `2x` is not a name"));
    assert!(
        with("parameters", json!({"x": 1}))
            .contains("parameter `x` is already the name of a variable")
    );
    assert!(with("parameters", json!({"k": "fast"})).contains("parameter `k` must be a number"));
    assert!(with("t1", json!(0)).contains("t1 (0) must be greater than t0 (0)"));
    assert!(with("steps", json!(0)).contains("steps must be from 1 to 100000"));
    assert!(with("method", json!("rk2")).contains("method must be euler, rk4 or rk45, got `rk2`"));
    assert!(with("tolerance", json!(0)).contains("tolerance must be greater than 0"));
    // The SDK refuses what does not fit a parameter's type before the code runs.
    assert!(with("steps", json!(2.5)).starts_with("skill-input-invalid: input `steps`"));
}

#[test]
fn blow_ups_stop_with_an_error_instead_of_infinite_values() {
    // x' = x^2 from x(0) = 1 is 1 / (1 - t): infinite at t = 1.
    let given = |method: &str| json!({"variables": ["x"], "equations": ["x^2"], "initial": [1], "t1": 2, "steps": 100, "method": method});
    let error = failure(given("rk4"));
    assert!(
        error.starts_with("skill-not-finite: `x` became inf at t = 1."),
        "{error}"
    );
    let error = failure(given("rk45"));
    assert!(
        error.starts_with("skill-too-many-steps: rk45's step size fell to"),
        "{error}"
    );
    assert!(
        error.contains("at t = 0.99") || error.contains("at t = 1.0"),
        "{error}"
    );
    let error =
        failure(json!({"variables": ["x"], "equations": ["ln(x - 2)"], "initial": [1], "t1": 1}));
    assert!(
        error.starts_with("skill-not-finite: `x` became NaN at t = 0.001"),
        "{error}"
    );
}
