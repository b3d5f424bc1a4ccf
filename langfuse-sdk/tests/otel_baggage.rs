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
