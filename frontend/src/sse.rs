//! The chat stream's events: parsed by the shared parser of
//! `llmos_core::sse`; this module reads the text of a `delta`.

pub use llmos_core::sse::{SseEvent, SseParser};

/// The text of a `delta` event: the data may be a JSON object with a
/// `text` (or `delta`) string, a JSON string, or plain text.
pub fn delta_text(data: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(o)) => ["text", "delta", "content"]
            .iter()
            .find_map(|k| o.get(*k).and_then(|v| v.as_str()))
            .unwrap_or_default()
            .to_owned(),
        _ => data.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_survive_any_chunking() {
        let stream = "event: delta\ndata: {\"text\": \"Hé\"}\n\n: ping\n\nevent: delta\r\ndata: line one\r\ndata: line two\r\n\r\nevent: done\ndata: {\"response\": \"x\"}\n\n";
        let bytes = stream.as_bytes();
        for step in [1, 2, 3, 7, bytes.len()] {
            let mut p = SseParser::default();
            let mut events = Vec::new();
            for chunk in bytes.chunks(step) {
                events.extend(p.push(chunk));
            }
            events.extend(p.finish());
            assert_eq!(events.len(), 3, "step {step}");
            assert_eq!(delta_text(&events[0].data), "Hé");
            assert_eq!(events[1].data, "line one\nline two");
            assert_eq!(events[2].name(), "done");
        }
    }

    #[test]
    fn an_unterminated_last_event_is_delivered_on_finish() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: tail").is_empty());
        let events = p.finish();
        assert_eq!(
            events,
            [SseEvent {
                event: None,
                data: "tail".into()
            }]
        );
        assert_eq!(delta_text("\"quoted\""), "quoted");
        assert_eq!(delta_text("plain"), "plain");
        assert_eq!(delta_text("{\"delta\": \"d\"}"), "d");
    }
}
