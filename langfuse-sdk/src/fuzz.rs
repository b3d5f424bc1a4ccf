//! Entry points for fuzzing (`fuzz/`) and for replaying its corpus in the normal tests. Not a
//! public API.

/// Parses `data` as a `traceparent` and as ids; a parsed header must render back the same.
pub fn traceparent(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = crate::RemoteParent::from_traceparent(s) {
        let again = crate::RemoteParent::from_traceparent(&p.to_traceparent());
        assert_eq!(
            again.ok(),
            Some(p),
            "a parsed traceparent renders back the same"
        );
    }
    let _ = s.parse::<crate::TraceId>();
    let _ = s.parse::<crate::ObservationId>();
}

/// Gzips a request made from `data` and checks that `gunzip` gives it back. The first byte is
/// the prefix's length; then a count of id ranges (at most 32), five bytes each (start as `u16`,
/// length, whether to probe, unused), describe ranges of the rest, which is the spans.
pub fn gzip(data: &[u8], gunzip: impl Fn(&[u8]) -> Vec<u8>) {
    let (&prefix_len, rest) = data.split_first().unwrap_or((&0, &[]));
    let (&count, mut rest) = rest.split_first().unwrap_or((&0, &[]));
    let mut ids = Vec::new();
    for _ in 0..count.min(32) {
        let Some((r, tail)) = rest.split_first_chunk::<5>() else {
            break;
        };
        ids.push(crate::export::gzip::Opaque {
            start: u32::from(u16::from_le_bytes([r[0], r[1]])),
            len: u32::from(r[2]),
            probe: r[3] & 1 == 1,
        });
        rest = tail;
    }
    // The compressor expects ranges in increasing order, as the encoder writes them.
    ids.sort_by_key(|o| o.start);
    let (prefix, spans) = rest.split_at(usize::from(prefix_len).min(rest.len()));
    let z = crate::export::gzip::Gzip::default().compress(prefix, spans, &ids);
    assert!(gunzip(&z) == rest, "gzip gives back what it compressed");
}

/// Reads the environment from `data` (one value per line, in a fixed order of variables); the
/// result builds, or fails naming an unusable base URL or key.
pub fn env(data: &[u8]) {
    const KEYS: [&str; 16] = [
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
        "LANGFUSE_BASE_URL",
        "LANGFUSE_HOST",
        "LANGFUSE_TRACING_ENVIRONMENT",
        "LANGFUSE_RELEASE",
        "LANGFUSE_SAMPLE_RATE",
        "LANGFUSE_FLUSH_AT",
        "LANGFUSE_FLUSH_INTERVAL",
        "LANGFUSE_TIMEOUT",
        "LANGFUSE_DEBUG",
        "LANGFUSE_TRACING_ENABLED",
        "LANGFUSE_MAX_QUEUE_SIZE",
        "LANGFUSE_MAX_RETRIES",
        "LANGFUSE_EXPORTER",
        "LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED",
    ];
    let text = String::from_utf8_lossy(data);
    let values: Vec<&str> = text.split('\n').collect();
    let (b, _) = crate::LangfuseBuilder::from_lookup(|k| {
        KEYS.iter()
            .position(|x| *x == k)
            .and_then(|i| values.get(i))
            .map(|v| v.to_string())
    });
    // Always builds, except for a base URL or key that cannot work, which fails naming it.
    if let Err(e) = b.exporter(crate::ExporterKind::Disabled).build() {
        assert!(
            e.is_config()
                && matches!(
                    e.setting(),
                    Some(
                        "LANGFUSE_BASE_URL"
                            | "LANGFUSE_HOST"
                            | "LANGFUSE_PUBLIC_KEY"
                            | "LANGFUSE_SECRET_KEY"
                    )
                ),
            "configuration from the environment builds or names an unusable URL or key: {e}"
        );
    }
}

/// Captures `data` (as JSON when it parses, else as text) as input, output and metadata of an
/// observation, encodes it to OTLP and decodes it back. Needs feature `testing`.
pub fn capture_and_encode(data: &[u8]) {
    use std::sync::OnceLock;
    use std::time::Duration;
    static CLIENT: OnceLock<(crate::Langfuse, crate::testing::InMemoryExporter)> = OnceLock::new();
    let (lf, exp) = CLIENT.get_or_init(|| {
        let exp = crate::testing::InMemoryExporter::new();
        let lf = crate::Langfuse::builder()
            .in_memory_exporter(exp.clone())
            .max_observation_bytes(64 * 1024)
            .build()
            .expect("client");
        (lf, exp)
    });
    exp.clear();
    let text = String::from_utf8_lossy(data).to_string();
    let obs = lf.span(text.clone()).start();
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(v) => {
            obs.set_input(&v).set_metadata(&v);
        }
        Err(_) => {
            obs.set_input(text.as_str());
        }
    }
    obs.set_output(text.as_str())
        .set_metadata_value(text.clone(), &text)
        .update_trace(
            crate::TraceAttributes::new()
                .tags([text.clone()])
                .metadata(text.clone(), &text),
        );
    obs.end();
    lf.flush(Duration::from_secs(10)).expect("flush");
    let spans = exp.spans();
    assert_eq!(spans.len(), 1, "the observation is exported");
}
