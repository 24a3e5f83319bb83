//! The chat panel: streaming answers, the skills each answer used, and
//! turning the conversation into a workflow on the canvas.

use llmos_core::workflow::Workflow;
use serde_json::{Value, json};
use sycamore::prelude::*;

use super::{AppState, NoticeKind, Page};
use crate::api;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    /// A note from the page itself (a workflow was generated …).
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub text: String,
    pub skills_used: Vec<String>,
    pub error: Option<String>,
    /// The answer is still arriving.
    pub streaming: bool,
}

impl ChatMessage {
    fn new(role: Role, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            text: text.into(),
            skills_used: Vec::new(),
            error: None,
            streaming: false,
        }
    }
}

/// Error code of `POST /chat` when no LLM is configured (HTTP 503).
pub const LLM_NOT_CONFIGURED: &str = "llm-not-configured";

#[derive(Clone, Copy)]
pub struct ChatState {
    pub messages: Signal<Vec<ChatMessage>>,
    pub draft: Signal<String>,
    pub busy: Signal<bool>,
    pub making_workflow: Signal<bool>,
    pub conversation: Signal<Option<String>>,
    /// Set when the server said it has no LLM: the panel explains how to
    /// configure one.
    pub not_configured: Signal<Option<String>>,
    abort: Signal<Option<web_sys::AbortController>>,
}

impl ChatState {
    pub fn new() -> Self {
        ChatState {
            messages: create_signal(Vec::new()),
            draft: create_signal(String::new()),
            busy: create_signal(false),
            making_workflow: create_signal(false),
            conversation: create_signal(None),
            not_configured: create_signal(None),
            abort: create_signal(None),
        }
    }

    fn update_last(self, f: impl FnOnce(&mut ChatMessage)) {
        self.messages.update(|list| {
            if let Some(m) = list.last_mut() {
                f(m);
            }
        });
    }
}

impl AppState {
    fn chat_base(self) -> Option<Value> {
        let identity = self.identity()?;
        Some(json!({
            "user_id": identity.user_id,
            "team_id": identity.team(),
        }))
    }

    /// Sends the draft and streams the answer into the conversation.
    pub fn send_chat(self) {
        let chat = self.chat;
        let text = chat.draft.get_clone_untracked().trim().to_owned();
        if text.is_empty() || chat.busy.get_untracked() {
            return;
        }
        let Some(mut request) = self.chat_base() else {
            return;
        };
        request["message"] = json!(text);
        request["include_skills"] = json!(true);
        request["max_skills"] = json!(5);
        request["stream"] = json!(true);
        if let Some(id) = chat.conversation.get_clone_untracked() {
            request["conversation_id"] = json!(id);
        }
        chat.draft.set(String::new());
        chat.messages.update(|list| {
            list.push(ChatMessage::new(Role::User, text));
            let mut answer = ChatMessage::new(Role::Assistant, "");
            answer.streaming = true;
            list.push(answer);
        });
        chat.busy.set(true);
        let controller = web_sys::AbortController::new().ok();
        chat.abort.set(controller.clone());
        self.spawn(async move {
            let Some(controller) = controller else {
                chat.update_last(|m| {
                    m.streaming = false;
                    m.error = Some("this browser cannot cancel requests".into());
                });
                chat.busy.set(false);
                return;
            };
            let result = api::chat_stream(request, &controller.signal(), |delta| {
                chat.update_last(|m| m.text.push_str(delta));
            })
            .await;
            match result {
                Ok(done) => {
                    let used: Vec<String> = done["skills_used"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(id) = done["conversation_id"].as_str() {
                        chat.conversation.set(Some(id.to_owned()));
                    }
                    chat.not_configured.set(None);
                    chat.update_last(|m| {
                        m.streaming = false;
                        m.skills_used = used;
                        if m.text.is_empty()
                            && let Some(r) = done["response"].as_str()
                        {
                            m.text = r.to_owned();
                        }
                    });
                }
                Err(e) => {
                    if e.code == LLM_NOT_CONFIGURED {
                        chat.not_configured.set(Some(e.message.clone()));
                    }
                    let aborted = e.message.contains("abort");
                    chat.update_last(|m| {
                        m.streaming = false;
                        m.error = Some(if aborted {
                            "stopped".to_owned()
                        } else {
                            e.to_string()
                        });
                    });
                }
            }
            chat.abort.set(None);
            chat.busy.set(false);
        });
    }

    pub fn stop_chat(self) {
        if let Some(controller) = self.chat.abort.get_clone_untracked() {
            controller.abort();
        }
    }

    pub fn clear_chat(self) {
        self.stop_chat();
        self.chat.messages.set(Vec::new());
        self.chat.conversation.set(None);
    }

    /// What the user asked for, for `POST /chat/workflow`: the draft when
    /// there is one, else the conversation's user messages.
    fn workflow_request_text(self) -> String {
        let draft = self.chat.draft.get_clone_untracked();
        if !draft.trim().is_empty() {
            return draft.trim().to_owned();
        }
        self.chat.messages.with_untracked(|list| {
            list.iter()
                .filter(|m| m.role == Role::User)
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// Asks the server for a workflow built from the conversation and puts
    /// it on the canvas with its validation.
    pub fn make_workflow_from_chat(self) {
        let text = self.workflow_request_text();
        if text.is_empty() {
            self.notify(NoticeKind::Info, "Write what the workflow should do first.");
            return;
        }
        let Some(mut request) = self.chat_base() else {
            return;
        };
        request["message"] = json!(text);
        self.chat.making_workflow.set(true);
        self.spawn(async move {
            let result = api::chat_workflow(request).await;
            self.chat.making_workflow.set(false);
            let answer = match result {
                Ok(answer) => answer,
                Err(e) => {
                    if e.code == LLM_NOT_CONFIGURED {
                        self.chat.not_configured.set(Some(e.message.clone()));
                    }
                    self.error(format!("No workflow: {e}"));
                    return;
                }
            };
            let workflow = match Workflow::from_value(answer["workflow"].clone()) {
                Ok(w) => w,
                Err(e) => {
                    self.error(format!("The generated workflow is unreadable: {e}"));
                    return;
                }
            };
            let nodes = workflow.nodes.len();
            self.replace_workflow(workflow);
            self.page.set(Page::Workbench);
            let server_errors: Vec<String> = answer["validation"]["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["message"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let local_errors = self.report.with_untracked(|r| r.errors.len());
            let summary = if server_errors.is_empty() && local_errors == 0 {
                format!("Put a workflow of {nodes} nodes on the canvas; it validates.")
            } else {
                let mut s = format!(
                    "Put a workflow of {nodes} nodes on the canvas with {} validation error(s)",
                    server_errors.len().max(local_errors)
                );
                if let Some(first) = server_errors.first() {
                    s.push_str(": ");
                    s.push_str(first);
                }
                s
            };
            self.chat
                .messages
                .update(|list| list.push(ChatMessage::new(Role::Note, summary.clone())));
            self.notify(
                if local_errors == 0 {
                    NoticeKind::Success
                } else {
                    NoticeKind::Info
                },
                summary,
            );
        });
    }
}
