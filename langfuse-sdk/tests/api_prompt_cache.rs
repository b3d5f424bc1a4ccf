//! The prompt cache against an in-process server answering with recorded Langfuse responses:
//! hit, expiry with background refresh (manual clock), ETag / 304, TTL 0, one request for a
//! burst of cold callers.

mod api_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use langfuse_sdk::api::ApiClient;

use api_support::{poll_once, recorded, ManualClock, Reply, Server};

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
async fn a_cached_prompt_costs_no_request() {
    let server = text_server();
    let api = server.client();
    let a = api.get_prompt("ref-text-prompt").await.unwrap();
    let b = api.clone().get_prompt("ref-text-prompt").await.unwrap();
    assert_eq!(a, b);
    assert_eq!(server.count(TEXT), 1);
}

/// A server whose first prompt answer is v1 (ETag "v1"); later answers wait for `gate` and
/// are v2 (ETag "v2"), or 304 when asked with the current ETag and `not_modified` is set.
struct Versioned {
    server: Server,
    gate: mpsc::Sender<()>,
    arrived: mpsc::Receiver<()>,
}

fn versioned(not_modified: bool) -> Versioned {
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (arr_tx, arr_rx) = mpsc::channel::<()>();
    let gate = Mutex::new(gate_rx);
    let arrived = Mutex::new(arr_tx);
    let n = AtomicUsize::new(0);
    let server = Server::start(move |r| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        if i == 0 {
            return recorded("prompts-11-get-label-production.json").header("etag", "\"v1\"");
        }
        let _ = arrived.lock().unwrap().send(());
        let _ = gate.lock().unwrap().recv_timeout(WAIT);
        if not_modified && r.header("if-none-match") == Some("\"v1\"") {
            return Reply {
                status: 304,
                headers: vec![("etag".into(), "\"v1\"".into())],
                body: vec![],
            };
        }
        recorded("prompts-53-get-default-after-move.json").header("etag", "\"v2\"")
    });
    Versioned {
        server,
        gate: gate_tx,
        arrived: arr_rx,
    }
}

#[tokio::test]
async fn an_expired_prompt_is_served_at_once_and_refreshed_in_the_background() {
    let v = versioned(false);
    let clock = ManualClock::new();
    let api = ApiClient::new(v.server.config().clock(clock.clock()).build().unwrap());
    assert_eq!(
        api.get_prompt("ref-text-prompt").await.unwrap().version(),
        1
    );

    clock.advance(Duration::from_secs(61));
    // The refresh request is held by the server: the stale value still comes back.
    let stale = api.get_prompt("ref-text-prompt").await.unwrap();
    assert_eq!(stale.version(), 1);
    v.arrived.recv_timeout(WAIT).unwrap();
    // While the refresh runs, more gets start no second refresh.
    assert_eq!(
        api.get_prompt("ref-text-prompt").await.unwrap().version(),
        1
    );
    v.gate.send(()).unwrap();
    api.wait_for_prompt_refreshes().await;

    assert_eq!(
        api.get_prompt("ref-text-prompt").await.unwrap().version(),
        2
    );
    let reqs = v.server.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
}

#[tokio::test]
async fn a_304_renews_the_cached_prompt_without_a_body() {
    let v = versioned(true);
    let clock = ManualClock::new();
    let api = ApiClient::new(v.server.config().clock(clock.clock()).build().unwrap());
    let first = api.get_prompt("ref-text-prompt").await.unwrap();
    clock.advance(Duration::from_secs(61));
    v.gate.send(()).unwrap();
    api.get_prompt("ref-text-prompt").await.unwrap();
    api.wait_for_prompt_refreshes().await;
    // Renewed: fresh for another TTL, so no request now.
    assert_eq!(api.get_prompt("ref-text-prompt").await.unwrap(), first);
    assert_eq!(v.server.requests().len(), 2);
}

#[tokio::test]
async fn ttl_zero_asks_the_server_every_time_and_revalidates_with_the_etag() {
    let v = versioned(true);
    let api = ApiClient::new(
        v.server
            .config()
            .prompt_cache_ttl(Duration::ZERO)
            .build()
            .unwrap(),
    );
    let first = api.get_prompt("ref-text-prompt").await.unwrap();
    v.gate.send(()).unwrap();
    let second = api.get_prompt("ref-text-prompt").await.unwrap();
    assert_eq!(first, second);
    let reqs = v.server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
    // Per-call override on a cached client: TTL zero fetches again.
    let api = v.server.client();
    v.gate.send(()).unwrap();
    v.gate.send(()).unwrap();
    assert_eq!(
        api.get_prompt("ref-text-prompt").await.unwrap().version(),
        2
    );
    let p = api
        .get_prompt("ref-text-prompt")
        .cache_ttl(Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(p.version(), 2);
    let reqs = v.server.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[3].header("if-none-match"), Some("\"v2\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_cold_gets_makes_one_request() {
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (arr_tx, arr_rx) = mpsc::channel::<()>();
    let gate = Mutex::new(gate_rx);
    let arrived = Mutex::new(arr_tx);
    let server = Server::start(move |r| {
        if r.path.ends_with("/other") {
            return recorded("prompts-30-get-nested-encoded.json");
        }
        let _ = arrived.lock().unwrap().send(());
        let _ = gate.lock().unwrap().recv_timeout(WAIT);
        recorded("prompts-10-get-default.json")
    });
    let api = server.client();
    api.get_prompt("other").await.unwrap();

    let mut leader = Box::pin(api.get_prompt("ref-text-prompt").send());
    assert!(poll_once(leader.as_mut()).is_pending());
    arr_rx.recv_timeout(WAIT).unwrap(); // the leader's request is at the server
    let mut followers: Vec<_> = (0..20)
        .map(|_| Box::pin(api.get_prompt("ref-text-prompt").send()))
        .collect();
    for f in &mut followers {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    // The client's thread runs calls in order: once this cached get is answered, every
    // follower has joined the leader's fetch.
    api.get_prompt("other").await.unwrap();
    gate_tx.send(()).unwrap();
    assert_eq!(leader.await.unwrap().version(), 1);
    for f in followers {
        assert_eq!(f.await.unwrap().version(), 1);
    }
    assert_eq!(server.count(TEXT), 1);
}

#[tokio::test]
async fn a_404_on_refresh_evicts_the_cached_prompt() {
    let n = std::sync::atomic::AtomicUsize::new(0);
    let server = Server::start(move |_| {
        if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            recorded("prompts-10-get-default.json")
        } else {
            recorded("prompts-16-get-missing-name.json")
        }
    });
    let clock = ManualClock::new();
    let api = ApiClient::new(server.config().clock(clock.clock()).build().unwrap());
    api.get_prompt("ref-text-prompt").await.unwrap();
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        api.get_prompt("ref-text-prompt").await.unwrap().version(),
        1
    );
    api.wait_for_prompt_refreshes().await;
    let e = api.get_prompt("ref-text-prompt").await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(server.requests().len(), 3);
}
