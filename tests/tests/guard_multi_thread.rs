//! The `init` guard delivers everything when dropped inside a `multi_thread` tokio runtime.
//! (One test per binary: the global client is per process.)

#[tokio::test(flavor = "multi_thread")]
async fn init_guard_delivers_inside_multi_thread_runtime() {
    langfuse_tests::scenarios::init_guard_delivers().await;
}
