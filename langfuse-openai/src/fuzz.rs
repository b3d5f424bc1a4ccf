//! Entry points for fuzzing (`fuzz/`) and for replaying its corpus in the normal tests. Not a
//! public API.

/// Feeds `data` to the event-stream parser in chunks (the first byte sets the chunk size), and
/// decodes every event as a stream chunk. Must never panic.
pub fn sse(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let size = usize::from(first % 64) + 1;
    let mut p = crate::sse::Parser::default();
    let mut events = Vec::new();
    for chunk in rest.chunks(size) {
        match p.feed(chunk) {
            Ok(ev) => events.extend(ev),
            Err(_) => return,
        }
    }
    if let Ok(ev) = p.finish() {
        events.extend(ev);
    }
    for e in events {
        if let crate::sse::Event::Data(d) = e {
            let _ = serde_json::from_str::<crate::ChatChunk>(&d);
        }
    }
}

/// Decodes `data` as every response body the client reads. Must never panic.
pub fn responses(data: &[u8]) {
    let _ = serde_json::from_slice::<crate::ChatResponse>(data);
    let _ = serde_json::from_slice::<crate::ChatChunk>(data);
    let _ = serde_json::from_slice::<crate::EmbeddingResponse>(data);
    let _ = serde_json::from_slice::<crate::types::ModelList>(data);
    let _ = serde_json::from_slice::<crate::types::ErrorBody>(data);
}
