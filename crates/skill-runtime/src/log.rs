//! The bounded log of one skill call: what it printed and logged.

/// Bytes kept per call; the rest is counted, not kept.
pub const MAX_LOG_BYTES: usize = 64 << 10;

/// What a skill wrote to its console or `log`, up to [`MAX_LOG_BYTES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    bytes: Vec<u8>,
    dropped: usize,
}

impl Log {
    /// Appends what fits and counts the rest.
    pub fn push(&mut self, data: &[u8]) {
        let take = data.len().min(self.room());
        self.bytes.extend_from_slice(&data[..take]);
        self.dropped += data.len() - take;
    }

    /// Bytes that still fit.
    pub fn room(&self) -> usize {
        MAX_LOG_BYTES - self.bytes.len()
    }

    /// The text kept (invalid UTF-8 replaced), with a last line saying how
    /// much was left out.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.dropped > 0 {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("… {} more bytes not kept\n", self.dropped));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_counts_the_rest() {
        let mut log = Log::default();
        log.push(b"hello\n");
        assert_eq!(log.text(), "hello\n");
        log.push(&vec![b'x'; MAX_LOG_BYTES]);
        assert_eq!(log.room(), 0);
        assert!(
            log.text().ends_with("… 6 more bytes not kept\n"),
            "{}",
            &log.text()[MAX_LOG_BYTES - 10..]
        );
    }
}
