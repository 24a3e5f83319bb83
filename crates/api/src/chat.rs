//! `/chat`: the `chat` component.

use llmos_core::workflow::api::WorkflowDraft;
use llmos_guest::api::chat::{
    ChatAnswer, ChatDelta, ChatRequest, Conversation, ConversationDeleted, ConversationList,
    ConversationSummary, ConversationTurn, WorkflowRequest,
};
use llmos_guest::error::ErrorBody;
use llmos_guest::llm::{Role, Usage};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        chat_turn,
        chat_workflow,
        chat_conversations_list,
        chat_conversations_show,
        chat_conversations_delete
    ),
    components(schemas(
        ChatRequest,
        ChatAnswer,
        ChatDelta,
        Usage,
        Role,
        ConversationSummary,
        ConversationList,
        ConversationTurn,
        Conversation,
        ConversationDeleted,
        WorkflowRequest,
        WorkflowDraft
    )),
    tags((name = "chat", description = "LLM chat steered by the caller's skills, whole or \
                                        streamed, with stored conversations."))
)]
pub(crate) struct Doc;

#[utoipa::path(
    post,
    path = "/chat",
    tag = "chat",
    operation_id = "chat-turn",
    summary = "One chat turn steered by the caller's skills; streamed as server-sent events with `stream: true` or `Accept: text/event-stream`. Role: the user, or an admin for anyone.",
    request_body(content = ChatRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The reply. As JSON; or, streamed, as `text/event-stream`: `event: delta` with `ChatDelta` data per piece of the reply, then `event: done` with the `ChatAnswer` (or `event: error` with the error body if the model fails mid-stream).",
            content(
                (ChatAnswer = "application/json"),
                (String = "text/event-stream")
            )),
        (status = 400, description = "Malformed JSON, an unknown field, no message, a bad `max_skills`, `skill_mode`, `model` or conversation id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` or `team_id` is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such conversation of this user.", body = ErrorBody),
        (status = 413, description = "The message is too long.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 502, description = "The model provider failed or answered something unreadable.", body = ErrorBody),
        (status = 503, description = "No model is configured (`llm-not-configured`), or the provider stays overloaded.", body = ErrorBody),
        (status = 504, description = "The model provider did not answer in time.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn chat_turn() {}

#[utoipa::path(
    post,
    path = "/chat/workflow",
    tag = "chat",
    operation_id = "chat-workflow",
    summary = "A workflow the model drafts from the request with the caller's executable skills and the built-in nodes, validated and never repaired. Stores nothing. Role: the user, or an admin for anyone.",
    request_body(content = WorkflowRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The draft and its validation; an answer that is not a workflow comes back with `valid: false` and the model's text.", body = WorkflowDraft),
        (status = 400, description = "Malformed JSON, an unknown field, no message, a bad id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` or `team_id` is not the caller's.", body = ErrorBody),
        (status = 413, description = "The message is too long.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 502, description = "The model provider failed or answered something unreadable.", body = ErrorBody),
        (status = 503, description = "No model is configured (`llm-not-configured`), or the provider stays overloaded.", body = ErrorBody),
        (status = 504, description = "The model provider did not answer in time.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn chat_workflow() {}

#[utoipa::path(
    get,
    path = "/chat/conversations",
    tag = "chat",
    operation_id = "chat-conversations-list",
    summary = "The user's stored conversations, newest first. Role: the user, or an admin for anyone.",
    params(("user_id" = Option<String>, Query, description = "Whose (default: the token's user).")),
    responses(
        (status = 200, description = "The conversations.", body = ConversationList),
        (status = 400, description = "A bad id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` is not the caller's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn chat_conversations_list() {}

#[utoipa::path(
    get,
    path = "/chat/conversations/{conversation_id}",
    tag = "chat",
    operation_id = "chat-conversations-show",
    summary = "One conversation's messages, oldest first. Role: its user, or an admin.",
    params(
        ("conversation_id" = String, Path, pattern = "^cv-[0-9a-f]{24}$", description = "`cv-` and 24 hex digits."),
        ("user_id" = Option<String>, Query, description = "Whose (default: the token's user).")
    ),
    responses(
        (status = 200, description = "The conversation.", body = Conversation),
        (status = 400, description = "Not a conversation id, or a bad user id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such conversation of this user.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn chat_conversations_show() {}

#[utoipa::path(
    delete,
    path = "/chat/conversations/{conversation_id}",
    tag = "chat",
    operation_id = "chat-conversations-delete",
    summary = "Delete a conversation. Role: its user, or an admin.",
    params(
        ("conversation_id" = String, Path, pattern = "^cv-[0-9a-f]{24}$", description = "`cv-` and 24 hex digits."),
        ("user_id" = Option<String>, Query, description = "Whose (default: the token's user).")
    ),
    responses(
        (status = 200, description = "Deleted.", body = ConversationDeleted),
        (status = 400, description = "Not a conversation id, or a bad user id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such conversation of this user.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn chat_conversations_delete() {}
