//! Prompt management against an in-process server answering with recorded Langfuse responses:
//! fetch, encoding, fallbacks, typed errors, create + labels, list, blocking use in every
//! runtime flavour (the cache: `api_prompt_cache.rs`).

mod api_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use langfuse_sdk::api::{ApiClient, ApiConfig, ChatTemplateEntry, CreatePrompt, ListPrompts};
use serde_json::json;

use api_support::{body, down_base, recorded, Reply, Server, PUBLIC, SECRET};

const TEXT: &str = "/api/public/v2/prompts/ref-text-prompt";
const WAIT: Duration = Duration::from_secs(10);

fn text_server() -> Server {
    Server::start(|r| {
        if r.path == TEXT {
            recorded("prompts-10-get-default.json")
        } else {
            recorded("prompts-16-get-missing-name.json")
        }
    })
}

#[tokio::test]
async fn gets_a_text_prompt_with_its_fields() {
    let server = text_server();
    let p = server.client().get_prompt("ref-text-prompt").await.unwrap();
    assert_eq!((p.name(), p.version()), ("ref-text-prompt", 1));
    assert!(p.text().unwrap().starts_with("You are a {{role}}."));
    assert_eq!(p.labels(), ["production"]);
    assert_eq!(p.tags(), ["ref", "rust-sdk"]);
    assert_eq!(
        p.config(),
        &json!({"model": "gpt-4o-mini", "temperature": 0.2})
    );
    assert_eq!(p.commit_message(), Some("first version"));
    assert!(!p.is_fallback());
    let link = p.link().unwrap();
    assert_eq!((link.name.as_str(), link.version), ("ref-text-prompt", 1));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_str()),
        ("GET", TEXT, "")
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC}:{SECRET}"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(r.header("x-langfuse-sdk-name"), Some("rust"));
    assert_eq!(r.header("x-langfuse-public-key"), Some(PUBLIC));
    assert_eq!(r.header("if-none-match"), None);
}

#[tokio::test]
async fn label_and_version_go_in_the_query_and_are_cached_apart() {
    let server = Server::start(|r| match r.params().get("version").map(String::as_str) {
        Some("2") => recorded("prompts-15-get-version-2.json"),
        _ => recorded("prompts-12-get-label-staging.json"),
    });
    let api = server.client();
    let staging = api
        .get_prompt("ref-text-prompt")
        .label("staging")
        .await
        .unwrap();
    let v2 = api.get_prompt("ref-text-prompt").version(2).await.unwrap();
    assert_eq!(staging.labels(), ["staging", "latest"]);
    assert_eq!(v2.version(), 2);
    let again = api
        .get_prompt("ref-text-prompt")
        .label("staging")
        .await
        .unwrap();
    assert_eq!(again, staging);
    let queries: Vec<_> = server.requests().iter().map(|r| r.query.clone()).collect();
    assert_eq!(queries, ["label=staging", "version=2"]);
}

#[tokio::test]
async fn folder_names_are_sent_with_an_encoded_slash() {
    let server = Server::start(|r| {
        if r.path == "/api/public/v2/prompts/ref-folder%2Fnested-prompt" {
            recorded("prompts-30-get-nested-encoded.json")
        } else {
            recorded("prompts-31-get-nested-raw-slash.json")
        }
    });
    let p = server
        .client()
        .get_prompt("ref-folder/nested-prompt")
        .await
        .unwrap();
    assert_eq!(p.name(), "ref-folder/nested-prompt");
    assert_eq!(
        p.compile_text([("who", "me")]).unwrap(),
        "Nested prompt for me"
    );
}

#[tokio::test]
async fn an_html_404_says_the_route_is_wrong() {
    let server = Server::start(|_| recorded("prompts-31-get-nested-raw-slash.json"));
    let e = server.client().get_prompt("x").await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("no such API route"), "{e}");
}

#[tokio::test]
async fn gets_and_compiles_a_chat_prompt() {
    let server = Server::start(|_| recorded("prompts-21-get-chat-default.json"));
    let p = server.client().get_prompt("ref-chat-prompt").await.unwrap();
    assert!(p.is_chat());
    assert_eq!(
        p.chat().unwrap()[1],
        ChatTemplateEntry::placeholder("history")
    );
    let messages = p
        .compile_chat([
            ("persona", json!("a crab")),
            ("language", json!("German")),
            ("question", json!("Why?")),
            (
                "history",
                json!([{"role": "user", "content": "I am {{persona}}"}]),
            ),
        ])
        .unwrap()
        .into_messages()
        .unwrap();
    assert_eq!(
        serde_json::to_value(messages).unwrap(),
        json!([
            {"role": "system", "content": "You are a crab. Always answer in German."},
            {"role": "user", "content": "I am a crab"},
            {"role": "user", "content": "Why?"}
        ])
    );
}

#[tokio::test]
async fn a_fallback_is_used_when_the_server_is_down_and_is_never_linked() {
    let api = ApiClient::new(
        ApiConfig::builder()
            .base_url(down_base())
            .public_key(PUBLIC)
            .secret_key(SECRET)
            .retry_backoff(Duration::from_millis(1))
            .build()
            .unwrap(),
    );
    let p = api
        .get_prompt("greeting")
        .label("staging")
        .fallback_text("Hello {{name}}")
        .await
        .unwrap();
    assert!(p.is_fallback());
    assert_eq!(p.link(), None);
    assert_eq!(
        (p.name(), p.version(), p.labels()),
        ("greeting", 0, &["staging".to_string()][..])
    );
    assert_eq!(p.compile_text([("name", "Ann")]).unwrap(), "Hello Ann");

    let chat = api
        .get_prompt("greeting")
        .version(3)
        .fallback_chat(vec![ChatTemplateEntry::message("user", "hi")])
        .await
        .unwrap();
    assert!(chat.is_fallback() && chat.is_chat() && chat.version() == 3);

    let e = api.get_prompt("greeting").max_retries(0).await.unwrap_err();
    assert!(
        e.is_network() && !e.is_not_found() && !e.is_unauthorized(),
        "{e:?}"
    );
    assert_eq!(e.status(), None);
}

#[tokio::test]
async fn not_found_bad_keys_and_network_are_told_apart() {
    let server = Server::start(|r| {
        if r.header("authorization").is_some_and(|a| {
            a.contains(
                &base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC}:{SECRET}")),
            )
        }) {
            recorded("prompts-16-get-missing-name.json")
        } else {
            recorded("auth-04-projects-wrong-secret.json")
        }
    });
    let e = server
        .client()
        .get_prompt("ref-no-such-prompt")
        .await
        .unwrap_err();
    assert!(
        e.is_not_found() && !e.is_network() && !e.is_unauthorized(),
        "{e:?}"
    );
    assert_eq!(e.status(), Some(404));
    assert!(
        e.to_string()
            .contains("Prompt not found: 'ref-no-such-prompt'"),
        "{e}"
    );
    // 404s are not retried.
    assert_eq!(server.requests().len(), 1);

    let bad = ApiClient::new(server.config().secret_key("sk-lf-wrong").build().unwrap());
    let e = bad.get_prompt("ref-text-prompt").await.unwrap_err();
    assert!(
        e.is_unauthorized() && !e.is_not_found() && !e.is_network(),
        "{e:?}"
    );
    let text = format!("{e} {e:?}");
    assert!(
        text.contains("LANGFUSE_SECRET_KEY") && !text.contains("sk-lf-wrong"),
        "{text}"
    );

    // With a fallback a 404 gives the fallback.
    let p = server
        .client()
        .get_prompt("ref-no-such-prompt")
        .fallback_text("x")
        .await
        .unwrap();
    assert!(p.is_fallback());
}

#[tokio::test]
async fn a_fetch_timeout_is_a_timeout_error() {
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let gate = Mutex::new(gate_rx);
    let server = Server::start(move |_| {
        let _ = gate.lock().unwrap().recv_timeout(WAIT);
        recorded("prompts-10-get-default.json")
    });
    let e = server
        .client()
        .get_prompt("ref-text-prompt")
        .timeout(Duration::from_millis(100))
        .max_retries(0)
        .await
        .unwrap_err();
    assert!(e.is_timeout() && e.is_network(), "{e:?}");
    drop(gate_tx);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::json(503, &json!({"message": "busy"}))
        } else {
            recorded("prompts-10-get-default.json")
        }
    });
    let p = server.client().get_prompt("ref-text-prompt").await.unwrap();
    assert_eq!(p.version(), 1);
    assert_eq!(server.requests().len(), 3);
    let always = Server::start(|_| Reply::json(500, &json!({"message": "boom"})));
    let e = always
        .client()
        .get_prompt("p")
        .max_retries(1)
        .await
        .unwrap_err();
    assert!(e.is_server_error() && e.status() == Some(500), "{e:?}");
    assert_eq!(always.requests().len(), 2);
}

#[tokio::test]
async fn invalid_arguments_send_nothing() {
    let server = text_server();
    let api = server.client();
    assert!(api.get_prompt(" ").await.unwrap_err().is_invalid_argument());
    let e = api.get_prompt("p").label("a").version(1).await.unwrap_err();
    assert!(e.is_invalid_argument(), "{e}");
    assert_eq!(server.requests().len(), 0);
}

#[tokio::test]
async fn creates_text_and_chat_versions_and_sets_labels() {
    let server = Server::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/api/public/v2/prompts") if r.json()["type"] == "chat" => {
            recorded("prompts-03-create-chat-v1.json")
        }
        ("POST", "/api/public/v2/prompts") => recorded("prompts-01-create-text-v1.json"),
        ("PATCH", _) => recorded("prompts-50-patch-labels-v1.json"),
        _ => recorded("prompts-10-get-default.json"),
    });
    let api = server.client();
    api.get_prompt("ref-text-prompt").await.unwrap(); // cached now

    let created = api
        .create_prompt(
            &CreatePrompt::text("ref-text-prompt", "You are a {{role}}.")
                .labels(["production"])
                .tags(["ref", "rust-sdk"])
                .config(json!({"model": "gpt-4o-mini", "temperature": 0.2}))
                .commit_message("first version"),
        )
        .await
        .unwrap();
    assert_eq!((created.version(), created.is_fallback()), (1, false));
    let chat = api
        .create_prompt(
            &CreatePrompt::chat(
                "ref-chat-prompt",
                vec![
                    ChatTemplateEntry::message("system", "You are {{persona}}."),
                    ChatTemplateEntry::placeholder("history"),
                    ChatTemplateEntry::message("user", "{{question}}"),
                ],
            )
            .labels(["production"]),
        )
        .await
        .unwrap();
    assert!(chat.is_chat());
    let labelled = api
        .set_prompt_labels("ref-text-prompt", 1, ["production", "reviewed"])
        .await
        .unwrap();
    assert_eq!(labelled.labels(), ["production", "reviewed"]);
    // Creating and labelling forgot the cached lookup.
    api.get_prompt("ref-text-prompt").await.unwrap();

    let reqs = server.requests();
    let paths: Vec<_> = reqs
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            format!("GET {TEXT}"),
            "POST /api/public/v2/prompts".into(),
            "POST /api/public/v2/prompts".into(),
            "PATCH /api/public/v2/prompts/ref-text-prompt/versions/1".into(),
            format!("GET {TEXT}"),
        ]
    );
    assert_eq!(
        reqs[1].json(),
        json!({"name": "ref-text-prompt", "type": "text", "prompt": "You are a {{role}}.",
               "labels": ["production"], "tags": ["ref", "rust-sdk"],
               "config": {"model": "gpt-4o-mini", "temperature": 0.2},
               "commitMessage": "first version"})
    );
    assert_eq!(
        reqs[2].json()["prompt"],
        json!([{"role": "system", "content": "You are {{persona}}."},
               {"type": "placeholder", "name": "history"},
               {"role": "user", "content": "{{question}}"}])
    );
    assert_eq!(
        reqs[3].json(),
        json!({"newLabels": ["production", "reviewed"]})
    );
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn lists_prompts_page_by_page() {
    let server = Server::start(|r| match r.params().get("page").map(String::as_str) {
        Some("2") => recorded("prompts-42-list-page2-limit2.json"),
        _ => recorded("prompts-41-list-page1-limit2.json"),
    });
    let api = server.client();
    let p1 = api.list_prompts(ListPrompts::page(1, 2)).await.unwrap();
    assert_eq!(p1.data.len(), 2);
    assert_eq!(p1.data[1].name, "ref-chat-prompt");
    assert_eq!(p1.data[1].kind, "chat");
    assert_eq!(p1.data[1].versions, [1]);
    let expected = body("prompts-41-list-page1-limit2.json")["meta"].clone();
    assert_eq!(
        p1.meta.total_items,
        expected["totalItems"].as_u64().unwrap()
    );
    assert!(p1.has_next());
    let p2 = api.list_prompts(ListPrompts::page(2, 2)).await.unwrap();
    assert_eq!(p2.meta.page, 2);
    let mut q = ListPrompts::default();
    q.tag = Some("rust-sdk".into());
    api.list_prompts(q).await.unwrap();
    let queries: Vec<_> = server.requests().iter().map(|r| r.query.clone()).collect();
    assert_eq!(
        queries,
        ["page=1&limit=2", "page=2&limit=2", "tag=rust-sdk"]
    );
}

#[test]
fn blocking_get_works_without_a_runtime_and_inside_both_flavours() {
    let server = text_server();
    let api = server.client();
    let p = api
        .get_prompt("ref-text-prompt")
        .cache_ttl(Duration::ZERO)
        .blocking()
        .unwrap();
    assert_eq!(p.version(), 1);

    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = api.clone();
    let p = current.block_on(async move {
        a.get_prompt("ref-text-prompt")
            .cache_ttl(Duration::ZERO)
            .blocking()
    });
    assert_eq!(p.unwrap().version(), 1);

    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let a = api.clone();
    let p = multi.block_on(async move {
        a.get_prompt("ref-text-prompt")
            .cache_ttl(Duration::ZERO)
            .blocking()
    });
    assert_eq!(p.unwrap().version(), 1);

    // The async form in a runtime without I/O or time drivers.
    let bare = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = api.clone();
    let p = bare.block_on(async move {
        a.get_prompt("ref-text-prompt")
            .cache_ttl(Duration::ZERO)
            .await
    });
    assert_eq!(p.unwrap().version(), 1);
    assert_eq!(server.count(TEXT), 4);
}

#[test]
fn secrets_are_never_printed() {
    let cfg = ApiConfig::builder()
        .public_key("pk-lf-1")
        .secret_key("sk-lf-very-secret")
        .build()
        .unwrap();
    let api = ApiClient::new(cfg.clone());
    let text = format!("{cfg:?} {api:?}");
    assert!(!text.contains("very-secret"), "{text}");
    assert_eq!(cfg.base_url(), "https://cloud.langfuse.com");
    assert!(ApiConfig::builder()
        .public_key("pk")
        .build()
        .unwrap_err()
        .is_config());
    let e = ApiConfig::builder()
        .public_key("pk")
        .secret_key("sk")
        .base_url("localhost:3000")
        .build()
        .unwrap_err();
    assert!(
        e.is_config() && e.to_string().contains("LANGFUSE_BASE_URL"),
        "{e}"
    );
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn a_generation_is_linked_to_a_fetched_prompt_and_not_to_a_fallback() {
    use langfuse_sdk::testing::InMemoryExporter;
    let exporter = InMemoryExporter::new();
    let lf = langfuse_sdk::Langfuse::builder()
        .in_memory_exporter(exporter.clone())
        .build()
        .unwrap();
    let server = text_server();
    let fetched = server.client().get_prompt("ref-text-prompt").await.unwrap();
    let fallback = server
        .client()
        .get_prompt("ref-no-such-prompt")
        .fallback_text("x")
        .await
        .unwrap();
    for (name, p) in [("with-prompt", &fetched), ("with-fallback", &fallback)] {
        let g = lf.generation(name).start();
        p.link_observation(&g);
        g.end();
    }
    lf.flush(Duration::from_secs(5)).unwrap();
    let spans = exporter.spans();
    let linked = spans.iter().find(|s| s.name() == "with-prompt").unwrap();
    assert_eq!(
        linked.attr_str("langfuse.observation.prompt.name"),
        Some("ref-text-prompt")
    );
    assert_eq!(
        linked.attr_int("langfuse.observation.prompt.version"),
        Some(1)
    );
    let unlinked = spans.iter().find(|s| s.name() == "with-fallback").unwrap();
    assert_eq!(unlinked.attr_str("langfuse.observation.prompt.name"), None);
}
