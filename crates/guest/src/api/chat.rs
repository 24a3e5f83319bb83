//! `/chat`: what the `chat` component reads and answers.

use serde::{Deserialize, Serialize};

use crate::llm::{Role, Usage};

/// The body of `POST /chat`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The token's user (or any, for an admin).
    #[serde(default)]
    pub user_id: Option<String>,
    /// One of the token's teams: its skills join the view.
    #[serde(default)]
    pub team_id: Option<String>,
    /// What the user says; required, not blank.
    #[serde(default)]
    pub message: Option<String>,
    /// Steer the model with the caller's skills (default true).
    #[serde(default = "yes")]
    pub include_skills: bool,
    /// How many skills to use, 0 or more (default 5, at most 20).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub max_skills: Option<i64>,
    /// Continue this conversation (default: start one).
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Answer with server-sent events (also `Accept: text/event-stream`).
    #[serde(default)]
    pub stream: bool,
    /// The model to ask (default: the configured one).
    #[serde(default)]
    pub model: Option<String>,
    /// `inject` (default): the top skills go into the system prompt;
    /// `disclose`: a catalog, and the model loads skills with a tool.
    #[serde(default)]
    pub skill_mode: Option<String>,
}

fn yes() -> bool {
    true
}

/// The answer of `POST /chat`: the whole body, or the `done` event's data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatAnswer<'a> {
    /// The model's reply.
    pub response: &'a str,
    /// Names of the skills that steered it.
    pub skills_used: &'a [String],
    /// The turn's trace; `null` if it could not be recorded.
    pub trace_id: Option<String>,
    pub conversation_id: &'a str,
    pub model: String,
    /// `inject` or `disclose`.
    pub skill_mode: &'static str,
    pub usage: Usage,
}

/// The data of a streamed `delta` event: the next piece of the reply.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatDelta<'a> {
    pub text: &'a str,
}

/// One stored conversation in `GET /chat/conversations`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    pub conversation_id: String,
    /// Milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// Messages in it (user and assistant).
    pub turns: i64,
}

/// `GET /chat/conversations`: the caller's conversations, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
}

/// One message of a conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationTurn {
    pub role: Role,
    pub content: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// `GET /chat/conversations/{conversation_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Conversation<'a> {
    pub conversation_id: &'a str,
    pub turns: Vec<ConversationTurn>,
}

/// `DELETE /chat/conversations/{conversation_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationDeleted<'a> {
    /// `deleted`.
    pub status: &'static str,
    pub conversation_id: &'a str,
}

/// The body of `POST /chat/workflow`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRequest {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    /// What the workflow should do; required, not blank.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}
