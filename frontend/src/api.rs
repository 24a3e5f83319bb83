//! Talking to the API: the session's bearer token and JSON requests.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Key of the token in `sessionStorage`: the token lives as long as the
/// browser tab's session and is never put in `localStorage`.
const TOKEN_KEY: &str = "llmos.token";

fn window() -> Result<web_sys::Window, String> {
    web_sys::window().ok_or_else(|| "no window".to_owned())
}

fn js_err(err: JsValue) -> String {
    err.as_string()
        .or_else(|| {
            js_sys::JSON::stringify(&err)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| "unknown browser error".to_owned())
}

/// Takes `?token=…` from the address bar once: stores it for the session
/// and removes it from the URL (and so from history and bookmarks).
pub fn capture_token_from_url() -> Result<(), String> {
    let window = window()?;
    let location = window.location();
    let href = location.href().map_err(js_err)?;
    let url = web_sys::Url::new(&href).map_err(js_err)?;
    let params = url.search_params();
    let Some(token) = params.get("token") else {
        return Ok(());
    };
    if let Some(storage) = window.session_storage().map_err(js_err)? {
        storage.set_item(TOKEN_KEY, &token).map_err(js_err)?;
    }
    params.delete("token");
    url.set_search(&params.to_string().as_string().unwrap_or_default());
    window
        .history()
        .map_err(js_err)?
        .replace_state_with_url(&JsValue::NULL, "", Some(&url.href()))
        .map_err(js_err)
}

/// The session's token, if the page was opened with one.
pub fn token() -> Option<String> {
    window()
        .ok()?
        .session_storage()
        .ok()??
        .get_item(TOKEN_KEY)
        .ok()?
}

/// `GET path` and parse the JSON answer; errors carry the API's message.
pub async fn get_json(path: &str) -> Result<serde_json::Value, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    let request = Request::new_with_str_and_init(path, &init).map_err(js_err)?;
    if let Some(token) = token() {
        request
            .headers()
            .set("authorization", &format!("Bearer {token}"))
            .map_err(js_err)?;
    }
    let response = JsFuture::from(window()?.fetch_with_request(&request))
        .await
        .map_err(js_err)?;
    let response: Response = response.dyn_into().map_err(js_err)?;
    let text = JsFuture::from(response.text().map_err(js_err)?)
        .await
        .map_err(js_err)?
        .as_string()
        .unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| format!("{path}: {err}"))?;
    if response.ok() {
        Ok(value)
    } else {
        Err(value["error"]["message"].as_str().map_or_else(
            || format!("{path}: HTTP {}", response.status()),
            str::to_owned,
        ))
    }
}
