//! auth_check and typed reads (traces, observations, sessions, scores, score configs) against
//! an in-process server answering with recorded Langfuse responses; creating scores.

mod api_support;

use langfuse_sdk::api::{
    ApiClient, ApiConfig, CreateScore, ObservationQuery, ScoreQuery, TraceQuery,
};
use serde_json::json;

use api_support::{body, down_base, recorded, Server, PUBLIC, SECRET};

fn routed() -> Server {
    Server::start(|r| {
        let f = match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/api/public/projects") => "auth-03-projects-ok.json",
            ("GET", "/api/public/traces") if r.query.contains("page=2") => {
                "traces-02-list-page2-limit3.json"
            }
            ("GET", "/api/public/traces") => "traces-01-list-limit3.json",
            ("GET", "/api/public/traces/e873007263c16d1b3ea88b4ebdc30c8e") => "traces-05-get.json",
            ("GET", p) if p.starts_with("/api/public/traces/") => "traces-06-get-missing.json",
            ("GET", "/api/public/observations") => "traces-10-observations-by-trace.json",
            ("GET", "/api/public/observations/5a0afb6e21a7bb22") => {
                "traces-13-observation-get.json"
            }
            ("GET", "/api/public/sessions") => "traces-32-sessions-list-limit2.json",
            ("GET", "/api/public/sessions/session-7") => "traces-30-session-get.json",
            ("GET", "/api/public/v2/scores") => "scores-31-v2-list-by-trace.json",
            ("GET", p) if p.starts_with("/api/public/v2/scores/") => "scores-33-v2-get-one.json",
            ("POST", "/api/public/scores") if r.body.first() == Some(&b'[') => {
                "scores-22-post-scores-array.json"
            }
            ("POST", "/api/public/scores") => "scores-20-post-scores-object-trace.json",
            ("GET", "/api/public/score-configs") => "scores-06-config-list.json",
            ("GET", p) if p.starts_with("/api/public/score-configs/") => {
                "scores-08-config-get.json"
            }
            _ => "prompts-31-get-nested-raw-slash.json",
        };
        recorded(f)
    })
}

#[tokio::test]
async fn auth_check_says_which_part_failed() {
    let server = routed();
    let project = server.client().auth_check().await.unwrap();
    assert_eq!(
        (project.id.as_str(), project.name.as_str()),
        ("lab-project", "Lab Project")
    );

    let wrong = Server::start(|_| recorded("auth-04-projects-wrong-secret.json"));
    let e = wrong.client().auth_check().await.unwrap_err();
    assert!(e.is_unauthorized() && !e.is_network(), "{e:?}");
    assert!(e.to_string().contains("Invalid credentials"), "{e}");

    let down = ApiClient::new(
        ApiConfig::builder()
            .base_url(down_base())
            .public_key(PUBLIC)
            .secret_key(SECRET)
            .max_retries(0)
            .build()
            .unwrap(),
    );
    let e = down.auth_check().await.unwrap_err();
    assert!(e.is_network() && !e.is_unauthorized(), "{e:?}");
    assert!(e.to_string().contains("LANGFUSE_BASE_URL"), "{e}");

    let not_langfuse = Server::start(|_| recorded("prompts-31-get-nested-raw-slash.json"));
    let e = not_langfuse.client().auth_check().await.unwrap_err();
    assert!(
        e.is_not_found() && e.to_string().contains("LANGFUSE_BASE_URL"),
        "{e}"
    );
}

#[tokio::test]
async fn lists_and_gets_traces_with_filters() {
    let server = routed();
    let api = server.client();
    let mut q = TraceQuery::default();
    q.limit = Some(3);
    q.session_id = Some("session-7".into());
    q.tags = vec!["a".into(), "b c".into()];
    let page = api.list_traces(q).await.unwrap();
    assert_eq!(page.data.len(), 3);
    assert_eq!(page.meta.total_items, 32);
    assert!(page.has_next());
    assert_eq!(page.data[0].name.as_deref(), Some("experiment-item-run"));
    let params = server.requests()[0].params();
    assert_eq!(params["sessionId"], "session-7");
    assert_eq!(
        server.requests()[0].query,
        "limit=3&sessionId=session-7&tags=a&tags=b+c"
    );

    let t = api
        .get_trace("e873007263c16d1b3ea88b4ebdc30c8e")
        .await
        .unwrap();
    let want = body("traces-05-get.json");
    assert_eq!(t.user_id.as_deref(), Some("user-42"));
    assert_eq!(t.total_cost, want["totalCost"].as_f64());
    assert_eq!(t.extra["projectId"], "lab-project");
    let obs = t.observation_records();
    assert_eq!(obs.len(), want["observations"].as_array().unwrap().len());
    assert!(obs.iter().any(|o| o.kind.as_deref() == Some("GENERATION")));
    assert_eq!(
        t.score_records().len(),
        want["scores"].as_array().unwrap().len()
    );

    let e = api
        .get_trace("00000000000000000000000000000000")
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn lists_and_gets_observations_sessions_and_scores() {
    let server = routed();
    let api = server.client();
    let mut q = ObservationQuery::default();
    q.trace_id = Some("e873007263c16d1b3ea88b4ebdc30c8e".into());
    q.kind = Some("GENERATION".into());
    let page = api.list_observations(q).await.unwrap();
    let want = body("traces-10-observations-by-trace.json");
    assert_eq!(page.data.len(), want["data"].as_array().unwrap().len());
    let o = api.get_observation("5a0afb6e21a7bb22").await.unwrap();
    assert_eq!(o.kind.as_deref(), Some("RETRIEVER"));
    assert_eq!(o.parent_observation_id.as_deref(), Some("617fd232db20c797"));

    let sessions = api.list_sessions(None, Some(2)).await.unwrap();
    assert_eq!(sessions.data[0].id, "session-prompt");
    let s = api.get_session("session-7").await.unwrap();
    assert!(!s.traces.is_empty());

    let mut sq = ScoreQuery::default();
    sq.trace_id = Some("e873007263c16d1b3ea88b4ebdc30c8e".into());
    let scores = api.list_scores(sq).await.unwrap();
    assert!(!scores.data.is_empty());
    let one = api
        .get_score("e16bc69a-867a-4c5c-94e4-f22563306ff6")
        .await
        .unwrap();
    assert_eq!(one.string_value.as_deref(), Some("positive"));
    assert_eq!(one.data_type.as_deref(), Some("CATEGORICAL"));

    let configs = api.list_score_configs(Some(1), Some(50)).await.unwrap();
    assert_eq!(configs.data[0].data_type, "BOOLEAN");
    let c = api
        .get_score_config("da70e097-c017-4ad4-95ae-e8f3cad9ea56")
        .await
        .unwrap();
    assert!(!c.id.is_empty());

    let queries: Vec<_> = server.requests().iter().map(|r| r.query.clone()).collect();
    assert_eq!(
        queries[0],
        "traceId=e873007263c16d1b3ea88b4ebdc30c8e&type=GENERATION"
    );
    assert_eq!(queries[2], "limit=2");
    assert_eq!(queries[6], "page=1&limit=50");
}

#[tokio::test]
async fn scores_are_posted_one_json_object_each() {
    let server = routed();
    let mut s = CreateScore::numeric("ref-accuracy", 0.9);
    s.trace_id = Some("e873007263c16d1b3ea88b4ebdc30c8e".into());
    s.comment = Some("via POST /api/public/scores".into());
    let id = server.client().create_score(&s).await.unwrap();
    assert_eq!(id, "89d228fa-f6d7-4533-b4b5-7a091af67245");
    let sent = server.requests()[0].json();
    assert_eq!(
        sent,
        json!({"name": "ref-accuracy", "value": 0.9, "traceId": "e873007263c16d1b3ea88b4ebdc30c8e",
               "comment": "via POST /api/public/scores"})
    );
    let back: CreateScore = serde_json::from_value(sent).unwrap();
    assert_eq!(back, s);
}

#[test]
fn config_from_env_reads_the_langfuse_variables() {
    // The only test of this binary touching the environment.
    std::env::set_var("LANGFUSE_PUBLIC_KEY", "pk-lf-env");
    std::env::set_var("LANGFUSE_SECRET_KEY", "sk-lf-env");
    std::env::remove_var("LANGFUSE_BASE_URL");
    std::env::set_var("LANGFUSE_HOST", "http://127.0.0.1:3000/");
    std::env::set_var("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS", "5");
    let cfg = ApiConfig::from_env().unwrap();
    assert_eq!(cfg.base_url(), "http://127.0.0.1:3000");
    assert_eq!(cfg.public_key(), "pk-lf-env");
    assert_eq!(cfg.prompt_cache_ttl().as_secs(), 5);
    std::env::set_var("LANGFUSE_BASE_URL", "https://eu.example");
    assert_eq!(
        ApiConfig::from_env().unwrap().base_url(),
        "https://eu.example"
    );
    std::env::set_var("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS", "soon");
    let e = ApiConfig::from_env().unwrap_err();
    assert!(
        e.is_config()
            && e.to_string()
                .contains("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS")
    );
    std::env::remove_var("LANGFUSE_SECRET_KEY");
    std::env::remove_var("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS");
    let e = ApiConfig::from_env().unwrap_err();
    assert!(
        e.is_config() && e.to_string().contains("LANGFUSE_SECRET_KEY"),
        "{e}"
    );
}
