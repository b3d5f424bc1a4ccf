//! What goes on the wire: headers, gzip, OTLP resource/scope/spans and Langfuse's attributes,
//! checked field by field on what the capture server decoded, and against the request the
//! official Python SDK 5.0.4 sends for the same program.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use langfuse_sdk::{
    CostDetails, Langfuse, Level, ObservationType, RemoteParent, Score, TraceAttributes,
    UsageDetails,
};
use langfuse_tests::CaptureServer;
use serde_json::json;

const T: Duration = Duration::from_secs(10);
const SECRET: &str = "sk-lf-wire-secret";

fn client(server: &CaptureServer) -> Langfuse {
    Langfuse::builder()
        .public_key("pk-lf-lab-public")
        .secret_key(SECRET)
        .base_url(server.url())
        .environment("staging")
        .release("v1.2.3")
        .build()
        .unwrap()
}

/// The Python reference program (`program-python-sdk-5.0.4.py`), translated.
fn reference_program(lf: &Langfuse) {
    let pipeline = lf
        .span("pipeline")
        .input(&json!({"question": "hi"}))
        .start();
    let _in = pipeline.enter();
    let _attrs = langfuse_sdk::propagate_attributes(
        TraceAttributes::new()
            .user_id("user-1")
            .session_id("session-1")
            .tags(["lab"])
            .metadata("sdk", &"py-latest"),
    );
    {
        let call = lf
            .generation("call_llm")
            .input(&json!({"prompt": [{"role": "user", "content": "hi"}]}))
            .start();
        call.set_model("gpt-4o-mini")
            .set_model_parameters(&json!({"temperature": 0.2, "max_tokens": 64}))
            .set_usage_details(UsageDetails::new().input(10).output(5).total(15))
            .set_cost_details(
                CostDetails::new()
                    .input(0.0001)
                    .output(0.0002)
                    .total(0.0003),
            )
            .set_metadata(&json!({"k": "v"}));
        call.set_output("hello");
    }
    pipeline.set_output(&json!({"answer": "hello"}));
}

#[test]
fn headers_auth_and_gzip_match_the_contract() {
    let server = CaptureServer::start();
    let lf = client(&server);
    reference_program(&lf);
    lf.flush(T).unwrap();
    let reqs = server.trace_requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.raw_body[..2], &[0x1f, 0x8b], "body is gzip");
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("pk-lf-lab-public:{SECRET}"))
    );
    assert_eq!(r.header("authorization"), Some(expected_auth.as_str()));
    assert_eq!(r.header("x-langfuse-sdk-name"), Some("rust"));
    assert_eq!(
        r.header("x-langfuse-sdk-version"),
        Some(langfuse_sdk::SDK_VERSION)
    );
    assert_eq!(r.header("x-langfuse-public-key"), Some("pk-lf-lab-public"));
    assert_eq!(r.header("x-langfuse-ingestion-version"), Some("4"));
}

fn reference() -> serde_json::Value {
    let text = include_str!("fixtures/otlp-request-python-sdk-5.0.4.json");
    serde_json::from_str(text).unwrap()
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn same_program_sends_the_python_sdks_attribute_set() {
    let server = CaptureServer::start();
    let lf = client(&server);
    reference_program(&lf);
    lf.flush(T).unwrap();
    let req = server.trace_requests()[0].otlp();
    let reference = reference();
    let ref_rs = &reference["body_otlp_json"]["resourceSpans"][0];

    // Resource: the same keys (values name our SDK).
    let rs = &req.resource_spans[0];
    let res_keys: BTreeSet<String> = rs
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|a| a.key.clone())
        .collect();
    let ref_res_keys = keys(&ref_rs["resource"]["attributes"]);
    assert!(
        ref_res_keys.is_subset(&res_keys),
        "resource keys {res_keys:?} miss some of {ref_res_keys:?}"
    );

    // Scope: name, version, public_key attribute.
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, "langfuse-sdk");
    assert_eq!(scope.version, langfuse_sdk::SDK_VERSION);
    assert_eq!(scope.attributes[0].key, "public_key");

    // Spans: for each of the reference's spans, the same attribute keys, plus environment and
    // release that this program sets and the Python one did not.
    let spans = langfuse_sdk::testing::ExportedSpan::from_requests(std::slice::from_ref(&req));
    for ref_span in ref_rs["scopeSpans"][0]["spans"].as_array().unwrap() {
        let name = ref_span["name"].as_str().unwrap();
        let ours = spans.iter().find(|s| s.name() == name).expect(name);
        let mut expected = keys(&ref_span["attributes"]);
        expected.insert("langfuse.environment".into());
        expected.insert("langfuse.release".into());
        let got: BTreeSet<String> = ours.attr_keys().into_iter().map(String::from).collect();
        assert_eq!(got, expected, "attribute keys of {name}");
        assert_eq!(ours.span.flags, ref_span["flags"].as_u64().unwrap() as u32);
        assert_eq!(ours.span.kind, 1, "SPAN_KIND_INTERNAL");
        assert_eq!(ours.status_code(), 0);
        // Values that must match the reference exactly.
        for key in [
            "user.id",
            "session.id",
            "langfuse.trace.metadata.sdk",
            "langfuse.observation.model.name",
            "langfuse.observation.metadata.k",
            "langfuse.observation.type",
        ] {
            let want = ref_span["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == key)
                .map(|a| a["value"]["stringValue"].as_str().unwrap().to_string());
            assert_eq!(ours.attr_str(key).map(String::from), want, "{name} {key}");
        }
        for key in [
            "langfuse.observation.usage_details",
            "langfuse.observation.cost_details",
            "langfuse.observation.model.parameters",
            "langfuse.observation.output",
        ] {
            let want = ref_span["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == key)
                .map(|a| {
                    let s = a["value"]["stringValue"].as_str().unwrap();
                    serde_json::from_str(s).unwrap_or(json!(s))
                });
            let got = ours
                .attr_str(key)
                .map(|s| serde_json::from_str(s).unwrap_or(json!(s)));
            assert_eq!(got, want, "{name} {key}");
        }
        assert_eq!(
            ours.attr_strings("langfuse.trace.tags"),
            Some(vec!["lab".to_string()])
        );
        assert_eq!(ours.attr_str("langfuse.environment"), Some("staging"));
        assert_eq!(ours.attr_str("langfuse.release"), Some("v1.2.3"));
    }
    let pipeline = spans.iter().find(|s| s.name() == "pipeline").unwrap();
    let call = spans.iter().find(|s| s.name() == "call_llm").unwrap();
    assert_eq!(call.parent_id(), Some(pipeline.id()));
    assert_eq!(call.trace_id(), pipeline.trace_id());
    assert_eq!(pipeline.parent_id(), None);
    // The release is `langfuse.release`, never the version: Langfuse reads the resource's
    // `service.version` as every observation's version (issue: a release is not a version).
    assert!(
        !res_keys.contains("service.version"),
        "service.version must not carry the release: {res_keys:?}"
    );
    for s in &spans {
        assert_eq!(s.attr_str("langfuse.version"), None, "{}", s.name());
    }
    assert_eq!(
        pipeline.attr_bool("langfuse.internal.is_app_root"),
        Some(true)
    );
    assert_eq!(pipeline.trace_id().len(), 32);
    assert_eq!(pipeline.id().len(), 16);
}

#[test]
fn every_observation_type_level_status_and_timestamps() {
    let server = CaptureServer::start();
    let lf = client(&server);
    let before = SystemTime::now();
    let root = lf.agent("agent").start();
    let _in = root.enter();
    for ty in ObservationType::ALL {
        let o = lf.observation(ty, format!("obs-{ty}")).start();
        o.end();
    }
    let failing = lf.tool("failing-tool").start();
    failing.set_error(&"upstream said no");
    failing.end();
    let warn = lf
        .span("warned")
        .level(Level::Warning)
        .status_message("odd")
        .start();
    drop(warn);
    let first_token = SystemTime::now();
    let llm = lf
        .generation("gen")
        .model("m")
        .prompt("my-prompt", 3)
        .version("2")
        .start();
    llm.set_completion_start_time(first_token)
        .set_usage_details(UsageDetails::new().input(3).with("input_cached_tokens", 1));
    llm.end();
    drop(_in);
    root.end();
    lf.flush(T).unwrap();
    let after = SystemTime::now();
    let spans = server.spans();
    assert_eq!(spans.len(), ObservationType::ALL.len() + 4);

    let root_span = spans.iter().find(|s| s.name() == "agent").unwrap();
    for ty in ObservationType::ALL {
        let s = spans
            .iter()
            .find(|s| s.name() == format!("obs-{ty}"))
            .unwrap();
        assert_eq!(s.observation_type(), Some(ty.as_str()));
        assert_eq!(s.parent_id(), Some(root_span.id()));
        if ty == ObservationType::Event {
            assert_eq!(s.span.start_time_unix_nano, s.span.end_time_unix_nano);
        }
    }
    let nanos = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
    for s in &spans {
        assert!(s.span.start_time_unix_nano >= nanos(before), "{}", s.name());
        assert!(s.span.end_time_unix_nano <= nanos(after));
        assert!(s.span.start_time_unix_nano <= s.span.end_time_unix_nano);
    }
    let f = spans.iter().find(|s| s.name() == "failing-tool").unwrap();
    assert_eq!(f.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        f.attr_str("langfuse.observation.status_message"),
        Some("upstream said no")
    );
    assert_eq!(f.status_code(), 2);
    // Sent once, as the attribute (as the official SDK does), not again as the span status.
    assert_eq!(f.status_message(), "");
    let w = spans.iter().find(|s| s.name() == "warned").unwrap();
    assert_eq!(w.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert_eq!(w.status_code(), 0);
    let g = spans.iter().find(|s| s.name() == "gen").unwrap();
    assert_eq!(
        g.attr_str("langfuse.observation.prompt.name"),
        Some("my-prompt")
    );
    assert_eq!(g.attr_int("langfuse.observation.prompt.version"), Some(3));
    assert_eq!(g.attr_str("langfuse.version"), Some("2"));
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 3, "input_cached_tokens": 1}))
    );
    let cst = g
        .attr_str("langfuse.observation.completion_start_time")
        .unwrap();
    let parsed = chrono_like_parse(cst);
    assert_eq!(parsed / 1000, nanos(first_token) / 1000, "{cst}");
}

/// Parses `YYYY-MM-DDTHH:MM:SS.ffffffZ` to unix nanos (micro precision).
fn chrono_like_parse(s: &str) -> u64 {
    assert!(
        s.ends_with('Z') && s.len() == 27,
        "ISO-8601 UTC with micros: {s}"
    );
    let (date, time) = s.split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.trim_end_matches('Z').split_once('.').unwrap();
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // days from civil (Howard Hinnant)
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + t[0] * 3600 + t[1] * 60 + t[2];
    secs as u64 * 1_000_000_000 + frac.parse::<u64>().unwrap() * 1000
}

#[test]
fn trace_attributes_reach_every_span_and_updates_apply() {
    let server = CaptureServer::start();
    let lf = client(&server);
    let root = lf.span("root").start();
    {
        let _in = root.enter();
        let _a = langfuse_sdk::propagate_attributes(
            TraceAttributes::new()
                .name("my-trace")
                .user_id("u")
                .session_id("s")
                .version("v9")
                .public(true)
                .tags(["a", "b"]),
        );
        let child = lf.span("child").start();
        {
            let _c = child.enter();
            let _more = langfuse_sdk::propagate_attributes(TraceAttributes::new().tags(["c"]));
            lf.span("grandchild").start().end();
        }
        child.end();
        langfuse_sdk::update_current_trace(TraceAttributes::new().metadata("only", &"root"));
    }
    root.end();
    // Outside the scope: nothing propagated.
    lf.span("after").start().end();
    lf.flush(T).unwrap();
    let spans = server.spans();
    for name in ["root", "child", "grandchild"] {
        let s = spans.iter().find(|s| s.name() == name).unwrap();
        assert_eq!(
            s.attr_str("langfuse.trace.name"),
            Some("my-trace"),
            "{name}"
        );
        assert_eq!(s.attr_str("user.id"), Some("u"));
        assert_eq!(s.attr_str("session.id"), Some("s"));
        assert_eq!(s.attr_str("langfuse.version"), Some("v9"));
        assert_eq!(s.attr_bool("langfuse.trace.public"), Some(true));
    }
    let tags = |n: &str| {
        spans
            .iter()
            .find(|s| s.name() == n)
            .unwrap()
            .attr_strings("langfuse.trace.tags")
    };
    // Attributes propagated while `child` is current apply to it too (as in the Python SDK),
    // not to its parent.
    assert_eq!(tags("root"), Some(vec!["a".into(), "b".into()]));
    assert_eq!(
        tags("child"),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(
        tags("grandchild"),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    let root_s = spans.iter().find(|s| s.name() == "root").unwrap();
    assert_eq!(
        root_s.attr_str("langfuse.trace.metadata.only"),
        Some("\"root\"")
    );
    let child_s = spans.iter().find(|s| s.name() == "child").unwrap();
    assert_eq!(child_s.attr_str("langfuse.trace.metadata.only"), None);
    let after = spans.iter().find(|s| s.name() == "after").unwrap();
    assert_eq!(after.attr_str("user.id"), None);
    assert_ne!(after.trace_id(), root_s.trace_id());
}

#[test]
fn remote_parents_seeded_ids_and_traceparent() {
    let server = CaptureServer::start();
    let lf = client(&server);
    let parent =
        RemoteParent::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .unwrap();
    let s = lf.span("from-upstream").remote_parent(parent).start();
    assert_eq!(
        s.traceparent().unwrap(),
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", s.id().unwrap())
    );
    s.end();
    let seeded = langfuse_sdk::create_trace_id("request-123");
    lf.span("seeded").trace_id(seeded).start().end();
    lf.flush(T).unwrap();
    let spans = server.spans();
    let up = spans.iter().find(|s| s.name() == "from-upstream").unwrap();
    assert_eq!(up.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(up.parent_id().as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(up.span.flags, 0x300, "remote parent flag");
    let sd = spans.iter().find(|s| s.name() == "seeded").unwrap();
    assert_eq!(sd.trace_id(), seeded.to_string());
}

#[test]
fn scores_go_to_the_ingestion_endpoint() {
    let server = CaptureServer::start();
    let lf = client(&server);
    let obs = lf.span("scored").start();
    obs.score(Score::numeric("accuracy", 0.5).comment("c"));
    obs.score_trace(Score::boolean("ok", true));
    lf.score(Score::categorical("class", "good").session_id("sess-1"));
    lf.score(
        Score::text("note", "fine")
            .trace_id(obs.trace_id().unwrap())
            .id("fixed-id")
            .metadata(&json!({"by": "test"})),
    );
    // Invalid scores are counted failed, not sent.
    lf.score(Score::numeric("nan", f64::NAN).session_id("s"));
    lf.score(Score::numeric("nowhere", 1.0));
    let trace_id = obs.trace_id().unwrap().to_string();
    let obs_id = obs.id().unwrap().to_string();
    obs.end();
    let err = lf.flush(T).unwrap_err();
    assert!(
        err.is_export_failed() && err.failed_count() == Some(2),
        "{err}"
    );
    let events = server.score_events();
    assert_eq!(events.len(), 4);
    let req = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/public/ingestion")
        .unwrap();
    assert!(req.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let by = |n: &str| {
        events
            .iter()
            .find(|e| e["body"]["name"] == n)
            .unwrap()
            .clone()
    };
    let a = by("accuracy");
    assert_eq!(a["type"], "score-create");
    assert!(a["id"].as_str().unwrap().len() == 36);
    assert!(a["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(a["body"]["traceId"], trace_id.as_str());
    assert_eq!(a["body"]["observationId"], obs_id.as_str());
    assert_eq!(a["body"]["value"], 0.5);
    assert_eq!(a["body"]["dataType"], "NUMERIC");
    assert_eq!(a["body"]["comment"], "c");
    assert_eq!(a["body"]["environment"], "staging");
    let b = by("ok");
    assert_eq!(b["body"]["value"], 1);
    assert_eq!(b["body"]["dataType"], "BOOLEAN");
    assert!(b["body"].get("observationId").is_none());
    let c = by("class");
    assert_eq!(c["body"]["sessionId"], "sess-1");
    assert_eq!(c["body"]["dataType"], "CATEGORICAL");
    let t = by("note");
    assert_eq!(t["body"]["id"], "fixed-id");
    assert_eq!(t["body"]["dataType"], "TEXT");
    assert_eq!(t["body"]["metadata"], json!({"by": "test"}));
    let st = lf.stats();
    assert_eq!(st.failed, 2);
    assert_eq!(st.exported, 5, "{st:?}"); // 1 span + 4 scores
}

#[test]
fn per_event_errors_in_a_207_count_as_failed() {
    let server = CaptureServer::start();
    server.score_errors(vec![1]);
    let lf = client(&server);
    lf.score(Score::numeric("a", 1.0).session_id("s"));
    lf.score(Score::numeric("b", 1.0).session_id("s"));
    let err = lf.flush(T).unwrap_err();
    assert_eq!(err.failed_count(), Some(1));
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (1, 1));
}
