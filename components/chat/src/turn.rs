//! One chat turn: choose skills, call the model (whole or streamed, with
//! the `load_skill` loop in disclose mode), keep the conversation and
//! record the trace.

use std::time::Instant;

use llmos_core::ids::{PrincipalId, VolumeId};
use llmos_core::trace::{Outcome, Trace, TraceKind, new_trace_id};
use llmos_guest::api::chat::{
    ChatAnswer, ChatDelta, ChatRequest, Conversation, ConversationDeleted, ConversationList,
    ConversationSummary, ConversationTurn,
};
use llmos_guest::http::{self, Query};
use llmos_guest::llm::{
    self, Completion, LlmConfig, LlmError, LlmRequest, Message, Tool, ToolResult, Usage,
};
use llmos_guest::{ApiError, ApiResult, Db, Identity};
use llmos_store::catalog::Catalog;
use llmos_store::object::{GitTime, Signature};
use llmos_store::traces::TraceIndex;
use llmos_store::{SqlStore, Volumes};
use serde_json::json;
use spin_sdk::http::{Request, Response};

use crate::conversations;
use crate::respond::Responder;
use crate::skills::{self, ChatSkill, Sources};

/// Longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 32_000;
/// Default and largest `max_skills`.
pub const DEFAULT_MAX_SKILLS: usize = 5;
pub const MAX_SKILLS: usize = 20;
/// Tool rounds allowed in disclose mode before the turn is stopped.
pub const MAX_TOOL_ROUNDS: usize = 4;
/// The tool of disclose mode.
pub const LOAD_SKILL: &str = "load_skill";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SkillMode {
    Inject,
    Disclose,
}

/// What a request asks for, checked.
struct Turn {
    user: PrincipalId,
    team: Option<PrincipalId>,
    message: String,
    include_skills: bool,
    max_skills: usize,
    conversation: Option<String>,
    stream: bool,
    model: Option<String>,
    mode: SkillMode,
}

fn parse_turn(identity: &Identity, req: &Request) -> ApiResult<Turn> {
    let body: ChatRequest = http::read_json(req)?;
    let message = body.message.unwrap_or_default();
    if message.trim().is_empty() {
        return Err(ApiError::bad_request(
            "missing-field",
            "`message` is required and must not be empty",
        ));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::payload_too_large(format!(
            "`message` is longer than {MAX_MESSAGE_CHARS} characters"
        )));
    }
    let max_skills = match body.max_skills {
        None => DEFAULT_MAX_SKILLS,
        Some(n) if n < 0 => {
            return Err(ApiError::bad_request(
                "invalid-field",
                "`max_skills` must be 0 or more",
            ));
        }
        Some(n) => (n as usize).min(MAX_SKILLS),
    };
    let mode = match body.skill_mode.as_deref() {
        None | Some("inject") => SkillMode::Inject,
        Some("disclose") => SkillMode::Disclose,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid-field",
                format!("`skill_mode` is `inject` or `disclose`, not `{other}`"),
            ));
        }
    };
    if let Some(model) = &body.model
        && (model.trim().is_empty() || model.len() > 200)
    {
        return Err(ApiError::bad_request(
            "invalid-field",
            "`model` must be a model name of 1 to 200 characters",
        ));
    }
    let wants_events = req
        .header("accept")
        .and_then(|v| v.as_str())
        .is_some_and(|v| v.contains("text/event-stream"));
    Ok(Turn {
        user: identity.act_as_user(body.user_id.as_deref())?,
        team: identity.act_in_team(body.team_id.as_deref())?,
        message,
        include_skills: body.include_skills,
        max_skills,
        conversation: body.conversation_id,
        stream: body.stream || wants_events,
        model: body.model,
        mode,
    })
}

/// `POST /chat`.
pub fn chat(
    db: &Db,
    identity: &Identity,
    req: &Request,
    responder: &mut Responder,
) -> ApiResult<()> {
    let turn = parse_turn(identity, req)?;
    let config = LlmConfig::from_spin()?;
    let user = turn.user.as_str().to_owned();
    let mut messages = match &turn.conversation {
        Some(id) => {
            conversations::require_owned(db, &user, id)?;
            conversations::history(db, id)?
        }
        None => Vec::new(),
    };
    messages.push(Message::user(turn.message.clone()));
    let volumes = Volumes::new(SqlStore::new(db));
    llmos_guest::system::ensure_imported(&volumes)?;
    let view = identity.visible_volumes(&turn.user, turn.team.as_ref());
    let src = Sources {
        db,
        volumes: &volumes,
        view: &view,
    };
    let mut visible = if turn.include_skills || turn.mode == SkillMode::Disclose {
        skills::visible(&src)?
    } else {
        Vec::new()
    };
    let ranked = skills::rank(&src, &mut visible, &turn.message)?;
    let model = turn.model.clone().unwrap_or_else(|| config.model.clone());
    let started = Instant::now();

    let mut used: Vec<&ChatSkill> = Vec::new();
    let (system, tools) = match turn.mode {
        SkillMode::Inject => {
            let chosen: Vec<&ChatSkill> = if turn.include_skills {
                ranked
                    .iter()
                    .take(turn.max_skills)
                    .map(|&i| &visible[i])
                    .collect()
            } else {
                Vec::new()
            };
            used.extend(chosen.iter().copied());
            let bodies = skills::bodies(&src, &chosen)?;
            let with_bodies: Vec<(&ChatSkill, String)> =
                chosen.iter().copied().zip(bodies).collect();
            (skills::inject_prompt(&with_bodies), Vec::new())
        }
        SkillMode::Disclose => {
            let mut order: Vec<usize> = ranked.clone();
            order.extend((0..visible.len()).filter(|i| !ranked.contains(i)));
            let ordered: Vec<&ChatSkill> = order.iter().map(|&i| &visible[i]).collect();
            (skills::disclose_prompt(&ordered), vec![load_skill_tool()])
        }
    };
    let mut request = LlmRequest {
        model: model.clone(),
        system,
        messages,
        tools,
        max_tokens: llm::DEFAULT_MAX_TOKENS,
    };

    let result = run_model(
        &config,
        &mut request,
        &src,
        &visible,
        &mut used,
        turn.stream,
        responder,
    );
    let duration_ms = started.elapsed().as_millis() as u64;
    let used_ids: Vec<String> = used.iter().map(|s| s.skill_id.clone()).collect();
    let used_names: Vec<String> = used.iter().map(|s| s.name.clone()).collect();

    let (completion, error) = match result {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    let usage = completion.as_ref().map(|c| c.usage).unwrap_or_default();
    let conversation_id = match (&turn.conversation, &completion) {
        (Some(id), _) => id.clone(),
        (None, _) => conversations::new_id()?,
    };
    if let Some(c) = &completion {
        conversations::append(db, &user, &conversation_id, &turn.message, &c.text)?;
    }
    let trace_id = record_trace(
        db,
        &volumes,
        &turn,
        &used_ids,
        &model,
        completion.as_ref(),
        usage,
        duration_ms,
        error.as_ref(),
        &config,
    );
    if let Some(err) = error {
        let mut api = err.to_api_error();
        if let Ok(id) = &trace_id {
            api.message = format!("{} (trace {id})", api.message);
        }
        return Err(api);
    }
    let completion = completion.expect("a completion without an error");
    let answer = ChatAnswer {
        response: &completion.text,
        skills_used: &used_names,
        trace_id: trace_id.ok(),
        conversation_id: &conversation_id,
        model: completion.model.clone().unwrap_or(model),
        skill_mode: match turn.mode {
            SkillMode::Inject => "inject",
            SkillMode::Disclose => "disclose",
        },
        usage,
    };
    if responder.is_streaming() || turn.stream {
        responder.event(
            "done",
            &serde_json::to_value(&answer).map_err(ApiError::internal)?,
        )?;
        responder.end();
        Ok(())
    } else {
        responder.send(http::json_response(200, &answer))
    }
}

fn load_skill_tool() -> Tool {
    Tool {
        name: LOAD_SKILL.to_owned(),
        description: "Load the full guidance of one skill from the catalog in the system prompt, \
                      by its id."
            .to_owned(),
        input_schema: json!({
            "type": "object",
            "properties": {"skill_id": {"type": "string", "description": "the skill's id"}},
            "required": ["skill_id"],
        }),
    }
}

/// Calls the model, runs the tool loop of disclose mode and streams deltas
/// when asked.
#[allow(clippy::too_many_arguments)]
fn run_model<'s>(
    config: &LlmConfig,
    request: &mut LlmRequest,
    src: &Sources<'_>,
    visible: &'s [ChatSkill],
    used: &mut Vec<&'s ChatSkill>,
    stream: bool,
    responder: &mut Responder,
) -> Result<Completion, LlmError> {
    let mut text = String::new();
    let mut usage = Usage::default();
    for round in 0..=MAX_TOOL_ROUNDS {
        if round == MAX_TOOL_ROUNDS {
            return Err(LlmError::Upstream {
                status: 200,
                message: format!(
                    "the model kept calling tools for {MAX_TOOL_ROUNDS} rounds; the turn was stopped"
                ),
            });
        }
        let completion = if stream {
            llm::stream(config, request, |delta| {
                let _ = responder.event("delta", &json!(ChatDelta { text: delta }));
            })?
        } else {
            llm::complete(config, request)?
        };
        usage.input_tokens += completion.usage.input_tokens;
        usage.output_tokens += completion.usage.output_tokens;
        text.push_str(&completion.text);
        if completion.tool_calls.is_empty() || request.tools.is_empty() {
            return Ok(Completion {
                text,
                usage,
                ..completion
            });
        }
        let mut results = Vec::new();
        for call in &completion.tool_calls {
            results.push(answer_tool(call, src, visible, used));
        }
        request.messages.push(Message::ToolCalls {
            text: completion.text.clone(),
            calls: completion.tool_calls.clone(),
        });
        request.messages.push(Message::ToolResults(results));
    }
    unreachable!("the loop returns")
}

fn answer_tool<'s>(
    call: &llm::ToolCall,
    src: &Sources<'_>,
    visible: &'s [ChatSkill],
    used: &mut Vec<&'s ChatSkill>,
) -> ToolResult {
    let error = |content: String| ToolResult {
        id: call.id.clone(),
        content,
        is_error: true,
    };
    if call.name != LOAD_SKILL {
        return error(format!(
            "unknown tool `{}`; the only tool is `{LOAD_SKILL}`",
            call.name
        ));
    }
    let wanted = ["skill_id", "skill", "id", "name"]
        .iter()
        .find_map(|k| call.input[k].as_str())
        .unwrap_or_default();
    let found = visible
        .iter()
        .find(|s| s.skill_id == wanted)
        .or_else(|| visible.iter().find(|s| s.name.eq_ignore_ascii_case(wanted)));
    match found {
        Some(skill) => {
            let body = match skills::bodies(src, &[skill]) {
                Ok(mut bodies) => bodies.pop().unwrap_or_default(),
                Err(err) => {
                    return error(format!(
                        "skill `{}` could not be read: {}",
                        skill.skill_id, err.message
                    ));
                }
            };
            if !used.iter().any(|u| u.skill_id == skill.skill_id) {
                used.push(skill);
            }
            ToolResult {
                id: call.id.clone(),
                content: format!(
                    "# {}\n\nWhen to use: {}\n\n{}",
                    skill.name, skill.description, body
                ),
                is_error: false,
            }
        }
        None => error(format!("no skill `{wanted}` in the catalog")),
    }
}

#[allow(clippy::too_many_arguments)]
fn record_trace(
    db: &Db,
    volumes: &Volumes<SqlStore<&Db>>,
    turn: &Turn,
    used_ids: &[String],
    model: &str,
    completion: Option<&Completion>,
    usage: Usage,
    duration_ms: u64,
    error: Option<&LlmError>,
    config: &LlmConfig,
) -> ApiResult<String> {
    let now_ms = llmos_guest::now_secs() * 1000
        + i64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_millis())
                .unwrap_or(0),
        );
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(ApiError::internal)?;
    let trace_id = new_trace_id(now_ms, u32::from_le_bytes(random));
    let mut details = serde_json::Map::new();
    details.insert("provider".into(), json!(config.provider.as_str()));
    details.insert(
        "model".into(),
        json!(
            completion
                .and_then(|c| c.model.clone())
                .unwrap_or_else(|| model.to_owned())
        ),
    );
    details.insert("usage".into(), json!(usage));
    details.insert(
        "skill_mode".into(),
        json!(match turn.mode {
            SkillMode::Inject => "inject",
            SkillMode::Disclose => "disclose",
        }),
    );
    details.insert("streamed".into(), json!(turn.stream));
    if let Some(c) = completion {
        details.insert("stop_reason".into(), json!(c.stop_reason));
    }
    let trace = Trace {
        trace_id: trace_id.clone(),
        kind: TraceKind::Chat,
        user_id: turn.user.clone(),
        team_id: turn.team.clone(),
        created_at: now_ms,
        task: llmos_core::trace::truncate_chars(&turn.message, llmos_core::trace::MAX_TASK_CHARS),
        skills_used: used_ids.to_vec(),
        sequence: Vec::new(),
        outcome: if error.is_some() {
            Outcome::Error
        } else {
            Outcome::Success
        },
        error: error.map(|e| e.to_string()),
        duration_ms,
        details,
    };
    let user = turn.user.as_str();
    let author = Signature::new(
        user,
        format!("{user}@users.llmos.local"),
        GitTime::utc(llmos_guest::now_secs()),
    );
    let index = TraceIndex::new(db);
    match index.record(volumes, trace, author) {
        Ok((commit, _)) => {
            // The trace left the skills as they were: the catalog's index of
            // the user volume stays current, so the next turn skips a refresh.
            let volume = VolumeId::User(turn.user.clone());
            if let Err(err) = Catalog::new(volumes).carry_forward(&volume, commit) {
                eprintln!("chat: keeping the catalog current after trace {trace_id}: {err}");
            }
            Ok(trace_id)
        }
        Err(err) => {
            eprintln!("chat: recording trace {trace_id} failed: {err}");
            Err(ApiError::internal(err))
        }
    }
}

/// `GET /chat/conversations`.
pub fn list_conversations(db: &Db, identity: &Identity, req: &Request) -> ApiResult<Response> {
    let q = Query::of(req);
    let user = identity.act_as_user(q.get("user_id"))?;
    let conversations = conversations::list(db, user.as_str())?
        .into_iter()
        .map(|(conversation_id, updated_at, turns)| ConversationSummary {
            conversation_id,
            updated_at,
            turns,
        })
        .collect();
    http::ok(&ConversationList { conversations })
}

/// `GET /chat/conversations/{id}`.
pub fn show_conversation(
    db: &Db,
    identity: &Identity,
    req: &Request,
    id: &str,
) -> ApiResult<Response> {
    let q = Query::of(req);
    let user = identity.act_as_user(q.get("user_id"))?;
    conversations::require_owned(db, user.as_str(), id)?;
    let turns = conversations::turns(db, id)?
        .into_iter()
        .map(|(role, content, created_at)| ConversationTurn {
            role,
            content,
            created_at,
        })
        .collect();
    http::ok(&Conversation {
        conversation_id: id,
        turns,
    })
}

/// `DELETE /chat/conversations/{id}`.
pub fn delete_conversation(
    db: &Db,
    identity: &Identity,
    req: &Request,
    id: &str,
) -> ApiResult<Response> {
    let q = Query::of(req);
    let user = identity.act_as_user(q.get("user_id"))?;
    conversations::require_owned(db, user.as_str(), id)?;
    conversations::delete(db, id)?;
    http::ok(&ConversationDeleted {
        status: "deleted",
        conversation_id: id,
    })
}
