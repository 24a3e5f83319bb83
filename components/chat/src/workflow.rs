//! `POST /chat/workflow`: the model drafts a workflow from the caller's
//! executable skills and the built-in nodes; the answer is parsed (JSON,
//! with or without a code fence) and validated by the workflow engine.
//! An answer that is not a workflow, or one that does not validate, is
//! returned as such with its errors — never repaired.

use llmos_core::workflow::api::WorkflowDraft;
use llmos_core::workflow::{self, IssueCode, SkillSignature, ValidationReport, Workflow, builtin};
use llmos_guest::api::chat::WorkflowRequest;
use llmos_guest::http;
use llmos_guest::llm::{self, LlmConfig, LlmRequest, Message};
use llmos_guest::{ApiError, ApiResult, Db, Identity};
use llmos_store::catalog::{Catalog, ListQuery};
use llmos_store::{SqlStore, Volumes};
use serde_json::{Value, json};
use spin_sdk::http::{Request, Response};

use crate::turn::MAX_MESSAGE_CHARS;

/// The instructions given to the model.
const INSTRUCTIONS: &str = "You design workflows for LLMos-Lite. A workflow is a JSON object \
{\"id\", \"name\", \"nodes\": [{\"id\", \"skill_id\", \"position\": {\"x\", \"y\"}, \"params\": {}}], \
\"edges\": [{\"source\", \"source_port\", \"target\", \"target_port\"}]}. \
Use only the skills listed below, by their exact skill_id; connect an output port of one node \
to an input port of another; give every required input either an edge or a value in `params`; \
no cycles. Node ids are short lowercase words. Answer with the JSON object only.";

/// `POST /chat/workflow`.
pub fn generate(db: &Db, identity: &Identity, req: &Request) -> ApiResult<Response> {
    let body: WorkflowRequest = http::read_json(req)?;
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
    let user = identity.act_as_user(body.user_id.as_deref())?;
    let team = identity.act_in_team(body.team_id.as_deref())?;
    let config = LlmConfig::from_spin()?;
    let volumes = Volumes::new(SqlStore::new(db));
    llmos_guest::system::ensure_imported(&volumes)?;
    let view = identity.visible_volumes(&user, team.as_ref());
    let catalog = Catalog::new(&volumes);
    catalog.ensure_fresh(&view).map_err(ApiError::internal)?;
    let mut signatures: Vec<SkillSignature> = Vec::new();
    for entry in catalog
        .list(&view, &ListQuery::default())
        .map_err(ApiError::internal)?
        .entries
    {
        if let Some(signature) = entry.signature().map_err(ApiError::internal)? {
            signatures.push(signature);
        }
    }
    let mut system = INSTRUCTIONS.to_owned();
    system.push_str("\n\nSkills (JSON, one per line):");
    for signature in signatures
        .iter()
        .chain(builtin::signatures().iter().map(|s| s.as_ref()))
    {
        system.push('\n');
        system.push_str(&describe(signature).to_string());
    }
    let request = LlmRequest {
        model: body.model.unwrap_or_else(|| config.model.clone()),
        system,
        messages: vec![Message::user(message)],
        tools: Vec::new(),
        max_tokens: llm::DEFAULT_MAX_TOKENS,
    };
    let completion = llm::complete(&config, &request)?;
    let skill_catalog: workflow::Catalog = signatures.into_iter().collect();
    let answer = match extract_json(&completion.text) {
        Err(reason) => WorkflowDraft {
            workflow: None,
            validation: ValidationReport::refused(IssueCode::AnswerNotJson, reason),
            answer: Some(completion.text),
        },
        Ok(value) => match Workflow::from_value(value.clone()) {
            Err(err) => WorkflowDraft {
                workflow: Some(value),
                validation: ValidationReport::refused(
                    IssueCode::AnswerNotAWorkflow,
                    err.to_string(),
                ),
                answer: Some(completion.text),
            },
            Ok(wf) => WorkflowDraft {
                validation: workflow::validate(&wf, &skill_catalog),
                workflow: Some(wf.to_value()),
                answer: None,
            },
        },
    };
    http::ok(&answer)
}

/// What the model is told of a skill: id, runtime, inputs and outputs.
fn describe(signature: &SkillSignature) -> Value {
    let ports = |ports: &[llmos_core::types::PortSpec]| -> Vec<Value> {
        ports
            .iter()
            .map(|p| {
                let mut v = json!({"name": p.name, "type": p.ty});
                if p.required {
                    v["required"] = json!(true);
                }
                if let Some(d) = &p.default {
                    v["default"] = d.clone();
                }
                v
            })
            .collect()
    };
    json!({
        "skill_id": signature.skill_id,
        "runtime": signature.runtime,
        "inputs": ports(&signature.inputs),
        "outputs": ports(&signature.outputs),
    })
}

/// The JSON object of an answer: the whole text, the content of a code
/// fence, or the outermost `{…}`.
pub fn extract_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Ok(v);
    }
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let after = after.split_once('\n').map_or(after, |(_, rest)| rest);
        if let Some(end) = after.find("```")
            && let Ok(v) = serde_json::from_str::<Value>(after[..end].trim())
        {
            return Ok(v);
        }
    }
    if let (Some(start), Some(end)) = (trimmed.find('{'), trimmed.rfind('}'))
        && start < end
        && let Ok(v) = serde_json::from_str::<Value>(&trimmed[start..=end])
    {
        return Ok(v);
    }
    Err("the model's answer holds no JSON object".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_fences_and_prose() {
        assert_eq!(extract_json("{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(
            extract_json("Here:\n```json\n{\"a\": 2}\n```\nDone.").unwrap()["a"],
            2
        );
        assert_eq!(
            extract_json("Sure! {\"a\": 3} hope it helps").unwrap()["a"],
            3
        );
        assert!(extract_json("no json here").is_err());
        assert!(extract_json("```json\n{broken\n```").is_err());
    }
}
