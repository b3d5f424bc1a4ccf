//! Scenarios that several test binaries run in their own setting (for example one per tokio
//! runtime flavour, each in its own process because the global client is per process).

use langfuse_sdk::{Langfuse, WithContext};

use crate::CaptureServer;

/// The `init` guard, dropped inside whatever runtime runs this future, delivers a root and its ten
/// children, all under the root.
pub async fn init_guard_delivers() {
    let server = CaptureServer::start();
    {
        let _guard = langfuse_sdk::init_with(
            Langfuse::builder()
                .public_key("pk-lf-g")
                .secret_key("sk-lf-g")
                .base_url(server.url())
                .flush_interval(std::time::Duration::from_secs(3600))
                .build()
                .unwrap(),
        );
        let lf = langfuse_sdk::client();
        let root = lf.span("main").start();
        async {
            for i in 0..10 {
                langfuse_sdk::observation(langfuse_sdk::ObservationType::Span, format!("child{i}"))
                    .start()
                    .end();
                tokio::task::yield_now().await;
            }
        }
        .with_context(root.context())
        .await;
        root.end();
    } // the guard drops here, inside the runtime
    let spans = server.spans();
    assert_eq!(spans.len(), 11);
    let main = spans.iter().find(|s| s.name() == "main").unwrap();
    assert!(spans
        .iter()
        .filter(|s| s.name() != "main")
        .all(|s| s.parent_id() == Some(main.id())));
}
