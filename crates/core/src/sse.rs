//! Server-sent events (the `text/event-stream` format): bytes in, complete
//! events out, whatever the chunk boundaries — a line, a `\r\n` or a UTF-8
//! character may be split across network reads. The chat component reads
//! model providers' streams with it and the browser reads the chat's.

/// One event: its `event:` field, if any, and its `data:` lines joined
/// with newlines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    /// The event's type: its `event:` field, or `message` without one.
    pub fn name(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Accumulates bytes and yields an event at each blank line. Comments
/// (`:` lines, used as keep-alives) and unknown fields are skipped.
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
        let mut start = 0;
        while let Some(at) = self.buffer[start..].iter().position(|&b| b == b'\n') {
            let end = start + at;
            let line = self.buffer[start..end]
                .strip_suffix(b"\r")
                .unwrap_or(&self.buffer[start..end]);
            let line = String::from_utf8_lossy(line).into_owned();
            self.line(&line, &mut events);
            start = end + 1;
        }
        self.buffer.drain(..start);
        events
    }

    /// Ends the stream: a last line without its newline, and an event not
    /// followed by a blank line, still count.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            let rest = rest.strip_suffix(b"\r").unwrap_or(&rest);
            self.line(&String::from_utf8_lossy(rest), &mut events);
        }
        self.line("", &mut events);
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if !self.data.is_empty() || self.event.is_some() {
                events.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data).join("\n"),
                });
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "event: delta\ndata: {\"text\": \"Hé\"}\n\n: ping\n\n\
        event: delta\r\ndata: line one\r\ndata: line two\r\n\r\n\
        data: no name\n\nevent: done\ndata: {\"response\": \"x\"}\n\n";

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for chunk in chunks {
            events.extend(parser.push(chunk));
        }
        events.extend(parser.finish());
        events
    }

    #[test]
    fn events_survive_any_split() {
        let bytes = STREAM.as_bytes();
        let whole = parse(&[bytes]);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0].data, "{\"text\": \"Hé\"}");
        assert_eq!(whole[1].data, "line one\nline two");
        assert_eq!(
            (whole[2].name(), whole[2].data.as_str()),
            ("message", "no name")
        );
        assert_eq!(whole[3].name(), "done");
        for split in 1..bytes.len() {
            assert_eq!(
                parse(&[&bytes[..split], &bytes[split..]]),
                whole,
                "split at {split}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(parse(&singles), whole);
    }

    #[test]
    fn the_end_of_the_stream_completes_the_last_event() {
        assert_eq!(
            parse(&[b"data: tail"]),
            [SseEvent {
                event: None,
                data: "tail".into()
            }]
        );
        assert_eq!(parse(&[b"event: x\r\n"])[0].name(), "x");
        assert!(parse(&[b": only a comment\n"]).is_empty());
        assert!(parse(&[b""]).is_empty());
    }
}
