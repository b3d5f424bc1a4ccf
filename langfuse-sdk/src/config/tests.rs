use std::time::Duration;

use crate::config::options::DEFAULT_BASE_URL;
use crate::config::ExporterKind;
use crate::LangfuseBuilder;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> (LangfuseBuilder, Vec<String>) {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LangfuseBuilder::from_lookup(move |k| m.get(k).cloned())
}

#[test]
fn reads_every_variable() {
    let (b, w) = env(&[
        ("LANGFUSE_PUBLIC_KEY", "pk-1"),
        ("LANGFUSE_SECRET_KEY", "sk-1"),
        ("LANGFUSE_HOST", "http://localhost:3000/"),
        ("LANGFUSE_TRACING_ENVIRONMENT", "staging"),
        ("GITHUB_SHA", "abc123"),
        ("LANGFUSE_SAMPLE_RATE", "0.25"),
        ("LANGFUSE_FLUSH_AT", "10"),
        ("LANGFUSE_FLUSH_INTERVAL", "0.5"),
        ("LANGFUSE_TIMEOUT", "2"),
        ("LANGFUSE_DEBUG", "true"),
        ("LANGFUSE_TRACING_ENABLED", "false"),
        ("LANGFUSE_MAX_QUEUE_SIZE", "77"),
        ("LANGFUSE_MAX_QUEUE_BYTES", "1048576"),
        ("LANGFUSE_MAX_RETRIES", "0"),
        ("LANGFUSE_EXPORTER", "console"),
        ("LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED", "false"),
    ]);
    assert!(w.is_empty(), "{w:?}");
    let c = &b.cfg;
    assert_eq!(c.public_key.as_deref(), Some("pk-1"));
    assert_eq!(c.secret_key.as_ref().unwrap().0, "sk-1");
    assert_eq!(c.base_url, "http://localhost:3000");
    assert_eq!(c.environment.as_deref(), Some("staging"));
    assert_eq!(c.release.as_deref(), Some("abc123"));
    assert_eq!(c.sample_rate, 0.25);
    assert_eq!(c.flush_at, 10);
    assert_eq!(c.flush_interval, Duration::from_millis(500));
    assert_eq!(c.timeout, Duration::from_secs(2));
    assert!(c.debug && !c.enabled && !c.io_capture);
    assert_eq!(c.max_queue_size, 77);
    assert_eq!(c.max_queue_bytes, 1 << 20);
    assert_eq!(c.max_retries, 0);
    assert_eq!(c.exporter.name(), "console");
}

#[test]
fn base_url_wins_over_host_and_release_over_ci() {
    let (b, _) = env(&[
        ("LANGFUSE_BASE_URL", "https://eu.example.com"),
        ("LANGFUSE_HOST", "http://other:3000"),
        ("LANGFUSE_RELEASE", "r1"),
        ("CI_COMMIT_SHA", "zzz"),
    ]);
    assert_eq!(b.cfg.base_url, "https://eu.example.com");
    assert_eq!(b.cfg.release.as_deref(), Some("r1"));
}

#[test]
fn platform_spelling_is_a_fallback() {
    let (b, w) = env(&[
        ("Langfuse_PUBLIC_KEY", "pk-2"),
        ("Langfuse_SECRET_KEY", "sk-2"),
        (
            "Langfuse_HOST",
            "http://langfuse-web.langfuse.svc.cluster.local:3000",
        ),
        ("Langfuse_TRACING_ENVIRONMENT", "dev"),
    ]);
    assert!(w.is_empty());
    assert_eq!(b.cfg.public_key.as_deref(), Some("pk-2"));
    assert_eq!(
        b.cfg.base_url,
        "http://langfuse-web.langfuse.svc.cluster.local:3000"
    );
    assert_eq!(b.cfg.environment.as_deref(), Some("dev"));
    // The documented spelling wins when both are set.
    let (b, _) = env(&[("LANGFUSE_PUBLIC_KEY", "a"), ("Langfuse_PUBLIC_KEY", "b")]);
    assert_eq!(b.cfg.public_key.as_deref(), Some("a"));
}

#[test]
fn invalid_env_values_warn_and_fall_back() {
    let (b, w) = env(&[
        ("LANGFUSE_SAMPLE_RATE", "1.5"),
        ("LANGFUSE_TRACING_ENVIRONMENT", "Prod!"),
        ("LANGFUSE_FLUSH_AT", "-3"),
        ("LANGFUSE_TIMEOUT", "soon"),
        ("LANGFUSE_DEBUG", "maybe"),
        ("LANGFUSE_EXPORTER", "kafka"),
        // Found by fuzzing: 0.5 used to truncate to a queue of 0, and 1e-124 seconds to a
        // zero timeout, both of which build() refuses.
        ("LANGFUSE_MAX_QUEUE_SIZE", ".5"),
        ("LANGFUSE_FLUSH_INTERVAL", "1e-124"),
    ]);
    assert_eq!(w.len(), 8, "{w:#?}");
    for (var, used) in [
        ("LANGFUSE_SAMPLE_RATE", "using 1.0"),
        ("LANGFUSE_TRACING_ENVIRONMENT", "using none"),
        ("LANGFUSE_FLUSH_AT", "using 2048"),
        ("LANGFUSE_MAX_QUEUE_SIZE", "using 1000000"),
        ("LANGFUSE_FLUSH_INTERVAL", "using 5"),
        ("LANGFUSE_TIMEOUT", "using 5"),
        ("LANGFUSE_DEBUG", "using false"),
        ("LANGFUSE_EXPORTER", "using otlp"),
    ] {
        assert!(
            w.iter().any(|m| m.contains(var) && m.contains(used)),
            "no warning for {var} saying {used:?}: {w:#?}"
        );
    }
    assert_eq!(b.cfg.sample_rate, 1.0);
    assert_eq!(b.cfg.environment, None);
    assert_eq!(b.cfg.base_url, DEFAULT_BASE_URL);
}

/// A base URL or key that cannot work is not replaced by a default: the public cloud would get
/// this application's traces, with its keys. build() fails naming the variable, so a client from
/// the environment is disabled with one warning.
#[test]
fn unusable_url_or_key_from_the_environment_fails_the_build() {
    let keys = [
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-1"),
        ("LANGFUSE_SECRET_KEY", "sk-lf-secret-1"),
    ];
    for (var, value, setting) in [
        ("LANGFUSE_HOST", "langfuse.internal:3000", "LANGFUSE_HOST"),
        (
            "LANGFUSE_BASE_URL",
            "langfuse.internal",
            "LANGFUSE_BASE_URL",
        ),
        (
            "LANGFUSE_BASE_URL",
            "https://lf.example.com/?x=1",
            "LANGFUSE_BASE_URL",
        ),
        (
            "LANGFUSE_BASE_URL",
            "https://lf.example.com/#top",
            "LANGFUSE_BASE_URL",
        ),
        (
            "Langfuse_BASE_URL",
            "ftp://lf.example.com",
            "LANGFUSE_BASE_URL",
        ),
    ] {
        let mut pairs = keys.to_vec();
        pairs.push((var, value));
        let (b, w) = env(&pairs);
        assert!(w.is_empty(), "{var}: {w:?}");
        assert_ne!(b.cfg.base_url, "unused");
        let e = b.build().unwrap_err();
        assert!(e.is_config(), "{var}={value}");
        assert_eq!(e.setting(), Some(setting), "{var}={value}");
        assert!(e.to_string().contains(var), "{e}");
    }
    // A key with whitespace inside (trailing whitespace from a file is trimmed).
    for (var, value) in [
        ("LANGFUSE_SECRET_KEY", "sk-lf-one two"),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-1\nx"),
    ] {
        let mut pairs = keys.to_vec();
        pairs.retain(|(k, _)| *k != var);
        pairs.push((var, value));
        let e = env(&pairs).0.build().unwrap_err();
        assert_eq!(e.setting(), Some(var));
        assert!(
            !e.to_string().contains("one two"),
            "the value is never shown: {e}"
        );
    }
    let (b, _) = env(&[
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-1"),
        ("LANGFUSE_SECRET_KEY", "sk-lf-1 \n"),
    ]);
    assert_eq!(
        b.cfg.secret_key.as_ref().map(|s| s.0.as_str()),
        Some("sk-lf-1")
    );
    // The builder's own value replaces the environment's.
    let (b, _) = env(&[("LANGFUSE_BASE_URL", "nope")]);
    let lf = b
        .base_url("http://127.0.0.1:9")
        .exporter(ExporterKind::Disabled)
        .build();
    assert!(lf.is_ok());
}

#[test]
fn builder_rejects_invalid_values_with_clear_errors() {
    let base = || {
        crate::Langfuse::builder()
            .public_key("pk")
            .secret_key("sk-very-secret")
            .exporter(ExporterKind::Disabled)
    };
    let e = base().sample_rate(1.5).build().unwrap_err();
    assert!(e.is_config() && e.setting() == Some("LANGFUSE_SAMPLE_RATE"));
    let e = base().environment("Prod!").build().unwrap_err();
    assert!(e.to_string().contains("lowercase"), "{e}");
    let e = base().environment("langfuse-x").build().unwrap_err();
    assert!(e.to_string().contains("reserved"));
    let e = base().base_url("not a url").build().unwrap_err();
    assert_eq!(e.setting(), Some("LANGFUSE_BASE_URL"));
    for url in [
        "https://h.example.com?a=b",
        "https://h.example.com/#f",
        "h.example.com:3000",
    ] {
        let e = base().base_url(url).build().unwrap_err();
        assert_eq!(e.setting(), Some("LANGFUSE_BASE_URL"), "{url}");
    }
    for key in ["pk-lf-1\n", "pk lf", "", "pk\tx"] {
        let e = base().public_key(key).build().unwrap_err();
        assert_eq!(e.setting(), Some("LANGFUSE_PUBLIC_KEY"), "{key:?}");
        let e = base().secret_key(key).build().unwrap_err();
        assert_eq!(e.setting(), Some("LANGFUSE_SECRET_KEY"), "{key:?}");
        assert!(!format!("{e} {e:?}").contains("pk"), "{e}");
    }
    let e = base().base_url("ftp://x").build().unwrap_err();
    assert!(e.to_string().contains("http://"));
    assert!(base().flush_at(0).build().unwrap_err().is_config());
    assert!(!format!("{:?}", base()).contains("sk-very-secret"));
}

/// The application's `reqwest::Client` sends the requests (its user agent arrives), and with an
/// endpoint and no keys there is no Authorization header.
#[test]
fn given_http_client_sends_the_requests() {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || -> Vec<String> {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = Vec::new();
        let mut len = 0usize;
        for _ in 0..200 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            let l = line.trim_end().to_ascii_lowercase();
            if let Some(v) = l.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            head.push(l);
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut stream = reader.into_inner();
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        stream.write_all(answer.as_bytes()).unwrap();
        head
    });
    let client = reqwest::Client::builder()
        .user_agent("app-own-client")
        .build()
        .unwrap();
    let lf = LangfuseBuilder::new()
        .otlp_endpoint(format!("http://{addr}/v1/traces"))
        .http_client(client)
        .build()
        .unwrap();
    assert!(lf.is_enabled());
    lf.span("s").start().end();
    lf.shutdown(Duration::from_secs(10)).unwrap();
    let head = server.join().unwrap();
    assert_eq!(head[0], "post /v1/traces http/1.1", "{head:?}");
    assert!(
        head.contains(&"user-agent: app-own-client".to_string()),
        "{head:?}"
    );
    assert!(
        !head.iter().any(|h| h.starts_with("authorization")),
        "{head:?}"
    );
    assert_eq!(lf.stats().exported, 1);
}

#[test]
fn transport_variable() {
    use crate::config::Transport;
    for (v, t) in [
        ("auto", Transport::Auto),
        ("OTLP", Transport::Otlp),
        ("ingestion", Transport::Ingestion),
    ] {
        let (b, w) = env(&[("LANGFUSE_TRANSPORT", v)]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(b.cfg.transport, t);
    }
    let (b, w) = env(&[("LANGFUSE_TRANSPORT", "grpc")]);
    assert_eq!(b.cfg.transport, Transport::Auto);
    assert!(w[0].contains("LANGFUSE_TRANSPORT"), "{w:?}");
    let b = LangfuseBuilder::new().transport(Transport::Ingestion);
    assert_eq!(b.cfg.transport, Transport::Ingestion);
}
