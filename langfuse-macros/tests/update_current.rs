//! Inside an observed function: update the observation (generation fields too) and the trace,
//! read ids and the trace URL, and score.
mod common;
use langfuse_sdk::{observe, CostDetails, Score, TraceAttributes, UsageDetails};
use serde_json::json;

#[observe(as_type = "generation")]
fn llm(prompt: &str) -> String {
    let obs = langfuse_sdk::current_observation();
    obs.set_model("gpt-4o-mini")
        .set_model_parameters(&json!({"temperature": 0}))
        .set_usage_details(UsageDetails::new().input(3).output(1).total(4))
        .set_cost_details(CostDetails::new().total(0.01))
        .set_completion_start_time(std::time::SystemTime::now())
        .set_metadata_value("prompt_len", &prompt.len());
    langfuse_sdk::score_current_observation(Score::numeric("quality", 0.7));
    "ok".into()
}

#[observe]
fn handler() -> (String, String, String) {
    langfuse_sdk::update_current_trace(
        TraceAttributes::new()
            .user_id("u-1")
            .session_id("s-1")
            .name("chat"),
    );
    langfuse_sdk::score_current_trace(Score::boolean("resolved", true));
    let _ = llm("hey");
    (
        langfuse_sdk::current_trace_id().unwrap().to_string(),
        langfuse_sdk::current_observation_id().unwrap().to_string(),
        langfuse_sdk::current_trace_url().unwrap(),
    )
}

#[test]
fn updates_ids_url_and_scores() {
    let h = common::harness();
    let (trace_id, obs_id, url) = handler();
    let root = h.span("handler");
    assert_eq!(root.trace_id(), trace_id);
    assert_eq!(root.id(), obs_id);
    assert!(url.ends_with(&format!("/trace/{trace_id}")));
    assert_eq!(root.attr_str("user.id"), Some("u-1"));
    assert_eq!(root.attr_str("langfuse.trace.name"), Some("chat"));
    let g = h.span("llm");
    assert_eq!(g.observation_type(), Some("generation"));
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 3, "output": 1, "total": 4}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.cost_details"),
        Some(json!({"total": 0.01}))
    );
    assert!(g
        .attr_str("langfuse.observation.completion_start_time")
        .is_some());
    assert_eq!(
        g.attr_str("langfuse.observation.metadata.prompt_len"),
        Some("3")
    );
    let scores = h.exporter.scores();
    assert_eq!(scores.len(), 2);
    let q = scores
        .iter()
        .find(|s| s["body"]["name"] == "quality")
        .unwrap();
    assert_eq!(q["body"]["observationId"], g.id());
    let r = scores
        .iter()
        .find(|s| s["body"]["name"] == "resolved")
        .unwrap();
    assert_eq!(r["body"]["traceId"], trace_id);
    assert!(r["body"].get("observationId").is_none());
}

#[observe(as_type = "generation")]
fn gen_with_model(model: Option<&str>) -> String {
    if let Some(m) = model {
        langfuse_sdk::current_observation().set_model(m);
    }
    format!("answer for {}", model.unwrap_or("none"))
}

/// Observations on one thread reuse each other's allocation (and the buffers of the model
/// name, the input and the output): nothing set on one shows up on the next.
#[test]
fn a_reused_allocation_carries_nothing_over() {
    let h = common::harness();
    let models = [
        Some("gpt-4o-mini"),
        None,
        Some("m2"),
        Some("a-much-longer-model-name"),
        None,
    ];
    for m in models {
        gen_with_model(m);
    }
    let spans = h.spans();
    let spans: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "gen_with_model")
        .collect();
    assert_eq!(spans.len(), models.len());
    for (s, m) in spans.iter().zip(models) {
        assert_eq!(s.attr_str("langfuse.observation.model.name"), m);
        let text = m.unwrap_or("none");
        assert_eq!(
            s.attr_str("langfuse.observation.output"),
            Some(format!("answer for {text}").as_str())
        );
        let input = serde_json::json!({ "model": m }).to_string();
        assert_eq!(
            s.attr_str("langfuse.observation.input"),
            Some(input.as_str())
        );
    }
}

static KEPT: std::sync::Mutex<Option<langfuse_sdk::ObservationRef>> = std::sync::Mutex::new(None);

/// Keeps a handle to its own observation after it returns.
#[observe(as_type = "generation")]
fn keeps_its_handle(x: u32) -> u32 {
    let o = langfuse_sdk::current_observation();
    o.set_model("m-1");
    *KEPT.lock().unwrap() = Some(o);
    x + 1
}

#[test]
fn a_handle_kept_past_the_end_changes_nothing_recorded() {
    let h = common::harness();
    assert_eq!(keeps_its_handle(41), 42);
    // The observation ended as the function returned, with its input, output and fields,
    // although it was not the only handle (the shared path, which takes the lock).
    let s = h.span("keeps_its_handle");
    assert_eq!(
        s.attr_json("langfuse.observation.input"),
        Some(json!({"x": 41}))
    );
    assert_eq!(s.attr_json("langfuse.observation.output"), Some(json!(42)));
    assert_eq!(s.attr_str("langfuse.observation.model.name"), Some("m-1"));
    // Updates after the end are ignored, and nothing is recorded twice.
    KEPT.lock().unwrap().take().unwrap().set_model("m-2");
    let spans = h.spans();
    let same: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "keeps_its_handle")
        .collect();
    assert_eq!(same.len(), 1);
    assert_eq!(
        same[0].attr_str("langfuse.observation.model.name"),
        Some("m-1")
    );
}

#[observe]
fn early() {}

#[observe]
fn learns_user() {
    langfuse_sdk::update_current_trace(TraceAttributes::new().user_id("u-late").name("late"));
    later();
}

#[observe]
fn later() {}

#[observe]
fn request() {
    early();
    learns_user();
    after_update();
}

#[observe]
fn after_update() {}

/// update_current_trace reaches every observation of the trace that ends after it — the open
/// parent and root included, and siblings started later — not only the current one; what
/// ended before keeps what it had. (Langfuse v4 reads user, session and trace name from each
/// observation.)
#[test]
fn a_trace_update_reaches_every_observation_that_ends_later() {
    let h = common::harness();
    request();
    let user = |n: &str| h.span(n).attr_str("user.id").map(String::from);
    for n in ["learns_user", "later", "after_update", "request"] {
        assert_eq!(user(n).as_deref(), Some("u-late"), "{n}");
        assert_eq!(
            h.span(n).attr_str("langfuse.trace.name"),
            Some("late"),
            "{n}"
        );
    }
    assert_eq!(user("early"), None, "ended before the update");
    // A new trace starts clean.
    early();
    let spans = h.spans();
    let fresh = spans.iter().filter(|s| s.name() == "early").count();
    assert_eq!(fresh, 2);
    assert!(spans
        .iter()
        .filter(|s| s.name() == "early")
        .all(|s| s.attr_str("user.id").is_none()));
}
