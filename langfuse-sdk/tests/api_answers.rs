//! Answers that are not the Langfuse API's, and configuration the tracing client refuses: the
//! public API client judges them as the exporter and `Langfuse::builder()` do.

mod api_support;

use langfuse_sdk::api::ApiConfig;

use api_support::{recorded, Reply, Server, PUBLIC, SECRET};

/// A login wall / SSO proxy in front of Langfuse answering 200 with its HTML page.
fn login_wall() -> Server {
    Server::start(|_| Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: b"<!DOCTYPE html><html><body>Sign in</body></html>".to_vec(),
    })
}

/// Langfuse answers a delete with JSON (`{"message": "Dataset run successfully deleted"}`,
/// reference/api/datasets-42-run-delete.json). An HTML page that says 200 is not that answer:
/// nothing was deleted, so the call must not report success (as the exporter counts such an
/// answer failed, and every other API call fails to decode it), and the error says what came
/// back.
#[tokio::test]
async fn a_delete_answered_with_an_html_page_is_not_a_success() {
    let server = login_wall();
    let api = server.client();
    let item = api.delete_dataset_item("ref-item-1").await.unwrap_err();
    let run = api
        .delete_dataset_run("ref-dataset", "ref-run")
        .await
        .unwrap_err();
    for (e, what) in [
        (item, "delete dataset item ref-item-1"),
        (run, "delete run"),
    ] {
        assert!(e.is_decode(), "{e:?}");
        assert_eq!(e.status(), Some(200), "{e:?}");
        let m = e.to_string();
        for part in [what, "text/html", "Sign in", "LANGFUSE_BASE_URL"] {
            assert!(m.contains(part), "{part:?} missing: {m}");
        }
    }
    assert_eq!(server.count("/api/public/dataset-items/ref-item-1"), 1);
    assert_eq!(
        server.count("/api/public/datasets/ref-dataset/runs/ref-run"),
        1
    );
}

/// The other answers a delete can get: Langfuse's own JSON and a bodiless 204 are successes;
/// plain text, JSON that is not an object, and a 304 to a request that was not conditional are
/// not.
#[tokio::test]
async fn a_delete_succeeds_only_on_the_apis_confirmation() {
    let ok = Server::start(|_| recorded("datasets-42-run-delete.json"));
    ok.client()
        .delete_dataset_run("ref-dataset", "ref-run-to-delete")
        .await
        .unwrap();
    let no_content = Server::start(|_| Reply {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    });
    no_content
        .client()
        .delete_dataset_item("ref-item-1")
        .await
        .unwrap();
    for (status, ctype, body) in [
        (200, "text/plain", &b"OK"[..]),
        (200, "application/json", &b"[1]"[..]),
        (200, "application/json", &b""[..]),
        (304, "application/json", &b""[..]),
    ] {
        let server = Server::start(move |_| Reply {
            status,
            headers: vec![("content-type".into(), ctype.into())],
            body: body.to_vec(),
        });
        let e = server
            .client()
            .delete_dataset_item("ref-item-1")
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(status), "{status} {ctype} {body:?}: {e:?}");
    }
}

/// The tracing client's `build()` refuses a base URL with a query or fragment, one without a
/// scheme, and keys with whitespace inside (README "Configuration"); the API client built from
/// the same values refuses them too, with an error naming the setting (and never the key).
#[test]
fn api_config_refuses_what_the_tracing_client_refuses() {
    let server = login_wall();
    let bases = [
        format!("{}/?tenant=a", server.base),
        format!("{}#frag", server.base),
        server.base.trim_start_matches("http://").to_string(),
        "ftp://example.com".to_string(),
        "http://user:pw@example.com".to_string(),
    ];
    for base in &bases {
        let e = ApiConfig::builder()
            .base_url(base)
            .public_key(PUBLIC)
            .secret_key(SECRET)
            .build()
            .unwrap_err();
        assert!(e.is_config(), "{base:?}: {e:?}");
        assert_eq!(e.setting(), Some("LANGFUSE_BASE_URL"), "{base:?}: {e:?}");
        assert!(e.to_string().contains("LANGFUSE_BASE_URL"), "{e}");
        // The tracing client refuses the same value, naming the same setting.
        let t = langfuse_sdk::Langfuse::builder()
            .base_url(base)
            .public_key(PUBLIC)
            .secret_key(SECRET)
            .build()
            .unwrap_err();
        assert_eq!(t.setting(), Some("LANGFUSE_BASE_URL"), "{base:?}: {t:?}");
    }
    let secret = "sk-lf-very secret";
    for (public, secret, setting) in [
        ("pk-lf test", SECRET, "LANGFUSE_PUBLIC_KEY"),
        ("pk-lf-test\n", SECRET, "LANGFUSE_PUBLIC_KEY"),
        (PUBLIC, secret, "LANGFUSE_SECRET_KEY"),
    ] {
        let e = ApiConfig::builder()
            .base_url(&server.base)
            .public_key(public)
            .secret_key(secret)
            .build()
            .unwrap_err();
        assert!(e.is_config(), "{e:?}");
        assert_eq!(e.setting(), Some(setting), "{e:?}");
        let shown = format!("{e} {e:?}");
        assert!(
            shown.contains(setting)
                && (shown.contains("whitespace") || shown.contains("line break")),
            "{shown}"
        );
        assert!(!shown.contains("very secret"), "{shown}");
        let t = langfuse_sdk::Langfuse::builder()
            .base_url(&server.base)
            .public_key(public)
            .secret_key(secret)
            .build()
            .unwrap_err();
        assert_eq!(t.setting(), Some(setting), "{t:?}");
    }
    // What both accept: a trailing slash is dropped.
    let cfg = ApiConfig::builder()
        .base_url(format!("{}/", server.base))
        .public_key(PUBLIC)
        .secret_key(SECRET)
        .build()
        .unwrap();
    assert_eq!(cfg.base_url(), server.base);
}

/// The exporter names a redirect's Location (issue 21 item 1); so does the API client's error
/// for the same 302 (an SSO login wall).
#[tokio::test]
async fn a_redirect_answer_names_its_location() {
    let server = Server::start(|_| Reply {
        status: 302,
        headers: vec![(
            "location".into(),
            "https://sso.example.com/login?next=prompts".into(),
        )],
        body: Vec::new(),
    });
    let e = server.client().get_prompt("p").await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e:?}");
    assert!(!e.is_retryable(), "{e:?}");
    let m = e.to_string();
    for part in [
        "prompt 'p'",
        "https://sso.example.com/login?next=prompts",
        "LANGFUSE_BASE_URL",
    ] {
        assert!(m.contains(part), "{part:?} missing: {m}");
    }
    // The redirect was not followed.
    assert_eq!(server.requests().len(), 1);
}

/// An auth proxy in front of a self-hosted Langfuse wants its header on every request: set on
/// the tracing client (`header`), it reaches `Langfuse::api()`'s calls too, and an API client
/// built alone takes it from its own builder. Its value never shows in `Debug`.
#[tokio::test]
async fn extra_headers_reach_the_api_behind_an_auth_proxy() {
    let server = Server::start(|r| {
        if r.header("x-proxy-auth") == Some("let-me-in") {
            recorded("prompts-10-get-default.json")
        } else {
            Reply::json(403, &serde_json::json!({"message": "proxy: no token"}))
        }
    });
    let lf = langfuse_sdk::Langfuse::builder()
        .public_key(PUBLIC)
        .secret_key(SECRET)
        .base_url(server.base.clone())
        .header("x-proxy-auth", "let-me-in")
        .tracing_enabled(false)
        .build()
        .unwrap();
    let p = lf
        .api()
        .unwrap()
        .get_prompt("ref-text-prompt")
        .await
        .unwrap();
    assert_eq!(p.name(), "ref-text-prompt");

    let cfg = server
        .config()
        .header("x-proxy-auth", "let-me-in")
        .build()
        .unwrap();
    assert!(!format!("{cfg:?}").contains("let-me-in"), "{cfg:?}");
    let alone = langfuse_sdk::api::ApiClient::new(cfg);
    assert!(alone.get_prompt("ref-text-prompt").await.is_ok());
    // Without it, the proxy refuses: the header is what made the difference.
    assert!(server.client().get_prompt("ref-text-prompt").await.is_err());
    assert!(server
        .requests()
        .iter()
        .filter(|r| r.header("x-proxy-auth").is_some())
        .all(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))));
}
