//! Issue 20, part 2: trace attributes through a W3C `baggage` header, checked on the
//! observations exported on the receiving side.
#![cfg(all(feature = "opentelemetry", feature = "testing"))]

use std::time::Duration;

use langfuse_sdk::otel::{current_baggage, from_baggage, to_baggage};
use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::{Langfuse, TraceAttributes};

#[test]
fn baggage_round_trip_lands_on_the_receiving_observation() {
    let attrs = TraceAttributes::new()
        .user_id("user 1/é")
        .session_id("session,1")
        .version("v2")
        .name("checkout")
        .tags(["a", "b c", "has,comma"])
        .metadata("tenant", &"acme;corp")
        .metadata("n", &42)
        .release("stays-home");
    let header = to_baggage(&attrs);
    // Only the `langfuse_` keys, percent-encoded; the release and the tag with a comma stay out.
    assert!(
        header.split(',').all(|m| m.starts_with("langfuse_")),
        "{header}"
    );
    assert!(!header.contains("stays-home") && !header.contains("release"));
    assert!(
        header.contains("langfuse_session_id=session%2C1"),
        "{header}"
    );
    assert!(header.contains("langfuse_tags=a%2Cb%20c"), "{header}");
    // Metadata strings as plain text (no JSON quotes), as the official SDKs send them.
    assert!(
        header.contains("langfuse_metadata_tenant=acme%3Bcorp"),
        "{header}"
    );
    assert!(header.contains("langfuse_metadata_n=42"), "{header}");

    // The receiving side: other vendors' entries and properties around ours.
    let received = format!("other=1;prop=x,{header},langfuse_=,junk");
    let back = from_baggage(&received);
    assert_eq!(back.user_id_ref(), Some("user 1/é"));
    assert_eq!(back.session_id_ref(), Some("session,1"));
    assert_eq!(back.name_ref(), Some("checkout"));
    assert_eq!(back.tags_ref(), ["a", "b c"]);

    let exporter = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exporter.clone())
        .build()
        .unwrap();
    {
        let _attrs = langfuse_sdk::propagate_attributes(back);
        // What goes out of this process again is what came in.
        assert_eq!(current_baggage(), header);
        lf.span("handler").start().end();
    }
    lf.flush(Duration::from_secs(5)).unwrap();
    let spans = exporter.spans();
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.attr_str("user.id"), Some("user 1/é"));
    assert_eq!(s.attr_str("session.id"), Some("session,1"));
    assert_eq!(s.attr_str("langfuse.version"), Some("v2"));
    assert_eq!(s.attr_str("langfuse.trace.name"), Some("checkout"));
    assert_eq!(
        s.attr_strings("langfuse.trace.tags"),
        Some(vec!["a".to_string(), "b c".to_string()])
    );
    assert_eq!(
        s.attr_json("langfuse.trace.metadata.tenant"),
        Some(serde_json::json!("acme;corp"))
    );
    // A non-string value travels as its JSON text and arrives as that text, a string.
    assert_eq!(
        s.attr_json("langfuse.trace.metadata.n"),
        Some(serde_json::json!("42"))
    );
}

#[test]
fn empty_attributes_make_an_empty_header() {
    assert_eq!(to_baggage(&TraceAttributes::new()), "");
    let none = from_baggage("");
    assert_eq!(none.user_id_ref(), None);
    assert!(none.tags_ref().is_empty());
}

#[test]
fn header_interoperates_with_the_opentelemetry_baggage_propagator() {
    use opentelemetry::baggage::{Baggage, BaggageExt};
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry_sdk::propagation::BaggagePropagator;
    use std::collections::HashMap;

    // Ours → OpenTelemetry's extractor.
    let attrs = TraceAttributes::new()
        .user_id("user 1/é")
        .session_id("s;1")
        .metadata("tenant", &"acme");
    let carrier = HashMap::from([("baggage".to_string(), to_baggage(&attrs))]);
    let cx = BaggagePropagator::new().extract(&carrier);
    let get = |k: &str| cx.baggage().get(k).map(|v| v.as_str().to_string());
    assert_eq!(get("langfuse_user_id").as_deref(), Some("user 1/é"));
    assert_eq!(get("langfuse_session_id").as_deref(), Some("s;1"));
    assert_eq!(get("langfuse_metadata_tenant").as_deref(), Some("acme"));

    // OpenTelemetry's injector (as another service using the official SDKs sends it) → ours.
    let mut b = Baggage::new();
    b.insert("langfuse_user_id", "user 2, ü");
    b.insert("langfuse_session_id", "session=2");
    b.insert("unrelated", "x");
    let mut out = HashMap::new();
    BaggagePropagator::new()
        .inject_context(&opentelemetry::Context::new().with_baggage(b), &mut out);
    let back = from_baggage(&out["baggage"]);
    assert_eq!(back.user_id_ref(), Some("user 2, ü"));
    assert_eq!(back.session_id_ref(), Some("session=2"));
}
