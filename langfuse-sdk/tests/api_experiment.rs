//! The experiment runner against an in-process Langfuse: 50 dataset items at concurrency 8
//! with two failures (an error, a timeout), item and run evaluators, the dataset-run links and
//! the scores it posts (decoded), the summary and the threshold helpers; a local run.

mod api_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use langfuse_sdk::api::{Evaluation, ExperimentItem, ItemResult};
use langfuse_sdk::Langfuse;
use serde_json::{json, Value};

use api_support::{Recorded, Reply, Server, PUBLIC, SECRET};

fn items_page(r: &Recorded) -> Reply {
    let p = r.params();
    let page: usize = p.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let limit: usize = p.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let total: usize = 50;
    let data: Vec<Value> = (0..total)
        .skip((page - 1) * limit)
        .take(limit)
        .map(|i| {
            json!({"id": format!("item-{i}"), "datasetId": "ds-1", "datasetName": "qa",
                   "status": "ACTIVE", "input": {"n": i}, "expectedOutput": format!("answer-{i}"),
                   "metadata": {"i": i}, "sourceTraceId": null, "sourceObservationId": null})
        })
        .collect();
    let pages = total.div_ceil(limit);
    Reply::json(
        200,
        &json!({"data": data, "meta": {"page": page, "limit": limit, "totalItems": total, "totalPages": pages}}),
    )
}

fn langfuse_like() -> Server {
    Server::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/api/public/dataset-items") => items_page(r),
        ("POST", "/api/public/dataset-run-items") => {
            let b = r.json();
            Reply::json(
                200,
                &json!({"id": format!("ri-{}", b["datasetItemId"].as_str().unwrap_or("")),
                "datasetRunId": "run-id-1", "datasetRunName": b["runName"], "datasetItemId": b["datasetItemId"],
                "traceId": b["traceId"], "observationId": b["observationId"]}),
            )
        }
        // As the real server: an array is a 400, one object is stored.
        ("POST", "/api/public/scores") if r.body.first() == Some(&b'[') => {
            api_support::recorded("scores-22-post-scores-array.json")
        }
        ("POST", "/api/public/scores") => Reply::json(200, &json!({"id": "score-id"})),
        ("POST", "/api/public/otel/v1/traces") => Reply::json(200, &json!({})),
        _ => Reply::json(404, &json!({"message": "no route"})),
    })
}

fn langfuse_for(server: &Server) -> Langfuse {
    Langfuse::builder()
        .base_url(&server.base)
        .public_key(PUBLIC)
        .secret_key(SECRET)
        .build()
        .unwrap()
}

fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_a_dataset_with_failures_evaluators_links_and_scores() {
    let server = langfuse_like();
    let api = server.client();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    // The first eight items wait for each other: the run must have eight at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let (fl, mx, br) = (in_flight.clone(), max_seen.clone(), barrier.clone());
    let result = api
        .experiment("qa-exp")
        .run_name("run-1")
        .description("fifty items")
        .metadata(json!({"model": "test"}))
        .max_concurrency(8)
        .item_timeout(Duration::from_secs(2))
        .langfuse(langfuse_for(&server))
        .progress(false)
        .print_summary(false)
        .evaluator("exact_match", |e| {
            Evaluation::boolean("exact_match", e.output == e.expected_output)
        })
        .async_evaluator("length", |e| async move {
            let n = e.output.as_str().map(str::len).unwrap_or(0);
            Ok::<_, String>(Evaluation::number("length", n as f64))
        })
        .run_evaluator("mean_exact_match", |items: &[ItemResult]| {
            let v: Vec<f64> = items
                .iter()
                .flat_map(|i| &i.evaluations)
                .filter(|e| e.name == "exact_match")
                .filter_map(|e| e.value.as_f64())
                .collect();
            Evaluation::number("mean_exact_match", v.iter().sum::<f64>() / v.len() as f64)
        })
        .run_on_dataset("qa", move |item| {
            let (fl, mx, br) = (fl.clone(), mx.clone(), br.clone());
            async move {
                let n = fl.fetch_add(1, Ordering::SeqCst) + 1;
                mx.fetch_max(n, Ordering::SeqCst);
                let i = item.input["n"].as_u64().unwrap();
                if i < 8 {
                    br.wait().await;
                }
                item.add_cost(0.001); // failed items too: cost is spent before they fail
                let out = match i {
                    7 => Err("boom".to_string()),
                    23 => std::future::pending().await,
                    i if i % 5 == 0 => Ok("wrong".to_string()),
                    i => Ok(format!("answer-{i}")),
                };
                fl.fetch_sub(1, Ordering::SeqCst);
                out
            }
        })
        .await
        .unwrap();

    assert!(max_seen.load(Ordering::SeqCst) <= 8);
    assert!(max_seen.load(Ordering::SeqCst) >= 8);
    assert_eq!(result.items.len(), 50);
    assert_eq!(result.dataset_run_id.as_deref(), Some("run-id-1"));
    let failed: Vec<_> = result
        .failures()
        .map(|i| (i.index, i.error.clone().unwrap()))
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0], (7, "boom".to_string()));
    assert_eq!(failed[1].0, 23);
    assert!(failed[1].1.contains("timed out"), "{failed:?}");
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);

    let stats = result.stats();
    assert_eq!((stats.items, stats.failed), (50, 2));
    let em = &stats.scores["exact_match"];
    assert_eq!(em.count, 48);
    assert!((em.mean - 38.0 / 48.0).abs() < 1e-12, "{em:?}");
    assert!(
        (stats.total_cost - 0.05).abs() < 1e-9,
        "{}",
        stats.total_cost
    );
    assert_eq!(result.run_evaluations.len(), 1);
    let summary = result.summary();
    for needle in [
        "qa-exp",
        "run-1",
        "exact_match",
        "length",
        "failed item #7: boom",
        "mean_exact_match",
        "items: 50  failed: 2",
    ] {
        assert!(summary.contains(needle), "{needle} missing in\n{summary}");
    }

    // Threshold helpers.
    assert!(result.require_mean_at_least("exact_match", 0.5).is_ok());
    let e = result
        .require_mean_at_least("exact_match", 0.9)
        .unwrap_err();
    assert!(
        e.is_threshold() && e.to_string().contains("exact_match"),
        "{e}"
    );
    assert!(result
        .require_mean_at_least("nope", 0.0)
        .unwrap_err()
        .is_threshold());
    assert!(result
        .require_failures_at_most(1)
        .unwrap_err()
        .is_threshold());
    assert!(result.require_failures_at_most(2).is_ok());

    // What reached the server.
    let reqs = server.requests();
    let links: Vec<Value> = reqs
        .iter()
        .filter(|r| r.path == "/api/public/dataset-run-items")
        .map(Recorded::json)
        .collect();
    assert_eq!(links.len(), 50);
    for item in &result.items {
        let l = links
            .iter()
            .find(|l| l["datasetItemId"] == format!("item-{}", item.index))
            .unwrap();
        assert_eq!(l["runName"], "run-1");
        assert_eq!(l["runDescription"], "fifty items");
        assert_eq!(l["metadata"], json!({"model": "test"}));
        assert_eq!(l["traceId"].as_str(), item.trace_id.as_deref());
        assert_eq!(l["observationId"].as_str(), item.observation_id.as_deref());
        assert!(is_hex(item.trace_id.as_deref().unwrap(), 32));
    }
    let scores: Vec<&Recorded> = reqs
        .iter()
        .filter(|r| r.path == "/api/public/scores")
        .collect();
    assert_eq!(scores.len(), 48 * 2 + 1);
    assert!(
        scores.iter().all(|r| r.body.first() == Some(&b'{')),
        "one JSON object per score"
    );
    let scores: Vec<Value> = scores.iter().map(|r| r.json()).collect();
    let run_score: Vec<_> = scores
        .iter()
        .filter(|s| s.get("datasetRunId").is_some())
        .collect();
    assert_eq!(run_score.len(), 1);
    assert_eq!(run_score[0]["name"], "mean_exact_match");
    assert!((run_score[0]["value"].as_f64().unwrap() - 38.0 / 48.0).abs() < 1e-12);
    let item5 = &result.items[5];
    let s5: Vec<_> = scores
        .iter()
        .filter(|s| s["traceId"].as_str() == item5.trace_id.as_deref())
        .collect();
    assert_eq!(s5.len(), 2);
    let em5 = s5.iter().find(|s| s["name"] == "exact_match").unwrap();
    assert_eq!(
        (em5["value"].clone(), em5["dataType"].clone()),
        (json!(0), json!("BOOLEAN"))
    );
    assert_eq!(
        em5["observationId"].as_str(),
        item5.observation_id.as_deref()
    );
    let len5 = s5.iter().find(|s| s["name"] == "length").unwrap();
    assert_eq!(
        (len5["value"].as_f64(), len5["dataType"].clone()),
        (Some(5.0), json!("NUMERIC"))
    );
    // No score for the failed items.
    assert!(!scores
        .iter()
        .any(|s| s["traceId"].as_str() == result.items[7].trace_id.as_deref()));
    // Traces were flushed before the runner returned.
    assert!(server.count("/api/public/otel/v1/traces") >= 1);
}

#[tokio::test]
async fn runs_local_items_and_records_evaluator_errors() {
    let server = langfuse_like();
    let items: Vec<ExperimentItem> = (0..5)
        .map(|i| ExperimentItem::new(json!(i)).expected_output(json!(i * 2)))
        .collect();
    let result = server
        .client()
        .experiment("local")
        .langfuse(langfuse_for(&server))
        .progress(false)
        .print_summary(false)
        .evaluator("double", |e| {
            Evaluation::boolean("double", e.output == e.expected_output)
        })
        .evaluator("picky", |e| {
            if e.input == json!(3) {
                Err("cannot judge 3")
            } else {
                Ok(Evaluation::category("picky", "fine"))
            }
        })
        .run_evaluator("count", |items: &[ItemResult]| {
            Evaluation::number("count", items.len() as f64)
        })
        .run_local(items, |item| async move {
            Ok::<_, String>(json!(item.input.as_i64().unwrap_or(0) * 2))
        })
        .await
        .unwrap();
    assert_eq!(result.failures().count(), 0);
    assert_eq!(result.items[3].evaluator_errors, ["picky: cannot judge 3"]);
    assert_eq!(result.score("double").unwrap().mean, 1.0);
    assert_eq!(result.stats().categories["picky"]["fine"], 4);
    assert_eq!(result.run_evaluations[0].name, "count");
    assert_eq!(result.dataset_run_id, None);
    assert!(result.summary().contains("picky: fine: 4"));
    let reqs = server.requests();
    assert_eq!(server.count("/api/public/dataset-run-items"), 0);
    // 5 "double" + 4 "picky"; the run-level score has no run to go to.
    let scores: Vec<Value> = reqs
        .iter()
        .filter(|r| r.path == "/api/public/scores")
        .map(Recorded::json)
        .collect();
    assert_eq!(scores.len(), 9);
    let picky = scores.iter().find(|s| s["name"] == "picky").unwrap();
    assert_eq!(
        (picky["value"].clone(), picky["dataType"].clone()),
        (json!("fine"), json!("CATEGORICAL"))
    );

    // post_scores(false): scores stay in the result only.
    let before = server.requests().len();
    let quiet = server
        .client()
        .experiment("local-quiet")
        .langfuse(langfuse_for(&server))
        .progress(false)
        .print_summary(false)
        .post_scores(false)
        .evaluator("one", |_| Evaluation::number("one", 1.0))
        .run_local(vec![ExperimentItem::new(1)], |item| async move {
            Ok::<_, String>(item.input)
        })
        .await
        .unwrap();
    assert_eq!(quiet.score("one").unwrap().count, 1);
    let after: Vec<_> = server
        .requests()
        .into_iter()
        .skip(before)
        .filter(|r| r.path == "/api/public/scores")
        .collect();
    assert!(after.is_empty(), "{after:?}");
}

#[tokio::test]
async fn a_missing_dataset_is_an_error_before_anything_runs() {
    let server =
        Server::start(|_| api_support::recorded("datasets-23-items-list-missing-dataset.json"));
    let ran = AtomicUsize::new(0);
    let e = server
        .client()
        .experiment("x")
        .print_summary(false)
        .run_on_dataset("nope", |_item| {
            ran.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(json!(null)) }
        })
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn items_are_traced_as_their_own_traces_with_evaluator_observations() {
    use langfuse_sdk::testing::InMemoryExporter;
    let server = langfuse_like();
    let exporter = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exporter.clone())
        .build()
        .unwrap();
    let result = server
        .client()
        .experiment("traced")
        .langfuse(lf.clone())
        .progress(false)
        .print_summary(false)
        .evaluator("ok", |_| Evaluation::boolean("ok", true))
        .run_local(
            vec![ExperimentItem::new("a"), ExperimentItem::new("b")],
            |item| {
                let lf = lf.clone();
                async move {
                    let g = lf.generation("llm").start();
                    g.end();
                    Ok::<_, String>(item.input)
                }
            },
        )
        .await
        .unwrap();
    let spans = exporter.spans();
    let roots: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "experiment-item-run")
        .collect();
    assert_eq!(roots.len(), 2);
    assert_ne!(roots[0].trace_id(), roots[1].trace_id());
    for r in &roots {
        assert_eq!(r.parent_id(), None);
        let children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_id().as_deref() == Some(&r.id()))
            .collect();
        let names: Vec<_> = children.iter().map(|s| s.name()).collect();
        assert!(names.contains(&"llm") && names.contains(&"ok"), "{names:?}");
    }
    let ok = spans.iter().find(|s| s.name() == "ok").unwrap();
    assert_eq!(ok.attr_str("langfuse.observation.type"), Some("evaluator"));
    assert!(result.items.iter().all(|i| i.trace_id.is_some()));
}

#[tokio::test]
async fn a_panicking_task_or_evaluator_fails_its_item_not_the_run() {
    let server = langfuse_like();
    let items: Vec<ExperimentItem> = (0..3).map(|i| ExperimentItem::new(json!(i))).collect();
    let result = server
        .client()
        .experiment("panics")
        .langfuse(langfuse_for(&server))
        .progress(false)
        .print_summary(false)
        .evaluator("fragile", |e| {
            if e.input == json!(2) {
                panic!("evaluator bug");
            }
            Evaluation::number("fragile", 1.0)
        })
        .run_evaluator("run-bug", |_: &[ItemResult]| -> Vec<Evaluation> {
            panic!("run bug")
        })
        .run_local(items, |item| async move {
            if item.input == json!(1) {
                panic!("task bug");
            }
            Ok::<_, String>(item.input)
        })
        .await
        .unwrap();
    assert_eq!(result.items.len(), 3);
    assert_eq!(result.items[1].error.as_deref(), Some("panicked: task bug"));
    assert_eq!(result.items[2].evaluator_errors, ["fragile: panicked"]);
    assert_eq!(result.score("fragile").unwrap().count, 1);
    assert!(
        result.warnings.iter().any(|w| w.contains("run-bug")),
        "{:?}",
        result.warnings
    );
}
