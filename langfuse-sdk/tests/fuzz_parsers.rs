//! Property-based fuzzing (a bounded run on every test) of everything in the SDK that reads
//! outside data or writes the wire: `traceparent` and id parsing, configuration from the
//! environment, value capture, and OTLP encoding of arbitrary attribute values. Nothing may
//! panic; what is produced must decode.

use std::time::Duration;

use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::{
    Langfuse, LangfuseBuilder, ObservationId, RemoteParent, TraceAttributes, TraceId,
};
use proptest::prelude::*;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn traceparent_parsing_never_panics(s in "\\PC{0,80}") {
        let _ = RemoteParent::from_traceparent(&s);
        let _ = s.parse::<TraceId>();
        let _ = s.parse::<ObservationId>();
    }

    #[test]
    fn valid_traceparents_round_trip(t in "[0-9a-f]{32}", o in "[0-9a-f]{16}", sampled in any::<bool>()) {
        prop_assume!(t != "0".repeat(32) && o != "0".repeat(16));
        let header = format!("00-{t}-{o}-{}", if sampled { "01" } else { "00" });
        let p = RemoteParent::from_traceparent(&header).unwrap();
        prop_assert_eq!(p.to_traceparent(), header);
    }

    #[test]
    fn configuration_from_any_environment_never_panics(
        values in proptest::collection::vec("\\PC{0,30}", 16)
    ) {
        let keys = [
            "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL", "LANGFUSE_HOST",
            "LANGFUSE_TRACING_ENVIRONMENT", "LANGFUSE_RELEASE", "LANGFUSE_SAMPLE_RATE",
            "LANGFUSE_FLUSH_AT", "LANGFUSE_FLUSH_INTERVAL", "LANGFUSE_TIMEOUT", "LANGFUSE_DEBUG",
            "LANGFUSE_TRACING_ENABLED", "LANGFUSE_MAX_QUEUE_SIZE", "LANGFUSE_MAX_RETRIES",
            "LANGFUSE_EXPORTER", "LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED",
        ];
        let (b, _warnings) = LangfuseBuilder::from_lookup(|k| {
            keys.iter().position(|x| *x == k).map(|i| values[i].clone())
        });
        // Whatever the environment said, the result builds (invalid values were replaced),
        // except for a base URL or key that cannot work: that fails, naming its variable.
        let lf = b.exporter(langfuse_sdk::ExporterKind::Disabled).build();
        if let Err(e) = &lf {
            prop_assert!(
                e.is_config()
                    && matches!(
                        e.setting(),
                        Some("LANGFUSE_BASE_URL" | "LANGFUSE_HOST" | "LANGFUSE_PUBLIC_KEY" | "LANGFUSE_SECRET_KEY")
                    ),
                "{:?}",
                e
            );
        }
    }

    #[test]
    fn any_value_is_captured_and_exported_as_valid_text(v in arb_json(), s in "\\PC{0,200}") {
        let exp = InMemoryExporter::new();
        let lf = Langfuse::builder().in_memory_exporter(exp.clone()).build().unwrap();
        let obs = lf.span(s.clone()).input(&v).start();
        obs.set_output(&s).set_metadata(&v).set_metadata_value(s.clone(), &v);
        obs.update_trace(TraceAttributes::new().metadata(s.clone(), &v).tags([s.clone()]));
        obs.end();
        lf.flush(Duration::from_secs(10)).unwrap();
        let spans = exp.spans();
        prop_assert_eq!(spans.len(), 1);
        let span = &spans[0];
        prop_assert_eq!(span.name(), s.as_str());
        prop_assert_eq!(span.attr_str("langfuse.observation.output"), Some(s.as_str()));
        // Non-string inputs are JSON text that parses back to the value.
        if !v.is_string() {
            let back: serde_json::Value =
                serde_json::from_str(span.attr_str("langfuse.observation.input").unwrap()).unwrap();
            prop_assert_eq!(back, v.clone());
        }
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(|n| serde_json::json!(n)),
        (-1e12f64..1e12).prop_map(|f| serde_json::json!(f)),
        "\\PC{0,20}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
