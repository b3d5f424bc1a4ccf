//! A server-sent events parser for chat completion streams.
//!
//! Written here rather than taken from a crate because the client needs three things together:
//! a bound on the buffered line (a hostile or broken gateway must not grow memory without
//! limit), UTF-8 decoding that survives a character split across network chunks, and errors of
//! the client's own type. It follows the SSE spec's line rules: `\n`, `\r\n` and `\r` end lines,
//! lines starting with `:` are comments (keep-alives), `data:` lines of one event are joined with
//! `\n`, a blank line dispatches the event, other fields are ignored.

use crate::error::Error;

/// Longest line (and event) accepted.
pub(crate) const MAX_LINE: usize = 8 * 1024 * 1024;

/// What the parser produced.
#[derive(Debug, PartialEq)]
pub(crate) enum Event {
    /// The data of one event.
    Data(String),
    /// `data: [DONE]`.
    Done,
}

/// Incremental parser: feed bytes, take events.
#[derive(Default)]
pub(crate) struct Parser {
    buf: Vec<u8>,
    data: Option<String>,
    last_was_cr: bool,
}

impl Parser {
    /// Feeds a chunk; returns the events it completed.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, Error> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.last_was_cr {
                self.last_was_cr = false;
                if b == b'\n' {
                    continue; // the \n of a \r\n
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.last_was_cr = b == b'\r';
                    let line = std::mem::take(&mut self.buf);
                    self.line(&line, &mut out)?;
                }
                _ => {
                    if self.buf.len() >= MAX_LINE {
                        return Err(Error::stream(format!(
                            "a line longer than {MAX_LINE} bytes"
                        )));
                    }
                    self.buf.push(b);
                }
            }
        }
        Ok(out)
    }

    /// Ends the input: a last event without its blank line is still delivered.
    pub(crate) fn finish(&mut self) -> Result<Vec<Event>, Error> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.line(&line, &mut out)?;
        }
        self.dispatch(&mut out);
        Ok(out)
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(()); // comment / keep-alive
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| Error::stream("an event line is not valid UTF-8"))?;
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        if field == "data" {
            let d = self.data.get_or_insert_with(String::new);
            if d.len() + value.len() + 1 > MAX_LINE {
                return Err(Error::stream(format!(
                    "an event longer than {MAX_LINE} bytes"
                )));
            }
            if !d.is_empty() {
                d.push('\n');
            }
            d.push_str(value);
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if let Some(d) = self.data.take() {
            if d.trim() == "[DONE]" {
                out.push(Event::Done);
            } else {
                out.push(Event::Data(d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[&[u8]]) -> Result<Vec<Event>, Error> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in input {
            out.extend(p.feed(c)?);
        }
        out.extend(p.finish()?);
        Ok(out)
    }

    fn data(s: &str) -> Event {
        Event::Data(s.to_string())
    }

    #[test]
    fn recorded_litellm_stream() {
        let body = include_bytes!("../tests/fixtures/key-chat-mock-stream-usage.body");
        let events = all(&[body]).unwrap();
        assert_eq!(events.len(), 13);
        assert_eq!(events.last(), Some(&Event::Done));
        for e in &events[..12] {
            match e {
                Event::Data(d) => {
                    serde_json::from_str::<serde_json::Value>(d).unwrap();
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn split_anywhere_gives_the_same_events() {
        let body: &[u8] = b"data: {\"a\":\"\xc3\xa9\"}\r\n\r\n: keep-alive\n\ndata:x\ndata: y\n\nevent: ping\nid: 3\nretry: 10\n\ndata: [DONE]\n\n";
        let whole = all(&[body]).unwrap();
        assert_eq!(
            whole,
            vec![data("{\"a\":\"é\"}"), data("x\ny"), Event::Done]
        );
        for i in 0..body.len() {
            assert_eq!(
                all(&[&body[..i], &body[i..]]).unwrap(),
                whole,
                "split at {i}"
            );
        }
        let bytewise: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(all(&bytewise).unwrap(), whole);
    }

    #[test]
    fn cr_only_line_endings_and_missing_trailing_blank_line() {
        assert_eq!(
            all(&[b"data: 1\r\rdata: 2"]).unwrap(),
            vec![data("1"), data("2")]
        );
        assert_eq!(all(&[b"data: [DONE]"]).unwrap(), vec![Event::Done]);
        assert_eq!(all(&[b""]).unwrap(), vec![]);
        assert_eq!(all(&[b"\n\n\n"]).unwrap(), vec![]);
    }

    #[test]
    fn hostile_input_gives_errors_not_panics() {
        assert!(all(&[b"data: \xff\xfe\n\n"]).unwrap_err().is_stream());
        let long = vec![b'a'; MAX_LINE + 1];
        assert!(all(&[&long]).unwrap_err().is_stream());
        // Garbage that is still SSE is passed on; the JSON layer rejects it.
        assert_eq!(
            all(&[b"data: {not json\n\n"]).unwrap(),
            vec![data("{not json")]
        );
    }
}

#[cfg(test)]
mod fuzz {
    //! Property-based fuzzing of the stream parser and the response decoders (bounded run).
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_in_arbitrary_chunks_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut p = Parser::default();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut last = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                if p.feed(&bytes[last..c]).is_err() {
                    return Ok(());
                }
                last = c;
            }
            let _ = p.finish();
        }

        #[test]
        fn events_survive_any_chunking(
            datas in proptest::collection::vec("[^\r\n]{0,40}", 1..6),
            crlf in any::<bool>(),
            cut in any::<usize>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let body: String = datas.iter().map(|d| format!("data: {d}{nl}{nl}")).collect();
            let b = body.as_bytes();
            let cut = cut % (b.len() + 1);
            let mut p = Parser::default();
            let mut got = p.feed(&b[..cut]).unwrap();
            got.extend(p.feed(&b[cut..]).unwrap());
            got.extend(p.finish().unwrap());
            let want: Vec<Event> = datas
                .iter()
                .map(|d| if d.trim() == "[DONE]" { Event::Done } else { Event::Data(d.clone()) })
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn response_decoders_never_panic(s in "\\PC{0,300}") {
            let _ = serde_json::from_str::<crate::ChatResponse>(&s);
            let _ = serde_json::from_str::<crate::ChatChunk>(&s);
            let _ = serde_json::from_str::<crate::EmbeddingResponse>(&s);
            let _ = serde_json::from_str::<crate::types::ErrorBody>(&s);
        }

        #[test]
        fn lenient_json_shapes_decode(
            content in proptest::option::of("\\PC{0,20}"),
            code_as_number in any::<bool>(),
            tokens in proptest::option::of(0u64..100_000),
        ) {
            let body = serde_json::json!({
                "id": "x",
                "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": tokens, "completion_tokens": "7", "total_tokens": null},
                "unknown_field": {"kept": true},
            });
            let r: crate::ChatResponse = serde_json::from_value(body).unwrap();
            prop_assert_eq!(r.text(), content.as_deref());
            prop_assert_eq!(r.usage.as_ref().unwrap().prompt_tokens, tokens);
            prop_assert_eq!(r.usage.as_ref().unwrap().completion_tokens, Some(7));
            prop_assert!(r.extra.contains_key("unknown_field"));
            let err = if code_as_number {
                serde_json::json!({"error": {"message": "m", "code": 429}})
            } else {
                serde_json::json!({"error": {"message": "m", "code": "429"}})
            };
            let e: crate::types::ErrorBody = serde_json::from_value(err).unwrap();
            prop_assert!(e.error.unwrap().code.is_some());
        }
    }
}
