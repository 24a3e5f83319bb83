//! The skills page and the chat panel in a real browser against the real
//! host: the editor checks a skill file as it is typed (with the same
//! parser as the server), an edit shows up in the skill's history with its
//! diff, chat without an LLM says how to configure one, and chat with one
//! (the loopback mock) streams its answer and turns a request into a
//! workflow on the canvas.

mod browser_support;

use browser_support::*;
use fantoccini::key::Key;
use llmos_tests::mock_llm::{MockLlm, Reply};

/// Replaces the editor's text as typing would (an `input` event).
async fn set_source(page: &Workbench<'_>, text: &str) {
    let script = format!(
        "const t = document.getElementById('skill-source');
         t.value = {};
         t.dispatchEvent(new Event('input'));
         return true;",
        serde_json::to_string(text).expect("JSON string")
    );
    let _: bool = page.js(&script).await;
}

async fn source(page: &Workbench<'_>) -> String {
    page.js("return document.getElementById('skill-source').value")
        .await
}

#[test]
fn the_skill_editor_checks_front_matter_as_it_is_typed() {
    let (host, token) = start_app();
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        page.click("#nav-skills").await;
        page.click("#new-skill").await;
        page.wait_text("#skill-check", "a valid template", |t| t.contains("valid"))
            .await;
        let template = source(&page).await;
        set_source(&page, &template.replace("category:", "categry:")).await;
        let check = page
            .wait_text("#skill-check", "the error", |t| t.contains("category"))
            .await;
        assert!(check.contains("missing"), "{check}");
        page.screenshot("skill-editor-error").await;
        // Saving refuses before asking the server.
        page.shortcut(&[Key::Control], 's').await;
        let refusal = page
            .wait_text("#skill-server-error", "the refusal", |t| !t.is_empty())
            .await;
        assert!(refusal.contains("Fix the file first"), "{refusal}");
        // A wrong port type names its line and field.
        let typed = template.replace("categry:", "category:").replace(
            "keywords: [example]",
            "keywords: [example]\ntype: javascript",
        );
        set_source(&page, &typed).await;
        page.wait_text("#skill-check", "a new error", |t| !t.contains("valid"))
            .await;
        set_source(&page, &template).await;
        page.wait_text("#skill-check", "valid again", |t| t.contains("valid"))
            .await;
        browser.close().await;
    });
}

#[test]
fn a_skill_edit_shows_up_in_its_history_with_its_diff() {
    let (host, token) = start_app();
    if !implemented(&host, &token, "/skills") {
        return;
    }
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        page.click("#nav-skills").await;
        page.click("#skill-list [data-skill='python-coding']").await;
        page.click("#skill-tab-edit").await;
        page.wait_text("#skill-check", "the file", |t| t.contains("valid"))
            .await;
        // Two saves: the first may copy a system skill into the user's
        // volume; the second is an edit of that copy.
        for (saves, line) in [(1, "First browser note."), (2, "Second browser note.")] {
            let text = source(&page).await;
            set_source(&page, &format!("{text}\n{line}\n")).await;
            page.click("#skill-save").await;
            page.wait_text("#notices", "the save", |t| {
                t.matches("Saved python-coding").count() >= saves
            })
            .await;
            page.click("#skill-tab-edit").await;
            page.wait_text("#skill-check", "the saved file", |t| t.contains("valid"))
                .await;
        }
        page.click("#skill-tab-history").await;
        let commits = page
            .wait_text("#skill-commits", "two commits", |t| {
                t.matches("Diff").count() >= 2
            })
            .await;
        assert!(!commits.is_empty());
        page.click("#skill-commits li button").await;
        let diff = page
            .wait_text("#skill-diff", "the diff", |t| {
                t.contains("Second browser note.")
            })
            .await;
        assert!(
            diff.lines()
                .any(|l| l.starts_with('+') && l.contains("Second browser note.")),
            "{diff}"
        );
        page.screenshot("skill-history").await;
        browser.close().await;
    });
}

#[test]
fn chat_without_an_llm_says_how_to_configure_one() {
    let (host, token) = start_app();
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        page.side_tab("chat").await;
        // Enter sends the message.
        page.wait_for("#chat-input")
            .await
            .send_keys(&format!("What is a VQE?{}", char::from(Key::Enter)))
            .await
            .expect("type the message");
        let banner = page
            .wait_text("#llm-not-configured", "the banner", |t| !t.is_empty())
            .await;
        assert!(banner.contains("anthropic_api_key"), "{banner}");
        page.screenshot("chat-not-configured").await;
        browser.close().await;
    });
}

#[test]
fn chat_streams_the_answer_and_makes_a_workflow() {
    let mock = MockLlm::start();
    let host = app().env("SPIN_VARIABLE_LLM_BASE_URL", mock.url()).start();
    let token = host.create_token("alice", &["core"], "user");
    let (reply, release) = Reply::held_stream(&[
        "The ",
        "ground ",
        "state ",
        "**energy** ",
        "is ",
        "-1.137 Ha.",
    ]);
    mock.push(reply);
    let workflow = serde_json::json!({"id": "double", "name": "Double", "nodes": [
        {"id": "a", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}, "params": {"value": 21}},
        {"id": "m", "skill_id": "builtin:math", "position": {"x": 240, "y": 0}, "params": {"expression": "x * 2"}}],
        "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]});
    mock.push(Reply::text(&format!("```json\n{workflow}\n```")));
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        page.side_tab("chat").await;
        page.wait_for("#chat-input")
            .await
            .send_keys(&format!(
                "What is the VQE energy of H2?{}",
                char::from(Key::Enter)
            ))
            .await
            .expect("type the message");
        // The first delta is on the page while the mock still holds the rest.
        page.wait_text("#chat-panel .messages", "the first delta", |t| {
            t.contains("The")
        })
        .await;
        let partial = page.text("#chat-panel .messages").await;
        assert!(!partial.contains("-1.137"), "{partial}");
        release.send(()).unwrap();
        let done = page
            .wait_text("#chat-panel .messages", "the whole answer", |t| {
                t.contains("-1.137 Ha.")
            })
            .await;
        assert!(done.contains("skills used"), "{done}");
        let bold: String = page
            .js("const b = document.querySelector('#chat-panel .md strong'); return b ? b.textContent : ''")
            .await;
        assert_eq!(bold, "energy", "the answer is rendered as Markdown");
        page.screenshot("chat-streamed").await;

        page.click("#make-workflow").await;
        let mut nodes = 0;
        for _ in 0..100 {
            nodes = page.node_count().await;
            if nodes == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(nodes, 2, "the generated workflow is on the canvas");
        assert_eq!(page.edge_count().await, 1);
        page.screenshot("chat-workflow").await;
        let errors = page.console_errors().await;
        assert!(errors.is_empty(), "{errors:?}");
        browser.close().await;
    });
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].system().contains("builtin:math"));
}
