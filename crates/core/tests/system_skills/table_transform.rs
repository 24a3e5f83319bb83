//! Checks of `table-transform`, run under `node`: RFC 4180 quoting, the
//! order of the steps, group-by aggregates recomputed here, and errors that
//! name the line or the column.

use serde_json::{Map, Value, json};

use crate::runtimes::{run, run_ok};
use crate::skill_file::SkillFile;

fn transform(given: Value) -> Map<String, Value> {
    run_ok(&SkillFile::load("table-transform"), given)
}

fn failure(given: Value) -> String {
    run(&SkillFile::load("table-transform"), given).unwrap_err()
}

/// Quoted delimiters, doubled quotes, a line break inside quotes, CRLF
/// line ends, an empty field, a quoted number and a leading zero.
const ORDERS: &str = "id,customer,note,amount\r\n\
    1,\"Smith, Jane\",\"said \"\"rush\"\"\",12.5\r\n\
    2,Lee,\"two\nlines\",7\r\n\
    3,\"Smith, Jane\",,0.5\r\n\
    4,Okafor,plain,\"40\"\r\n\
    5,Lee,007,\r\n";

#[test]
fn reads_rfc_4180_quoting() {
    let out = transform(json!({ "table": ORDERS }));
    assert_eq!(out["columns"], json!(["id", "customer", "note", "amount"]));
    assert_eq!(out["row_count"], json!(5));
    assert_eq!(
        out["rows"],
        json!([
            {"id": 1, "customer": "Smith, Jane", "note": "said \"rush\"", "amount": 12.5},
            {"id": 2, "customer": "Lee", "note": "two\nlines", "amount": 7},
            {"id": 3, "customer": "Smith, Jane", "note": null, "amount": 0.5},
            // Quoted fields and leading zeros stay text.
            {"id": 4, "customer": "Okafor", "note": "plain", "amount": "40"},
            {"id": 5, "customer": "Lee", "note": "007", "amount": null}
        ])
    );

    let text = transform(json!({ "table": ORDERS, "parse_numbers": false }));
    assert_eq!(text["rows"][0]["amount"], json!("12.5"));
    assert_eq!(text["rows"][2]["note"], json!(""));
}

#[test]
fn writes_csv_that_reads_back_to_the_same_rows() {
    let out = transform(json!({ "table": ORDERS }));
    let csv = out["csv"].as_str().unwrap();
    assert_eq!(
        csv,
        "id,customer,note,amount\n\
         1,\"Smith, Jane\",\"said \"\"rush\"\"\",12.5\n\
         2,Lee,\"two\nlines\",7\n\
         3,\"Smith, Jane\",,0.5\n\
         4,Okafor,plain,\"40\"\n\
         5,Lee,007,\n"
    );
    let again = transform(json!({ "table": csv }));
    assert_eq!(again["rows"], out["rows"]);
    assert_eq!(again["columns"], out["columns"]);
}

#[test]
fn groups_and_aggregates_per_distinct_key() {
    let sales = "region,product,units,price\n\
        North,\"Widget, large\",3,2.5\n\
        South,Widget,5,1.5\n\
        North,Gadget,1,10\n\
        West,Gadget,,4\n\
        South,Gadget,2,10\n";
    let out = transform(json!({
        "table": sales,
        "group_by": ["region"],
        "aggregates": [
            "count",
            {"column": "units", "function": "sum", "as": "units"},
            "mean(price)",
            "min(product)",
            "max(units)",
            "count(units)"
        ]
    }));
    assert_eq!(
        out["columns"],
        json!([
            "region",
            "count",
            "units",
            "mean_price",
            "min_product",
            "max_units",
            "count_units"
        ])
    );

    // The same sums, counts and means computed here, per region in order
    // of first appearance.
    let rows: Vec<(&str, Option<f64>, f64)> = vec![
        ("North", Some(3.0), 2.5),
        ("South", Some(5.0), 1.5),
        ("North", Some(1.0), 10.0),
        ("West", None, 4.0),
        ("South", Some(2.0), 10.0),
    ];
    let result = out["rows"].as_array().unwrap();
    let regions: Vec<&str> = result
        .iter()
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["North", "South", "West"]);
    for row in result {
        let region = row["region"].as_str().unwrap();
        let group: Vec<_> = rows.iter().filter(|r| r.0 == region).collect();
        let units: Vec<f64> = group.iter().filter_map(|r| r.1).collect();
        let prices: Vec<f64> = group.iter().map(|r| r.2).collect();
        assert_eq!(row["count"], json!(group.len()), "{region}");
        assert_eq!(row["units"].as_f64(), Some(units.iter().sum()), "{region}");
        assert_eq!(row["count_units"], json!(units.len()), "{region}");
        assert_eq!(
            row["mean_price"].as_f64(),
            Some(prices.iter().sum::<f64>() / prices.len() as f64),
            "{region}"
        );
        let max = units.iter().copied().reduce(f64::max);
        assert_eq!(row["max_units"].as_f64(), max, "{region}");
    }
    // Text compares by character codes: "Gadget" < "Widget, large".
    assert_eq!(result[0]["min_product"], json!("Gadget"));
    // West has no units: the max of nothing is null, the sum 0.
    assert_eq!(result[2]["max_units"], Value::Null);
    assert_eq!(result[2]["units"], json!(0));

    // Aggregates alone summarise the whole table in one row.
    let total = transform(json!({ "table": sales, "aggregates": ["sum(units)", "count"] }));
    assert_eq!(total["rows"], json!([{"sum_units": 11, "count": 5}]));
    // Grouping alone counts.
    let counted = transform(
        json!({ "table": sales, "group_by": ["product"], "sort": ["-count", "product"] }),
    );
    assert_eq!(
        counted["csv"],
        json!("product,count\nGadget,3\nWidget,1\n\"Widget, large\",1\n")
    );
}

#[test]
fn filters_sort_limit_select_and_rename_in_order() {
    let people = json!([
        {"name": "Ada", "age": 36, "city": "London"},
        {"name": "Linus", "age": "21", "city": "Helsinki"},
        {"name": "Grace", "age": 85, "city": "New York"},
        {"name": "Alan", "city": "London"},
        {"name": "Barbara", "age": 9, "city": "Boston"}
    ]);
    let names = |given: Value| -> Vec<String> {
        let mut given = given;
        given["table"] = people.clone();
        transform(given)["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Numbers, and text written like one, compare numerically: "21" < 36.
    assert_eq!(
        names(json!({"filter": [{"column": "age", "op": "<", "value": 40}]})),
        ["Ada", "Linus", "Barbara"]
    );
    assert_eq!(
        names(json!({"filter": [{"column": "age", "op": ">=", "value": "36"}]})),
        ["Ada", "Grace"]
    );
    // A missing cell is null: it equals only null and fails comparisons.
    assert_eq!(
        names(json!({"filter": [{"column": "age", "op": "=", "value": null}]})),
        ["Alan"]
    );
    assert_eq!(
        names(json!({"filter": [{"column": "age", "op": "!=", "value": 36}]})),
        ["Linus", "Grace", "Alan", "Barbara"]
    );
    assert_eq!(
        names(json!({"filter": [
            {"column": "city", "op": "contains", "value": "on"},
            {"column": "name", "op": "!=", "value": "Alan"}
        ]})),
        ["Ada", "Barbara"]
    );
    // Numeric order, not text order (9 < 21 < 36); null last both ways.
    assert_eq!(
        names(json!({"sort": ["age"]})),
        ["Barbara", "Linus", "Ada", "Grace", "Alan"]
    );
    assert_eq!(
        names(json!({"sort": [{"column": "age", "order": "desc"}]})),
        ["Grace", "Ada", "Linus", "Barbara", "Alan"]
    );
    // Ties keep their order; a second key breaks them.
    assert_eq!(
        names(json!({"sort": ["city", "-name"]})),
        ["Barbara", "Linus", "Alan", "Ada", "Grace"]
    );

    let mut given = json!({
        "filter": [{"column": "city", "op": "!=", "value": "Boston"}],
        "sort": ["-age"],
        "limit": 2,
        "select": ["city", "name"],
        "rename": {"name": "who"},
        "delimiter": ";"
    });
    given["table"] = people.clone();
    let out = transform(given);
    assert_eq!(out["columns"], json!(["city", "who"]));
    assert_eq!(
        out["rows"],
        json!([{"city": "New York", "who": "Grace"}, {"city": "London", "who": "Ada"}])
    );
    assert_eq!(out["csv"], json!("city;who\nNew York;Grace\nLondon;Ada\n"));
    assert_eq!(out["row_count"], json!(2));
}

#[test]
fn reads_other_delimiters_and_headerless_files() {
    let out = transform(json!({ "table": "a\tb\n1\t\"x\ty\"\n", "delimiter": "tab" }));
    assert_eq!(out["rows"], json!([{"a": 1, "b": "x\ty"}]));
    assert_eq!(out["csv"], json!("a\tb\n1\t\"x\ty\"\n"));

    let out =
        transform(json!({ "table": "\u{feff}1;2\n\n3;4", "delimiter": ";", "header": false }));
    assert_eq!(out["columns"], json!(["column1", "column2"]));
    assert_eq!(
        out["rows"],
        json!([{"column1": 1, "column2": 2}, {"column1": 3, "column2": 4}])
    );

    let empty = transform(json!({ "table": "" }));
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["csv"], json!(""));
}

#[test]
fn bad_tables_and_steps_are_named_in_the_error() {
    assert_eq!(
        failure(json!({ "table": "a,b\n1,2\n3\n" })),
        "Error: line 3 has 1 field but the header has 2"
    );
    assert_eq!(
        failure(json!({ "table": "a,b\n1,\"open\n2,3\n" })),
        "Error: line 2: a quoted field is never closed"
    );
    assert!(
        failure(json!({ "table": "a,b\n\"x\"y,2\n" }))
            .starts_with("Error: line 2: \"y\" after the closing quote"),
    );
    assert_eq!(
        failure(json!({ "table": "a,a\n1,2\n" })),
        "Error: line 1: column \"a\" appears twice in the header"
    );
    assert_eq!(
        failure(json!({ "table": "a,b\n1,2\n", "sort": ["c"] })),
        "Error: sort[0]: no column \"c\" (columns: a, b)"
    );
    // After grouping, only the group and aggregate columns exist.
    assert_eq!(
        failure(json!({ "table": "a,b\n1,2\n", "group_by": ["a"], "select": ["b"] })),
        "Error: select[0]: no column \"b\" (columns: a, count)"
    );
    assert_eq!(
        failure(json!({ "table": "a,b\nx,1\ny,z\n", "aggregates": ["sum(b)"] })),
        "Error: aggregates[0]: sum of \"b\" needs numbers, but line 3 has \"z\""
    );
    assert!(
        failure(json!({ "table": [{"a": 1}], "filter": [{"column": "a", "op": "~", "value": 1}] }))
            .starts_with("Error: filter[0].op must be one of = != < <= > >= contains"),
    );
    assert!(
        failure(json!({ "table": "a\n1\n", "delimiter": ",," }))
            .contains("delimiter must be one character")
    );
    assert!(failure(json!({ "table": [1, 2] })).starts_with("Error: table[0] is 1, not an object"));
    assert!(
        failure(json!({ "table": 5 })).starts_with("Error: table must be CSV text or an array")
    );
    assert!(
        failure(json!({ "table": "a\n1\n", "limit": 1.5 }))
            .starts_with("Error: limit must be a whole number")
    );
}
