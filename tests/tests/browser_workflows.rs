//! Workflows as files in a real browser against the real host: import and
//! export of JSON files, and save → reload → open giving back the same
//! graph, with its history.

mod browser_support;

use browser_support::*;
use fantoccini::key::Key;
use llmos_tests::Host;
use serde_json::{Value, json};

/// The stored workflow `id` as the API returns it.
fn stored(host: &Host, token: &str, id: &str) -> Value {
    let Reply(status, body) = Reply::get(host, token, &format!("/workflows/{id}"));
    assert_eq!(status, 200, "{body}");
    if body["workflow"].is_object() {
        body["workflow"].clone()
    } else {
        body
    }
}

/// Nodes (id, skill, params, position) and edges of a workflow, for
/// comparing two copies.
fn shape(wf: &Value) -> Value {
    json!({
        "name": wf["name"],
        "nodes": wf["nodes"].as_array().map(|ns| ns.iter().map(|n| json!({
            "id": n["id"], "skill_id": n["skill_id"], "params": n["params"],
            "x": n["position"]["x"], "y": n["position"]["y"],
        })).collect::<Vec<_>>()),
        "edges": wf["edges"],
    })
}

#[test]
fn an_imported_file_exports_back_with_its_layout() {
    let (host, token) = start_app();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("doubling.json");
    // No positions: the page lays the nodes out by dependency depth.
    let original = json!({
        "id": "doubling", "name": "Doubling",
        "nodes": [
            {"id": "k", "skill_id": "builtin:constant", "params": {"value": 4}},
            {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x * 2"}},
            {"id": "p", "skill_id": "builtin:merge", "params": {"mode": "collect"}}
        ],
        "edges": [
            {"source": "k", "source_port": "value", "target": "m", "target_port": "x"},
            {"source": "m", "source_port": "result", "target": "p", "target_port": "doubled"}
        ],
        "note": "kept by the page"
    });
    std::fs::write(&file, original.to_string()).expect("write the file");
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        page.import_file(&file).await;
        page.wait_status("3 nodes · 2 edges · valid").await;
        let name: String = page
            .js("return document.getElementById('workflow-name').value")
            .await;
        assert_eq!(name, "Doubling");
        // Import is one undoable step.
        page.chord(&[Key::Escape]).await;
        page.click("#export-button").await;
        let exported = browser.downloaded(".json").await;
        let text = std::fs::read_to_string(&exported).expect("read the export");
        let back: Value = serde_json::from_str(&text).expect("exported JSON");
        assert_eq!(back["id"], "doubling");
        assert_eq!(back["edges"], original["edges"]);
        assert_eq!(back["note"], "kept by the page", "unknown fields survive");
        let xs: Vec<f64> = back["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["position"]["x"].as_f64().expect("x"))
            .collect();
        assert!(xs[0] < xs[1] && xs[1] < xs[2], "laid out by depth: {xs:?}");
        assert!(
            text.ends_with("}\n"),
            "the canonical form ends with a newline"
        );
        page.shortcut(&[Key::Control], 'z').await;
        page.wait_status("0 nodes").await;
        browser.close().await;
    });
}

/// Waits for the canvas to show the two-node graph as valid (a selection,
/// when there is one, is shown between the counts and the verdict).
async fn wait_valid_graph(page: &Workbench<'_>) {
    page.wait_text("#canvas-status", "2 nodes · 1 edges, valid", |t| {
        t.starts_with("2 nodes · 1 edges") && t.contains(" · valid")
    })
    .await;
}

#[test]
fn a_saved_workflow_reopens_as_the_same_graph_after_a_reload() {
    let (host, token) = start_app();
    if !implemented(&host, &token, "/workflows") {
        return;
    }
    let id = block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        let (_, c) = page.drop_skill("builtin:constant", (150.0, 160.0)).await;
        page.type_into("#param-value", "21").await;
        let (_, m) = page.drop_skill("builtin:math", (450.0, 160.0)).await;
        page.type_into("#param-expression", "x * 2").await;
        page.connect((c, 0), (m, 1)).await;
        wait_valid_graph(&page).await;
        let name = page.wait_for("#workflow-name").await;
        name.clear().await.expect("clear the name");
        name.send_keys("Round trip\t").await.expect("rename");
        page.shortcut(&[Key::Control], 's').await;
        page.wait_text("#notices", "the save", |t| t.contains("Saved “Round trip”"))
            .await;
        let id: String = page
            .js("return document.querySelector('#workflows-panel .muted').innerText.split(' · ')[0]")
            .await;
        browser.close().await;
        id
    });
    let first = stored(&host, &token, &id);
    assert_eq!(first["name"], "Round trip");
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        page.c.refresh().await.expect("reload");
        page.wait_for("#canvas-status").await;
        page.wait_status("0 nodes").await;
        page.click("#header-open").await;
        page.click(&format!("[data-workflow='{id}'] button")).await;
        wait_valid_graph(&page).await;
        page.wait_text("#workflow-history", "one commit", |t| !t.is_empty())
            .await;
        page.screenshot("workflow-reopened").await;
        // Saving the reopened graph stores the same workflow again.
        page.shortcut(&[Key::Control], 's').await;
        page.wait_text("#save-status", "saved", |t| t.starts_with("saved at"))
            .await;
        browser.close().await;
    });
    let second = stored(&host, &token, &id);
    assert_eq!(shape(&second), shape(&first));
}
