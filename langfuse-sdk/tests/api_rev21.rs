//! Siblings of the issue-21 cases in the public API client (review rev21): answers that are not
//! the API's, and configuration the tracing client refuses.

mod api_support;

use langfuse_sdk::api::ApiConfig;

use api_support::{Reply, Server, PUBLIC, SECRET};

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
/// answer failed, and every other API call fails to decode it).
#[tokio::test]
async fn a_delete_answered_with_an_html_page_is_not_a_success() {
    let server = login_wall();
    let api = server.client();
    let item = api.delete_dataset_item("ref-item-1").await;
    assert!(
        item.is_err(),
        "delete_dataset_item: Ok(()) from a login page"
    );
    let run = api.delete_dataset_run("ref-dataset", "ref-run").await;
    assert!(run.is_err(), "delete_dataset_run: Ok(()) from a login page");
}

/// The tracing client's `build()` refuses a base URL with a query or fragment and keys with
/// whitespace inside (README "Configuration"); the API client built from the same values
/// accepts them and sends every call to the wrong place (`https://h/?x/api/public/...` is the
/// path `/`) or with keys that cannot work.
#[test]
fn api_config_refuses_what_the_tracing_client_refuses() {
    let server = login_wall();
    for base in [
        format!("{}/?tenant=a", server.base),
        format!("{}#frag", server.base),
    ] {
        let r = ApiConfig::builder()
            .base_url(&base)
            .public_key(PUBLIC)
            .secret_key(SECRET)
            .build();
        assert!(r.is_err(), "{base:?} accepted: {r:?}");
    }
    let r = ApiConfig::builder()
        .base_url(&server.base)
        .public_key("pk-lf test")
        .secret_key(SECRET)
        .build();
    assert!(r.is_err(), "a public key with a space inside accepted");
    // The tracing client refuses the same values.
    assert!(langfuse_sdk::Langfuse::builder()
        .base_url(format!("{}/?tenant=a", server.base))
        .public_key(PUBLIC)
        .secret_key(SECRET)
        .build()
        .is_err());
}

/// The exporter names a redirect's Location (issue 21 item 1); the API client's error for the
/// same 302 (an SSO login wall) only says "unexpected status".
#[tokio::test]
async fn a_redirect_answer_names_its_location() {
    let server = Server::start(|_| Reply {
        status: 302,
        headers: vec![(
            "location".into(),
            "https://sso.example.com/login?rev21".into(),
        )],
        body: Vec::new(),
    });
    let e = server.client().get_prompt("p").await.unwrap_err();
    assert!(
        e.to_string()
            .contains("https://sso.example.com/login?rev21"),
        "{e}"
    );
}
