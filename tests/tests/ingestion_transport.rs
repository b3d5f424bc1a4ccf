//! Servers without the OpenTelemetry endpoint: `LANGFUSE_TRANSPORT=ingestion` sends through the
//! legacy batch API as the Python SDK 2.60 does, and `auto` (the default) switches there for good
//! on the OTel route's 404, resending that batch. What arrived is decoded and checked field by
//! field; the counters must add up.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use langfuse_sdk::{Langfuse, LangfuseBuilder, TraceAttributes, UsageDetails};
use langfuse_tests::{Captured, Reply, ScriptServer};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);
const OTEL: &str = "/api/public/otel/v1/traces";
const INGESTION: &str = "/api/public/ingestion";
/// The request the Python SDK 2.60.10 sent for a small trace (recorded against a v4 server).
const PYTHON: &str = include_str!("fixtures/ingestion-request-python-sdk-2.60.10.json");

/// A server with the ingestion API only: 404 on the OTel route, 207 on ingestion with an error
/// for each event whose body is named `refused`.
fn old_server() -> ScriptServer {
    ScriptServer::start(|c: &Captured| {
        if c.path != INGESTION {
            return Reply::new(404, "text/plain", "Not Found");
        }
        let batch = c.json()["batch"].as_array().cloned().unwrap_or_default();
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for e in batch {
            let id = e["id"].clone();
            if e["body"]["name"] == "refused" {
                bad.push(json!({"id": id, "status": 400, "message": "invalid", "error": "x"}));
            } else {
                ok.push(json!({"id": id, "status": 201}));
            }
        }
        let body = json!({"successes": ok, "errors": bad}).to_string();
        Reply::new(207, "application/json", body)
    })
}

fn client(server: &ScriptServer, transport: Option<&str>) -> Langfuse {
    let mut vars: HashMap<String, String> = [
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-old".to_string()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-old".to_string()),
        ("LANGFUSE_BASE_URL", server.url()),
        ("LANGFUSE_TRACING_ENVIRONMENT", "staging".to_string()),
        ("LANGFUSE_RELEASE", "v9".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(t) = transport {
        vars.insert("LANGFUSE_TRANSPORT".into(), t.into());
    }
    let (b, warnings) = LangfuseBuilder::from_lookup(move |k| vars.get(k).cloned());
    assert!(warnings.is_empty(), "{warnings:?}");
    b.build().expect("valid configuration")
}

/// A trace of four observations: span root, generation, event, tool; returns (trace id,
/// [root, generation, event, tool] ids).
fn record_trace(lf: &Langfuse, root_name: &str) -> (String, Vec<String>) {
    let root = lf.span(root_name.to_string()).input("question").start();
    let _in = root.enter();
    let attrs = langfuse_sdk::propagate_attributes(
        TraceAttributes::new()
            .user_id("user-1")
            .session_id("session-1")
            .tags(["lab"]),
    );
    let generation = lf
        .generation("call_llm")
        .model("gpt-4o-mini")
        .model_parameters(&json!({"temperature": 0.2, "max_tokens": 64}))
        .input(&json!([{"role": "user", "content": "hi"}]))
        .metadata(&json!({"k": "v"}))
        .usage_details(UsageDetails::new().input(10).output(5).total(15))
        .start();
    generation.set_output("hello");
    let event = lf.event("cache-hit").start();
    let tool = lf.tool("search").start();
    let ids = vec![
        root.id().unwrap().to_string(),
        generation.id().unwrap().to_string(),
        event.id().unwrap().to_string(),
        tool.id().unwrap().to_string(),
    ];
    tool.end();
    generation.end();
    root.set_output(&json!({"answer": "hello"}));
    let trace = root.trace_id().unwrap().to_string();
    drop(attrs);
    drop(_in);
    root.end();
    (trace, ids)
}

fn events(server: &ScriptServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == INGESTION)
        .flat_map(|r| r.json()["batch"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// An observation's fields: its create event's body merged with its update's (each must have
/// arrived once; an event has no update).
fn by_id(events: &[Value], id: &str) -> Value {
    let of = |suffix: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| {
                e["type"] != "trace-create"
                    && e["type"].as_str().unwrap().ends_with(suffix)
                    && e["body"]["id"] == id
            })
            .collect()
    };
    let (creates, updates) = (of("-create"), of("-update"));
    assert_eq!(
        creates.len(),
        1,
        "observation {id} created once: {events:#?}"
    );
    let ty = creates[0]["type"].as_str().unwrap();
    let expected_updates = usize::from(ty != "event-create");
    assert_eq!(updates.len(), expected_updates, "{id}: {events:#?}");
    let mut body = creates[0]["body"].clone();
    if let Some(u) = updates.first() {
        assert_eq!(u["type"], ty.replace("-create", "-update"));
        assert!(u["body"].get("startTime").is_none(), "{u}");
        assert!(u["body"].get("name").is_none(), "{u}");
        for (k, v) in u["body"].as_object().unwrap() {
            body[k] = v.clone();
        }
    }
    body
}

/// Checks the events of one `record_trace` against what was recorded.
fn check_trace(events: &[Value], trace: &str, ids: &[String], root_name: &str) {
    let [root, generation, event, tool] = ids else {
        panic!("four ids")
    };
    let r = by_id(events, root);
    assert_eq!(r["traceId"], trace);
    assert_eq!(r["name"], root_name);
    assert_eq!(r["input"], "question");
    assert_eq!(r["output"], json!({"answer": "hello"}));
    assert_eq!(r["environment"], "staging");
    assert!(r.get("parentObservationId").is_none(), "{r}");
    assert!(r["startTime"].as_str().unwrap() <= r["endTime"].as_str().unwrap());
    let g = by_id(events, generation);
    assert_eq!(g["parentObservationId"], root.as_str());
    assert_eq!(g["model"], "gpt-4o-mini");
    assert_eq!(
        g["modelParameters"],
        json!({"temperature": "0.2", "max_tokens": 64})
    );
    assert_eq!(
        g["usageDetails"],
        json!({"input": 10, "output": 5, "total": 15})
    );
    assert_eq!(g["input"], json!([{"role": "user", "content": "hi"}]));
    assert_eq!(g["output"], "hello");
    assert_eq!(g["metadata"], json!({"k": "v"}));
    let e = by_id(events, event);
    assert_eq!(
        (&e["name"], &e["parentObservationId"]),
        (&json!("cache-hit"), &json!(root))
    );
    assert!(e.get("endTime").is_none(), "{e}");
    let t = by_id(events, tool);
    assert_eq!(t["name"], "search");
    let ty = |id: &str| {
        events
            .iter()
            .find(|ev| {
                ev["type"] != "trace-create"
                    && ev["type"].as_str().unwrap().ends_with("-create")
                    && ev["body"]["id"] == id
            })
            .map(|ev| ev["type"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        [ty(root), ty(generation), ty(event), ty(tool)],
        [
            "span-create",
            "generation-create",
            "event-create",
            "span-create"
        ]
    );
    let traces: Vec<_> = of_type(events, "trace-create")
        .into_iter()
        .filter(|e| e["body"]["id"] == trace)
        .collect();
    assert!(!traces.is_empty());
    let root_trace = traces
        .iter()
        .find(|e| e["body"]["name"] == root_name)
        .expect("the root's trace-create names the trace");
    let b = &root_trace["body"];
    assert_eq!(b["userId"], "user-1");
    assert_eq!(b["sessionId"], "session-1");
    assert_eq!(b["tags"], json!(["lab"]));
    assert_eq!(b["release"], "v9");
    assert_eq!(b["input"], "question");
    assert_eq!(b["output"], json!({"answer": "hello"}));
}

#[test]
fn auto_switches_on_404_for_good_and_loses_nothing() {
    let server = old_server();
    let lf = client(&server, None);
    let (trace1, ids1) = record_trace(&lf, "first");
    lf.flush(T).expect("first trace delivered");
    let (trace2, ids2) = record_trace(&lf, "second");
    lf.shutdown(T).expect("second trace delivered");

    let reqs = server.requests();
    let otel: Vec<_> = reqs.iter().filter(|r| r.path == OTEL).collect();
    assert_eq!(otel.len(), 1, "one OTLP attempt, then ingestion for good");
    assert_eq!(otel[0].status, 404);
    let ingestion: Vec<_> = reqs.iter().filter(|r| r.path == INGESTION).collect();
    assert_eq!(
        ingestion.len(),
        2,
        "the 404'd batch resent, then the second"
    );
    let events = events(&server);
    check_trace(&events, &trace1, &ids1, "first");
    check_trace(&events, &trace2, &ids2, "second");
    let count = |ty: &str| events.iter().filter(|e| e["type"] == ty).count();
    let creates = count("span-create") + count("generation-create") + count("event-create");
    assert_eq!(creates, 8, "every observation once");
    assert_eq!(
        count("span-update") + count("generation-update"),
        6,
        "all but the events"
    );
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed, s.dropped), (8, 8, 0, 0));
}

#[test]
fn ingestion_mode_goes_there_directly_as_python_does() {
    let server = old_server();
    let lf = client(&server, Some("ingestion"));
    let (trace, ids) = record_trace(&lf, "pipeline");
    lf.shutdown(T).expect("delivered");

    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.path == INGESTION), "{reqs:?}");
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("content-type"), Some("application/json"));
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("pk-lf-old:sk-lf-old");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    let events = events(&server);
    check_trace(&events, &trace, &ids, "pipeline");

    // The envelope and batch metadata have the Python SDK's shape.
    let python: Value = serde_json::from_str(PYTHON).unwrap();
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let py_body = &python["body_json"];
    let body = req.json();
    assert_eq!(keys(&body), keys(py_body));
    assert_eq!(keys(&body["metadata"]), keys(&py_body["metadata"]));
    assert_eq!(body["metadata"]["batch_size"], events.len());
    assert_eq!(body["metadata"]["sdk_name"], "rust");
    assert_eq!(body["metadata"]["public_key"], "pk-lf-old");
    let py_event = &py_body["batch"][0];
    for e in &events {
        assert_eq!(keys(e), keys(py_event), "{e}");
    }
    // Field names as Python sends them for a generation.
    let py_gen = py_body["batch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "generation-create")
        .unwrap();
    let ours = |ty: &str| {
        events
            .iter()
            .find(|e| e["type"] == ty && e["body"]["id"] == ids[1].as_str())
            .map(|e| keys(&e["body"]))
            .unwrap()
    };
    let (create, update) = (ours("generation-create"), ours("generation-update"));
    for k in keys(&py_gen["body"]) {
        assert!(
            create.contains(&k),
            "generation-create lacks {k}: {create:?}"
        );
    }
    let py_update = py_body["batch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "generation-update")
        .unwrap();
    // Python 2.60 sends `usage` (usageDetails is its newer form) and metadata set late.
    for k in keys(&py_update["body"]) {
        if k != "usage" && k != "metadata" {
            assert!(
                update.contains(&k),
                "generation-update lacks {k}: {update:?}"
            );
        }
    }
    assert!(update.contains("usageDetails"), "{update:?}");
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (4, 4, 0));
}

#[test]
fn per_event_errors_of_a_207_count_failed() {
    let server = old_server();
    let lf = client(&server, Some("ingestion"));
    let root = lf.span("kept").start();
    let _in = root.enter();
    lf.span("refused").start().end();
    drop(lf.event("also-kept").start());
    drop(_in);
    root.end();
    let err = lf.shutdown(T).expect_err("one observation refused");
    assert!(err.to_string().contains("1 item(s)"), "{err}");
    let events = events(&server);
    let creates = events.iter().filter(|e| e["type"] == "span-create").count();
    assert_eq!(creates, 2);
    // The refused span's create and update both failed: one observation.
    let refused = events
        .iter()
        .filter(|e| e["body"]["name"] == "refused")
        .count();
    assert_eq!(refused, 1, "the update carries no name");
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (3, 2, 1));
}

#[test]
fn otlp_mode_does_not_fall_back() {
    let server = old_server();
    let lf = client(&server, Some("otlp"));
    lf.span("lost").start().end();
    let _ = lf.shutdown(T);
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.path == OTEL), "{reqs:?}");
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (1, 0, 1));
}

/// README "Servers without the OTel endpoint": the ingestion transport has "the same batching,
/// size guard, retries and counters as OTLP"; README "Values": an observation over the limit is
/// cut "and still sent". The guard measures the OTLP encoding only: turned into ingestion JSON
/// (every control character escaped to six bytes, and a root's input sent again in its
/// `trace-create`) an observation the guard let through is over the server's ~4.5 MB body limit
/// (CONTRACT.md) and is lost, counted failed, where OTLP delivers it.
#[test]
fn the_size_guard_holds_on_the_ingestion_transport_as_on_otlp() {
    const LIMIT: usize = 4_500_000;
    let server = ScriptServer::start(|r: &Captured| {
        if r.body.len() > LIMIT {
            return Reply::new(
                413,
                "text/html",
                "<html>413 Request Entity Too Large</html>",
            );
        }
        if r.path == "/api/public/ingestion" {
            return Reply::ingestion_accepting(r);
        }
        Reply::new(200, "application/x-protobuf", Vec::new())
    });
    // 500 KB of text (a binary blob read as text, terminal output with escapes): half the limit.
    let input = "\u{1}".repeat(500_000);
    let mut outcome = Vec::new();
    for transport in [
        langfuse_sdk::Transport::Otlp,
        langfuse_sdk::Transport::Ingestion,
    ] {
        let lf = Langfuse::builder()
            .public_key("pk-lf-size")
            .secret_key("sk-lf-size")
            .base_url(server.url())
            .max_retries(0)
            .transport(transport)
            .build()
            .unwrap();
        lf.span("blob-root").input(&input).start().end();
        let _ = lf.flush(T);
        let st = lf.stats();
        outcome.push((transport, st.exported, st.failed));
    }
    let sizes: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.body.len(), r.status))
        .collect();
    assert_eq!(
        outcome,
        [
            (langfuse_sdk::Transport::Otlp, 1, 0),
            (langfuse_sdk::Transport::Ingestion, 1, 0)
        ],
        "requests (path, bytes, status): {sizes:?}"
    );
}
