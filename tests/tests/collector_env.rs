//! Sending through an OpenTelemetry Collector, configured only through the standard OTLP
//! variables (injected with `LangfuseBuilder::from_lookup`): the in-process receiver decodes
//! what arrived and checks the path, the headers, the resource and the compression.

use std::collections::HashMap;
use std::time::Duration;

use langfuse_sdk::testing::ExportedSpan;
use langfuse_sdk::{Langfuse, LangfuseBuilder, Score};
use langfuse_tests::{Captured, Reply, ScriptServer};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

const T: Duration = Duration::from_secs(10);

/// A receiver that accepts every request as an OTLP receiver does (200, empty protobuf).
fn receiver() -> ScriptServer {
    ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()))
}

fn from_vars(vars: &[(&str, String)]) -> (LangfuseBuilder, Vec<String>) {
    let m: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    LangfuseBuilder::from_lookup(move |k| m.get(k).cloned())
}

/// Records a trace of two observations and shuts down (delivering them).
fn record(lf: &Langfuse) {
    let root = lf.span("collector-root").input("q").start();
    let _in = root.enter();
    lf.generation("collector-llm").model("m").start().end();
    root.end();
    lf.shutdown(T).expect("delivered");
}

fn resource_attrs(req: &Captured) -> HashMap<String, String> {
    req.otlp()
        .resource_spans
        .into_iter()
        .flat_map(|rs| rs.resource.unwrap_or_default().attributes)
        .filter_map(|kv| match kv.value?.value? {
            Value::StringValue(s) => Some((kv.key, s)),
            _ => None,
        })
        .collect()
}

#[test]
fn traces_endpoint_headers_resource_and_no_keys() {
    let server = receiver();
    let (b, warnings) = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/custom/traces", server.url()),
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-tenant=acme, x-token=a%20b%3Dc".into(),
        ),
        // The traces list wins for the same name.
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=beta".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod,team=search%2Fml".into(),
        ),
        ("OTEL_SERVICE_NAME", "checkout".into()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none".into()),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let lf = b.build().expect("valid configuration");
    assert!(
        lf.is_enabled(),
        "no keys, but an endpoint: tracing stays on"
    );
    record(&lf);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let req = &reqs[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/custom/traces");
    assert_eq!(req.header("x-tenant"), Some("beta"));
    assert_eq!(req.header("x-token"), Some("a b=c"));
    assert_eq!(
        req.header("authorization"),
        None,
        "no keys: no Authorization"
    );
    assert_eq!(req.header("x-langfuse-public-key"), None);
    assert_eq!(req.header("x-langfuse-ingestion-version"), Some("4"));
    assert_eq!(req.header("content-encoding"), None, "compression none");
    assert_eq!(req.raw_body, req.body);
    let res = resource_attrs(req);
    assert_eq!(
        res.get("service.name").map(String::as_str),
        Some("checkout")
    );
    assert_eq!(
        res.get("deployment.environment").map(String::as_str),
        Some("prod")
    );
    assert_eq!(res.get("team").map(String::as_str), Some("search/ml"));
    assert_eq!(
        res.get("telemetry.sdk.language").map(String::as_str),
        Some("rust")
    );
    let spans = ExportedSpan::from_requests(&[req.otlp()]);
    let mut names: Vec<_> = spans.iter().map(|s| s.name().to_string()).collect();
    names.sort();
    assert_eq!(names, ["collector-llm", "collector-root"]);
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (2, 2, 0));
}

#[test]
fn base_endpoint_gets_v1_traces_and_gzip() {
    let server = receiver();
    let (b, warnings) = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/otel/", server.url()),
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-resource".into(),
        ),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-col".into()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-col".into()),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let lf = b.build().expect("valid configuration");
    record(&lf);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let req = &reqs[0];
    assert_eq!(req.path, "/otel/v1/traces");
    assert_eq!(req.header("content-encoding"), Some("gzip"));
    assert_eq!(langfuse_tests::gunzip(&req.raw_body).unwrap(), req.body);
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("pk-lf-col:sk-lf-col");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Basic {basic}").as_str()),
        "keys set: Authorization as for Langfuse"
    );
    assert_eq!(
        resource_attrs(req).get("service.name").map(String::as_str),
        Some("from-resource")
    );
    assert_eq!(lf.stats().exported, 2);
}

#[test]
fn export_path_replaces_the_langfuse_path() {
    let server = receiver();
    let (b, _) = from_vars(&[
        ("LANGFUSE_BASE_URL", server.url()),
        (
            "LANGFUSE_OTEL_TRACES_EXPORT_PATH",
            "/gateway/otlp/traces".into(),
        ),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-p".into()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-p".into()),
    ]);
    let lf = b
        .header("x-extra", "1")
        .build()
        .expect("valid configuration");
    record(&lf);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].path, "/gateway/otlp/traces");
    assert_eq!(reqs[0].header("x-extra"), Some("1"));
    assert!(reqs[0].header("authorization").is_some());
}

#[test]
fn builder_endpoint_header_and_resource() {
    let server = receiver();
    let lf = Langfuse::builder()
        .otlp_endpoint(format!("{}/v1/traces", server.url()))
        .header("Authorization", "Bearer collector-token")
        .resource_attribute("k8s.pod.name", "pod-1")
        .build()
        .expect("valid configuration");
    assert!(lf.is_enabled());
    record(&lf);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].path, "/v1/traces");
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer collector-token")
    );
    assert_eq!(
        resource_attrs(&reqs[0])
            .get("k8s.pod.name")
            .map(String::as_str),
        Some("pod-1")
    );
}

#[test]
fn without_endpoint_missing_keys_still_disable() {
    let (b, _) = from_vars(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-a=1".into())]);
    let lf = b.build().expect("valid configuration");
    assert!(!lf.is_enabled());
}

#[test]
fn invalid_values_fail_build_naming_the_variable() {
    let cases: &[(&str, &str)] = &[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-a"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad name=1"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "deflate"),
        ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
        ("LANGFUSE_OTEL_TRACES_EXPORT_PATH", "no-slash"),
    ];
    for (name, value) in cases {
        let (b, _) = from_vars(&[(name, value.to_string())]);
        let err = b.build().expect_err(name);
        assert!(err.is_config(), "{name}: {err}");
        assert_eq!(err.setting(), Some(*name), "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    // A secret in a header value is never in the error.
    let (b, _) = from_vars(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-a=secret%0Avalue".into())]);
    let err = b.build().expect_err("line break in a header");
    assert!(!err.to_string().contains("secret"), "{err}");
    // The builder's own values are checked too.
    let err = Langfuse::builder()
        .otlp_endpoint("not a url")
        .build()
        .expect_err("bad endpoint");
    assert_eq!(err.setting(), Some("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    let err = Langfuse::builder()
        .header("x-a", "line\nbreak")
        .build()
        .expect_err("bad header");
    assert_eq!(err.setting(), Some("OTEL_EXPORTER_OTLP_HEADERS"));
}

/// A collector's 404 is the collector's: `auto` does not fall back to Langfuse's ingestion API.
#[test]
fn collector_404_does_not_switch_to_ingestion() {
    let server = ScriptServer::start(|_| Reply::new(404, "text/plain", "no such route"));
    let (b, _) = from_vars(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("{}/v1/traces", server.url()),
    )]);
    let lf = b.build().expect("valid configuration");
    lf.span("lost").start().end();
    assert!(lf.shutdown(T).is_err(), "the span was not delivered");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].path, "/v1/traces");
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (1, 0, 1));
}

/// docs/COLLECTOR.md: "Scores are not OTLP: they still go to LANGFUSE_BASE_URL's ingestion API,
/// with the keys." The collector's headers (here its own `Authorization`, from the
/// traces-only variable) are meant for the collector: they must not replace the keys on the
/// score batch, nor travel to the Langfuse server at all.
#[test]
fn collector_headers_do_not_replace_the_keys_on_score_batches() {
    let collector = ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()));
    let langfuse = ScriptServer::start(Reply::ingestion_accepting);
    let (b, warnings) = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", collector.url()),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "Authorization=Bearer%20collector-token".into(),
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme".into()),
        ("LANGFUSE_BASE_URL", langfuse.url()),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-col".into()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-col".into()),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let lf = b.build().expect("valid configuration");
    lf.span("through-the-collector").start().end();
    lf.score(Score::numeric("quality", 1.0).session_id("sess-col"));
    let _ = lf.shutdown(T);

    let traces = collector.requests();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert_eq!(
        traces[0].header("authorization"),
        Some("Bearer collector-token")
    );
    assert_eq!(traces[0].header("x-tenant"), Some("acme"));
    let scores = langfuse.requests();
    assert_eq!(scores.len(), 1, "{scores:?}");
    assert_eq!(scores[0].path, "/api/public/ingestion");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("pk-lf-col:sk-lf-col");
    assert_eq!(
        scores[0].header("authorization"),
        Some(format!("Basic {basic}").as_str()),
        "the score batch must carry the Langfuse keys, not the collector's credentials"
    );
    assert_eq!(
        scores[0].header("x-tenant"),
        None,
        "the collector's headers stay off"
    );
}

/// README "Configuration": a base URL with a query or fragment fails `build()` naming the
/// variable "rather than send your traces anywhere else". The OTLP base endpoint is a base URL
/// too (`/v1/traces` is appended): with a fragment the path is lost (the request goes to
/// `/otel`), with a query the path lands inside the query.
#[test]
fn otlp_base_endpoint_with_a_query_or_fragment_fails_build() {
    let server = ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()));
    for suffix in ["/otel#frag", "/otel?tenant=a"] {
        let (b, _) = from_vars(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}{suffix}", server.url()),
        )]);
        match b.build() {
            Err(e) => assert_eq!(e.setting(), Some("OTEL_EXPORTER_OTLP_ENDPOINT"), "{e}"),
            Ok(lf) => {
                lf.span("misrouted").start().end();
                let _ = lf.shutdown(T);
                let paths: Vec<_> = server.requests().iter().map(|r| r.path.clone()).collect();
                panic!("{suffix}: build() accepted it; the spans went to {paths:?}");
            }
        }
    }
}

/// docs/COLLECTOR.md: with `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, spans go to that endpoint
/// (the keys become optional). With `LANGFUSE_TRANSPORT=ingestion` as well, the endpoint is
/// ignored without a word and the spans go to `LANGFUSE_BASE_URL` instead — by default
/// https://cloud.langfuse.com, keyless. Either `build()` refuses the combination, or the spans go
/// to the collector.
#[test]
fn a_traces_endpoint_is_not_silently_ignored_on_the_ingestion_transport() {
    let collector = ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()));
    let elsewhere = ScriptServer::start(|_| {
        Reply::new(207, "application/json", r#"{"successes":[],"errors":[]}"#)
    });
    let (b, _) = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", collector.url()),
        ),
        ("LANGFUSE_TRANSPORT", "ingestion".into()),
        // Stands in for the default https://cloud.langfuse.com.
        ("LANGFUSE_BASE_URL", elsewhere.url()),
    ]);
    match b.build() {
        Err(e) => {
            assert_eq!(e.setting(), Some("LANGFUSE_TRANSPORT"), "{e}");
            assert!(e.to_string().contains("OTEL_EXPORTER_OTLP"), "{e}");
        }
        Ok(lf) => {
            lf.span("meant-for-the-collector").start().end();
            let _ = lf.shutdown(T);
            let paths: Vec<_> = elsewhere
                .requests()
                .iter()
                .map(|r| r.path.clone())
                .collect();
            panic!("build() accepted it; spans meant for the collector went to {paths:?}");
        }
    }
    assert!(elsewhere.requests().is_empty() && collector.requests().is_empty());
}

/// `OTEL_EXPORTER_OTLP_COMPRESSION=zstd` (a value this SDK cannot honour) fails `build()` naming
/// the variable (collector_env.rs). `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` — the same kind of
/// mistake, and the OTel default of many collectors' docs (port 4317) — is ignored without a
/// word: the SDK then posts HTTP/1.1 protobuf to a gRPC port and every span fails.
#[test]
fn an_otlp_protocol_this_sdk_does_not_speak_fails_build_naming_the_variable() {
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ] {
        let (b, warnings) = from_vars(&[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://otel-collector:4317".into(),
            ),
            (name, value.into()),
        ]);
        let said = warnings.iter().any(|w| w.contains(name));
        match b.build() {
            Err(e) => assert_eq!(e.setting(), Some(name), "{e}"),
            Ok(_) => assert!(said, "{name}={value}: accepted without a word"),
        }
    }
}
