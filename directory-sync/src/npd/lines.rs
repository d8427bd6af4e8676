//! Line-by-line NDJSON reading with bounded memory: one reused buffer, lines longer than
//! [`MAX_LINE`] reported and skipped rather than buffered.

use std::io::BufRead;

/// The longest line kept (a Practitioner line is a few KB).
pub const MAX_LINE: usize = 16 << 20;

pub enum Line<'a> {
    Json(&'a [u8]),
    TooLong,
}

pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::with_capacity(64 << 10),
            number: 0,
        }
    }

    /// The next non-blank line and its 1-based number; `None` at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        loop {
            self.buf.clear();
            self.number += 1;
            let limit = (MAX_LINE + 1) as u64;
            let n = <&mut R as std::io::Read>::take(&mut self.reader, limit)
                .read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            if self.buf.len() > MAX_LINE && self.buf.last() != Some(&b'\n') {
                // Skip the rest of the line without keeping it.
                loop {
                    let available = self.reader.fill_buf()?;
                    if available.is_empty() {
                        break;
                    }
                    match memchr(b'\n', available) {
                        Some(i) => {
                            self.reader.consume(i + 1);
                            break;
                        }
                        None => {
                            let len = available.len();
                            self.reader.consume(len);
                        }
                    }
                }
                return Ok(Some((self.number, Line::TooLong)));
            }
            let line = trim(&self.buf);
            if line.is_empty() {
                continue;
            }
            let number = self.number;
            let line = trim(&self.buf);
            return Ok(Some((number, Line::Json(line))));
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end]
}

/// serde_json's message for a line, with the column, as the malformed-row reason.
pub fn json_reason(e: &serde_json::Error) -> String {
    format!("invalid JSON: {e}")
}
