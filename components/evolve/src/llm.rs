//! Where a language model writes draft bodies.
//!
//! [`draft_body`] is the one place the model is called for evolution. It
//! returns the model's raw answer for the prompt, or `None` when no model is
//! configured or the call failed; the core checks the answer
//! (`llmos_core::evolve::accept_model_body`) and falls back to the
//! deterministic template for `None` or an unusable answer.
//!
//! The model is the app's (`llmos_guest::llm`, configured by the
//! `anthropic_api_key`, `llm_provider`, `llm_base_url`, `llm_model` and
//! `llm_timeout_secs` variables). A failed call is logged without the key
//! and the pass goes on with the template, so evolution never fails
//! because a model is unavailable.

use llmos_core::evolve::ModelPrompt;

/// Longest body asked of the model, in tokens.
#[cfg(target_arch = "wasm32")]
const MAX_BODY_TOKENS: u32 = 1500;

/// The model's answer to `prompt`, or `None` to use the template.
#[cfg(target_arch = "wasm32")]
pub fn draft_body(prompt: &ModelPrompt) -> Option<String> {
    use llmos_guest::llm::{self, LlmConfig, LlmRequest, Message};

    let config = LlmConfig::from_spin().ok()?;
    let request = LlmRequest {
        model: config.model.clone(),
        system: prompt.system.clone(),
        messages: vec![Message::user(prompt.user.clone())],
        tools: Vec::new(),
        max_tokens: MAX_BODY_TOKENS,
    };
    match llm::complete(&config, &request) {
        Ok(completion) => Some(completion.text),
        Err(err) => {
            eprintln!("evolve: the model could not write a draft body ({err}); using the template");
            None
        }
    }
}

/// Natively (the component's unit tests) there is no host to call a model
/// through: every draft uses the template.
#[cfg(not(target_arch = "wasm32"))]
pub fn draft_body(prompt: &ModelPrompt) -> Option<String> {
    let _ = prompt;
    None
}
