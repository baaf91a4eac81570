//! A stream of top-level JSON values read from any `Read`, that survives garbage.
//!
//! serde_json's `StreamDeserializer` reads concatenated values (one per line, pretty-printed,
//! or back to back) without loading the input whole, but it stops for good at the first
//! error. `ValueStream` restarts it: after an error it scans forward to the next `{` that
//! plausibly starts an object — the first non-blank byte of a line, or a `{` right after a
//! `}` — and opens a new deserializer there. Every byte passes through `Counting`, which
//! knows the line and column of each, so each value and each unparseable fragment is
//! reported with the line it started on.

use std::io::{self, Read};

use serde_json::Value;

/// A reader that counts lines and columns of the bytes it hands out, and remembers enough
/// about the bytes before the last one to say whether that one could start an object.
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    /// 1-based line of the last byte handed out (of the next one, before any).
    line: usize,
    /// 1-based column of the last byte handed out.
    column: usize,
    last: Option<u8>,
    /// Only blanks since the last newline, not counting `last`.
    blank_line_before_last: bool,
    /// The last non-blank byte before `last`.
    non_blank_before_last: Option<u8>,
    /// Line of the first non-blank byte handed out since `mark` (where a value starts).
    value_start_line: Option<usize>,
}

impl<R: Read> Counting<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            line: 1,
            column: 0,
            last: None,
            blank_line_before_last: true,
            non_blank_before_last: None,
            value_start_line: None,
        }
    }

    fn note(&mut self, byte: u8) {
        if let Some(previous) = self.last {
            if previous == b'\n' {
                self.blank_line_before_last = true;
                self.line += 1;
                self.column = 0;
            } else if !previous.is_ascii_whitespace() {
                self.blank_line_before_last = false;
                self.non_blank_before_last = Some(previous);
            }
        }
        self.column += 1;
        self.last = Some(byte);
        if self.value_start_line.is_none() && !byte.is_ascii_whitespace() {
            self.value_start_line = Some(self.line);
        }
    }

    /// Whether the last byte handed out is a `{` that can start a top-level object.
    fn last_starts_object(&self) -> bool {
        self.last == Some(b'{')
            && (self.blank_line_before_last || self.non_blank_before_last == Some(b'}'))
    }

    /// Reads one byte; `None` at the end of the input.
    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let mut byte = [0u8; 1];
        match self.read(&mut byte)? {
            0 => Ok(None),
            _ => Ok(Some(byte[0])),
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // serde_json's reader asks for one byte at a time; counting each keeps positions exact.
        let want = buf.len().min(1);
        let got = self.inner.read(&mut buf[..want])?;
        if got == 1 {
            self.note(buf[0]);
        }
        Ok(got)
    }
}

/// One item of the stream: a value, or a fragment that did not parse.
#[derive(Debug)]
pub enum Item {
    /// A JSON value that started on `line`.
    Value { line: usize, value: Value },
    /// Bytes from `line` that are not JSON; `reason` says what was wrong and where.
    Garbage { line: usize, reason: String },
}

/// Top-level JSON values of a reader, with resynchronisation after garbage.
#[derive(Debug)]
pub struct ValueStream<R> {
    reader: Counting<R>,
    /// A `{` already read from `reader` that the next deserializer must see first.
    replay_brace: bool,
    finished: bool,
}

/// serde_json's message without its " at line L column C" (relative to a restart, so wrong).
fn bare_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

impl<R: Read> ValueStream<R> {
    /// A stream over `reader` (give it a buffered reader: bytes are pulled one at a time).
    pub fn new(reader: R) -> Self {
        Self {
            reader: Counting::new(reader),
            replay_brace: false,
            finished: false,
        }
    }

    /// The line the stream has read up to (for errors that end it).
    pub fn line(&self) -> usize {
        self.reader.line
    }

    /// Scans to the next byte that can start an object; false at the end of the input.
    fn resynchronise(&mut self) -> io::Result<bool> {
        if self.reader.last_starts_object() {
            return Ok(true);
        }
        while let Some(_byte) = self.reader.next_byte()? {
            if self.reader.last_starts_object() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The next value or fragment; `Ok(None)` at the end. An I/O error ends the stream.
    pub fn next_item(&mut self) -> io::Result<Option<Item>> {
        if self.finished {
            return Ok(None);
        }
        let replay: &[u8] = if self.replay_brace { b"{" } else { b"" };
        let replayed_line = self.replay_brace.then_some(self.reader.line);
        self.replay_brace = false;
        self.reader.value_start_line = replayed_line;
        let outcome = {
            let source = replay.chain(&mut self.reader);
            let mut values = serde_json::Deserializer::from_reader(source).into_iter::<Value>();
            values.next()
        };
        let line = self.reader.value_start_line.unwrap_or(self.reader.line);
        match outcome {
            None => {
                self.finished = true;
                Ok(None)
            }
            Some(Ok(value)) => Ok(Some(Item::Value { line, value })),
            Some(Err(error)) if error.is_io() => Err(io::Error::other(error)),
            Some(Err(error)) => {
                let reason = format!(
                    "{} (at line {} column {})",
                    bare_message(&error),
                    self.reader.line,
                    self.reader.column
                );
                if error.is_eof() || !self.resynchronise()? {
                    self.finished = true;
                } else {
                    self.replay_brace = true;
                }
                Ok(Some(Item::Garbage { line, reason }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<String> {
        let mut stream = ValueStream::new(text.as_bytes());
        let mut out = Vec::new();
        for _ in 0..100 {
            match stream.next_item().expect("in-memory reads do not fail") {
                Some(Item::Value { line, value }) => out.push(format!("{line}: {value}")),
                Some(Item::Garbage { line, .. }) => out.push(format!("{line}: garbage")),
                None => break,
            }
        }
        out
    }

    // Proves values are found one per line, pretty-printed, and back to back, with the
    // line each starts on.
    #[test]
    fn finds_values_in_any_layout() {
        let text = "{\"a\":1}\n{\n  \"b\": 2\n}{\"c\":3} {\"d\":4}\n";
        assert_eq!(
            items(text),
            [
                "1: {\"a\":1}",
                "2: {\"b\":2}",
                "4: {\"c\":3}",
                "4: {\"d\":4}"
            ]
        );
    }

    // Proves a truncated object and stray text are reported once each, at their line, and
    // the objects after them are still read.
    #[test]
    fn resynchronises_after_garbage() {
        let text = "{\"a\":1}\n{\"broken\": tru\n{\"b\":2}\nnot json at all\n{\"c\":3}";
        assert_eq!(
            items(text),
            [
                "1: {\"a\":1}",
                "2: garbage",
                "3: {\"b\":2}",
                "4: garbage",
                "5: {\"c\":3}"
            ]
        );
    }

    // Proves an object cut off by the end of the input is reported, not lost.
    #[test]
    fn reports_truncated_tail() {
        assert_eq!(items("{\"a\":1}\n{\"b\":"), ["1: {\"a\":1}", "2: garbage"]);
    }
}
