//! A Server-Sent Events parser for the chat stream: bytes in, complete
//! events out, whatever the chunk boundaries (a UTF-8 character or a line
//! may be split across network reads).

/// One event: its `event:` name (`message` when absent) and its `data:`
/// lines joined with newlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Accumulates bytes and yields events at each blank line.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            self.line(&line, &mut events);
        }
        events
    }

    /// Ends the stream: an event not followed by a blank line still counts.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            let line = String::from_utf8_lossy(&rest).into_owned();
            self.line(line.trim_end_matches('\r'), &mut events);
        }
        self.line("", &mut events);
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if !self.data.is_empty() || self.event.is_some() {
                events.push(SseEvent {
                    event: self.event.take().unwrap_or_else(|| "message".to_owned()),
                    data: std::mem::take(&mut self.data).join("\n"),
                });
            }
            return;
        }
        if line.starts_with(':') {
            return; // A comment (keep-alive).
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }
}

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
            assert_eq!(events[2].event, "done");
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
                event: "message".into(),
                data: "tail".into()
            }]
        );
        assert_eq!(delta_text("\"quoted\""), "quoted");
        assert_eq!(delta_text("plain"), "plain");
        assert_eq!(delta_text("{\"delta\": \"d\"}"), "d");
    }
}
