//! Checks of `descriptive-statistics`, run under `python3`: textbook data
//! sets with published results, and statistics recomputed here from their
//! definitions.

use serde_json::{Map, Value, json};

use crate::runtimes::{run, run_ok};
use crate::skill_file::SkillFile;

fn statistics(given: Value) -> Map<String, Value> {
    run_ok(&SkillFile::load("descriptive-statistics"), given)
}

fn number(out: &Map<String, Value>, key: &str) -> f64 {
    out[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number: {}", out[key]))
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
        .collect()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    let scale = expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= 1e-12 * scale,
        "{what}: {actual}, expected {expected}"
    );
}

#[test]
fn statistics_of_a_textbook_sample() {
    // The standard example of a population standard deviation of 2.
    let out = statistics(json!({ "values": [2, 4, 4, 4, 5, 5, 7, 9] }));
    assert_eq!(number(&out, "count"), 8.0);
    assert_eq!(number(&out, "sum"), 40.0);
    assert_eq!(number(&out, "mean"), 5.0);
    assert_eq!(number(&out, "median"), 4.5);
    assert_eq!(numbers(&out["modes"]), [4.0]);
    assert_eq!(number(&out, "min"), 2.0);
    assert_eq!(number(&out, "max"), 9.0);
    assert_eq!(number(&out, "range"), 7.0);
    assert_eq!(number(&out, "population_variance"), 4.0);
    assert_eq!(number(&out, "population_std_dev"), 2.0);
    assert_close(number(&out, "variance"), 32.0 / 7.0, "sample variance");
    assert_close(
        number(&out, "std_dev"),
        (32.0f64 / 7.0).sqrt(),
        "sample std dev",
    );
    // Type 7: Q1 at position 1.75, Q3 at 5.25 of the sorted values.
    assert_eq!(numbers(&out["quartiles"]), [4.0, 4.5, 5.5]);
    assert_eq!(number(&out, "iqr"), 1.5);
    // 5th percentile at position 0.35 (2 + 0.35 * 2), 95th at 6.65.
    let p = numbers(&out["percentile_values"]);
    assert_close(p[0], 2.7, "5th percentile");
    assert_close(p[1], 8.3, "95th percentile");
    // Sturges: ceil(log2 8) + 1 = 4 bins of width 7/4.
    assert_eq!(
        out["histogram"],
        json!({"edges": [2.0, 3.75, 5.5, 7.25, 9.0], "counts": [1, 5, 1, 1]})
    );
    for key in ["covariance", "correlation", "regression"] {
        assert_eq!(out[key], Value::Null, "{key} without paired values");
    }
}

#[test]
fn skewness_and_kurtosis_match_the_spreadsheet_definitions() {
    // The data of the SKEW and KURT examples of spreadsheet manuals:
    // SKEW = 0.359543, KURT = -0.151799637.
    let data = [3.0, 4.0, 5.0, 2.0, 3.0, 4.0, 5.0, 6.0, 4.0, 7.0];
    let out = statistics(json!({ "values": data }));
    let skewness = number(&out, "skewness");
    let kurtosis = number(&out, "kurtosis");
    assert!((skewness - 0.359543).abs() < 1e-6, "skewness {skewness}");
    assert!((kurtosis + 0.151799637).abs() < 1e-9, "kurtosis {kurtosis}");

    // The same from the moment definitions, here.
    let n = data.len() as f64;
    let mean = data.iter().sum::<f64>() / n;
    let moment = |k: i32| data.iter().map(|x| (x - mean).powi(k)).sum::<f64>() / n;
    let g1 = moment(3) / moment(2).powf(1.5);
    let g2 = moment(4) / moment(2).powi(2) - 3.0;
    assert_close(skewness, g1 * (n * (n - 1.0)).sqrt() / (n - 2.0), "G1");
    assert_close(
        kurtosis,
        ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0)),
        "G2",
    );

    // Undefined shapes are null, not invented numbers.
    let flat = statistics(json!({ "values": [5, 5, 5, 5] }));
    assert_eq!(flat["skewness"], Value::Null);
    assert_eq!(flat["kurtosis"], Value::Null);
    assert_eq!(number(&flat, "std_dev"), 0.0);
    let three = statistics(json!({ "values": [1, 2, 4] }));
    assert!(three["skewness"].is_number(), "{}", three["skewness"]);
    assert_eq!(three["kurtosis"], Value::Null, "kurtosis needs four values");
}

#[test]
fn paired_statistics_of_anscombes_first_data_set() {
    // Anscombe (1973), data set I: mean x 9, variance of x 11, mean y 7.50,
    // variance of y 4.127, correlation 0.816, line y = 3.00 + 0.500 x.
    let x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
    let y = [
        8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
    ];
    let out = statistics(json!({ "values": x, "paired_values": y }));
    assert_eq!(number(&out, "mean"), 9.0);
    assert_eq!(number(&out, "variance"), 11.0);
    let correlation = number(&out, "correlation");
    assert!((correlation - 0.816).abs() < 5e-4, "r = {correlation}");
    let line = &out["regression"];
    let slope = line["slope"].as_f64().unwrap();
    let intercept = line["intercept"].as_f64().unwrap();
    assert!((slope - 0.5).abs() < 5e-4, "slope {slope}");
    assert!((intercept - 3.0).abs() < 5e-3, "intercept {intercept}");
    let r_squared = line["r_squared"].as_f64().unwrap();
    assert_close(r_squared, correlation * correlation, "r squared");

    // Recomputed here: Sxy / (n - 1) and Sxy / sqrt(Sxx Syy).
    let n = x.len() as f64;
    let xs: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = xs.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    assert_close(number(&out, "covariance"), sxy / (n - 1.0), "covariance");
    assert_close(correlation, sxy / (sxx * syy).sqrt(), "correlation");
    assert_close(slope, sxy / sxx, "slope");
    assert_close(intercept, my - sxy / sxx * mx, "intercept");
}

#[test]
fn points_on_a_line_correlate_perfectly() {
    let x: Vec<f64> = (0..20).map(f64::from).collect();
    let falling: Vec<f64> = x.iter().map(|v| 3.0 - 2.0 * v).collect();
    let out = statistics(json!({ "values": x, "paired_values": falling }));
    assert_eq!(number(&out, "correlation"), -1.0);
    assert_eq!(
        out["regression"],
        json!({"slope": -2.0, "intercept": 3.0, "r_squared": 1.0})
    );

    // A constant y has no correlation; the line through it is flat.
    let out = statistics(json!({ "values": [1, 2, 3], "paired_values": [4, 4, 4] }));
    assert_eq!(out["correlation"], Value::Null);
    assert_eq!(
        out["regression"],
        json!({"slope": 0.0, "intercept": 4.0, "r_squared": null})
    );
    assert_eq!(number(&out, "covariance"), 0.0);
    // A constant x has no line at all.
    let out = statistics(json!({ "values": [2, 2, 2], "paired_values": [1, 5, 9] }));
    assert_eq!(out["regression"], Value::Null);
}

#[test]
fn a_large_offset_costs_no_precision() {
    // The classic cancellation trap: 1e9 + {4, 7, 13, 16} has variance 30.
    let out = statistics(json!({ "values": [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0] }));
    assert_eq!(number(&out, "variance"), 30.0);
    assert_eq!(number(&out, "population_variance"), 22.5);
    assert_eq!(number(&out, "mean"), 1e9 + 10.0);
}

#[test]
fn percentiles_interpolate_between_order_statistics() {
    // 1..=101 (shuffled): the p-th percentile of type 7 is exactly 1 + p.
    let values: Vec<f64> = (0..101).map(|i| f64::from((i * 37) % 101 + 1)).collect();
    let out = statistics(json!({ "values": values, "percentiles": [0, 10, 33, 50, 99.5, 100] }));
    assert_eq!(
        numbers(&out["percentile_values"]),
        [1.0, 11.0, 34.0, 51.0, 100.5, 101.0]
    );
    assert_eq!(numbers(&out["quartiles"]), [26.0, 51.0, 76.0]);
    assert_eq!(number(&out, "median"), 51.0);
    assert_eq!(out["modes"], json!([]), "no value repeats");

    // Four values: Q1 sits a quarter of the way from the 1st to the 2nd.
    let out = statistics(json!({ "values": [10, 20, 30, 40], "percentiles": [25, 90] }));
    assert_eq!(numbers(&out["quartiles"]), [17.5, 25.0, 32.5]);
    assert_eq!(numbers(&out["percentile_values"]), [17.5, 37.0]);
}

#[test]
fn histogram_bins_follow_the_rule_or_the_count() {
    let values: Vec<f64> = (0..100).map(f64::from).collect();
    let bins = |given: Value| -> (Vec<f64>, Vec<f64>) {
        let mut given = given;
        given["values"] = json!(values);
        let out = statistics(given);
        let edges = numbers(&out["histogram"]["edges"]);
        let counts = numbers(&out["histogram"]["counts"]);
        assert_eq!(edges.len(), counts.len() + 1, "one more edge than bins");
        assert_eq!(
            counts.iter().sum::<f64>(),
            100.0,
            "every value is counted once"
        );
        assert_eq!((edges[0], *edges.last().unwrap()), (0.0, 99.0));
        (edges, counts)
    };
    // ceil(log2 100) + 1 = 8; ceil(sqrt 100) = 10; ceil(2 * 100^(1/3)) = 10.
    assert_eq!(bins(json!({})).1.len(), 8);
    assert_eq!(bins(json!({"bin_rule": "sqrt"})).1.len(), 10);
    assert_eq!(bins(json!({"bin_rule": "rice"})).1.len(), 10);
    // Scott: width 3.49 s n^(-1/3); Freedman-Diaconis: 2 IQR n^(-1/3).
    let n = 100.0f64;
    let s = (values.iter().map(|v| (v - 49.5).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let scott = (99.0 / (3.49 * s * n.powf(-1.0 / 3.0))).ceil() as usize;
    assert_eq!(bins(json!({"bin_rule": "scott"})).1.len(), scott);
    let fd = (99.0 / (2.0 * 49.5 * n.powf(-1.0 / 3.0))).ceil() as usize;
    assert_eq!(bins(json!({"bin_rule": "freedman-diaconis"})).1.len(), fd);

    let (edges, counts) = bins(json!({"bins": 3}));
    assert_eq!(edges, [0.0, 33.0, 66.0, 99.0]);
    // [0, 33) [33, 66) [66, 99]: the maximum belongs to the last bin.
    assert_eq!(counts, [33.0, 33.0, 34.0]);

    let same = statistics(json!({ "values": [7, 7], "bins": 2 }));
    assert_eq!(
        same["histogram"],
        json!({"edges": [6.5, 7.0, 7.5], "counts": [0, 2]})
    );
}

#[test]
fn statistics_refuse_bad_input_naming_it() {
    let skill = SkillFile::load("descriptive-statistics");
    let error = |given: Value| run(&skill, given).unwrap_err();
    assert_eq!(
        error(json!({ "values": [1] })),
        "ValueError: values has 1 number; statistics need at least two"
    );
    assert_eq!(
        error(json!({ "values": [1, "2", 3] })),
        "TypeError: values[1] is \"2\", not a number"
    );
    assert_eq!(
        error(json!({ "values": [1, null] })),
        "TypeError: values[1] is null, not a number"
    );
    assert!(
        error(json!({ "values": [1, 2], "paired_values": [1] }))
            .starts_with("ValueError: paired_values has 1 number but values has 2"),
    );
    assert!(error(json!({ "values": [1, 2], "percentiles": [101] })).contains("percentiles[0]"));
    assert!(
        error(json!({ "values": [1, 2], "bins": 2.5 }))
            .starts_with("TypeError: bins must be a whole number")
    );
    assert!(
        error(json!({ "values": [1, 2], "bin_rule": "auto" })).contains("bin_rule must be one of")
    );
    for huge in [json!([1e200, -1e200, 3]), json!([1e300, -1e300])] {
        assert!(
            error(json!({ "values": huge })).contains("too large for double precision"),
            "{huge}"
        );
    }
    assert!(
        error(json!({ "values": [1, 2], "paired_values": [1e200, -1e200] }))
            .contains("too large for double precision")
    );
}
