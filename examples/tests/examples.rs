//! Every example runs against a real LiteLLM proxy (scripts/litellm.sh), and the trace tree it
//! prints (the console exporter) is checked: each generation with its model, tokens and cost,
//! under the span that made it. `proxy_logs` runs against a proxy whose own Langfuse callback
//! exports to a capture server, so that what it prints is checked against what was recorded.

use std::process::Command;
use std::time::Duration;

use langfuse_sdk::testing::ExportedSpan;
use langfuse_tests::litellm::{LiteLlm, ProxyLangfuse};
use langfuse_tests::CaptureServer;

/// One node of a printed trace tree.
#[derive(Debug)]
struct Node {
    depth: usize,
    kind: String,
    name: String,
    /// The rest of the line: duration, model, tokens, cost, level.
    rest: String,
    parent: Option<usize>,
}

/// The printed output of an example: its own lines, the trace header and the tree.
struct Printed {
    stdout: String,
    trace_id: String,
    nodes: Vec<Node>,
}

impl Printed {
    fn parse(stdout: String) -> Printed {
        // The header is the `trace <id> <name> …` line the tree's first node follows.
        let all: Vec<&str> = stdout.lines().collect();
        let at = (0..all.len().saturating_sub(1))
            .find(|&i| all[i].starts_with("trace ") && all[i + 1].starts_with("└─ "))
            .unwrap_or_else(|| panic!("no trace tree in:\n{stdout}"));
        let header = all[at];
        let lines = all[at + 1..].iter();
        let trace_id = header.split(' ').nth(1).unwrap_or_default().to_string();
        let mut nodes: Vec<Node> = Vec::new();
        for line in lines {
            let Some(at) = line.find("├─ ").or_else(|| line.find("└─ ")) else {
                break; // the tree ends (scores, the example's own lines)
            };
            let depth = line[..at].chars().count() / 3;
            let mut words = line[at..].splitn(4, ' ').skip(1);
            let kind = words.next().unwrap_or_default().to_string();
            let name = words.next().unwrap_or_default().to_string();
            let rest = words.next().unwrap_or_default().to_string();
            let parent = nodes.iter().rposition(|n| n.depth + 1 == depth);
            nodes.push(Node {
                depth,
                kind,
                name,
                rest,
                parent,
            });
        }
        Printed {
            stdout,
            trace_id,
            nodes,
        }
    }

    /// The example printed this line (its own output and the exporter's tree come from two
    /// threads, in either order).
    fn has_line(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l == line)
    }

    fn node(&self, kind: &str, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.kind == kind && n.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in:\n{}", self.stdout))
    }

    /// Asserts a generation (or embedding) `name` under `parent_kind parent` with these parts
    /// (`model=…`, `tokens=…`, `cost=…`) and no error.
    fn assert_generation(&self, kind: &str, name: &str, parent: (&str, &str), parts: &[&str]) {
        let g = self.node(kind, name);
        let p = &self.nodes[g.parent.unwrap_or_else(|| panic!("{name} has no parent"))];
        assert_eq!(
            (p.kind.as_str(), p.name.as_str()),
            parent,
            "{}",
            self.stdout
        );
        for part in parts {
            assert!(
                g.rest.split(' ').any(|w| w == *part),
                "{kind} {name}: {part} not in {:?}",
                g.rest
            );
        }
        assert!(!g.rest.contains("ERROR"), "{}", self.stdout);
    }
}

/// Runs an example binary with the proxy's URL and key and the console exporter.
fn run(bin: &str, exe: &str, base_url: &str, extra: &[(&str, &str)]) -> Printed {
    let mut cmd = Command::new(exe);
    for k in [
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
        "LANGFUSE_BASE_URL",
        "LANGFUSE_HOST",
        "LANGFUSE_EXPORTER",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("OPENAI_BASE_URL", base_url)
        .env("OPENAI_API_KEY", "sk-test-master-1234")
        .env("LANGFUSE_EXPORTER", "console");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run {bin}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{bin} failed:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("error"), "{bin}:\n{stderr}");
    Printed::parse(stdout)
}

fn proxy() -> &'static str {
    &LiteLlm::shared().base_url
}

#[test]
fn hello() {
    let p = run("hello", env!("CARGO_BIN_EXE_hello"), proxy(), &[]);
    assert!(p.has_line("Hi! How can I help you today?"), "{}", p.stdout);
    p.assert_generation(
        "generation",
        "chat-completion",
        ("span", "hello"),
        &[
            "model=meta-llama/Llama-3.2-1B-Instruct",
            "tokens=10/20/30",
            "cost=$0.000005",
        ],
    );
}

#[test]
fn streaming() {
    let p = run("streaming", env!("CARGO_BIN_EXE_streaming"), proxy(), &[]);
    assert!(p.has_line("Hello from the fake upstream."), "{}", p.stdout);
    p.assert_generation(
        "generation",
        "chat-completion",
        ("span", "stream_answer"),
        &["model=fake-upstream", "tokens=9/6/15", "cost=$0.000021"],
    );
}

#[test]
fn embeddings() {
    let p = run("embeddings", env!("CARGO_BIN_EXE_embeddings"), proxy(), &[]);
    assert!(p.has_line("embedded 1 document(s)"), "{}", p.stdout);
    p.assert_generation(
        "embedding",
        "embedding",
        ("retriever", "index"),
        &["model=mock-embed", "tokens=10/0/0"],
    );
}

#[test]
fn nested() {
    let p = run("nested", env!("CARGO_BIN_EXE_nested"), proxy(), &[]);
    p.assert_generation(
        "generation",
        "llm-call",
        ("span", "answer-question"),
        &["model=gpt-4o-mini", "tokens=24/3/27"],
    );
    assert_eq!(p.node("tool", "lookup-population").depth, 1);
}

#[test]
fn agent() {
    let p = run("agent", env!("CARGO_BIN_EXE_agent"), proxy(), &[]);
    assert!(
        p.has_line("answer: Hello from the fake upstream."),
        "{}",
        p.stdout
    );
    for name in ["plan", "answer"] {
        p.assert_generation(
            "generation",
            name,
            ("agent", "agent"),
            &["model=fake-upstream", "tokens=9/6/15", "cost=$0.000021"],
        );
    }
    p.node("tool", "get_weather");
    assert!(p.stdout.contains("score helpfulness = 0.8"));
}

#[test]
fn agent_records_its_question_as_input_not_the_client() {
    // The same run exported over OTLP to a capture server, to read the recorded input.
    let capture = CaptureServer::start();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent"));
    cmd.env("OPENAI_BASE_URL", proxy())
        .env("OPENAI_API_KEY", "sk-test-master-1234")
        .env("LANGFUSE_EXPORTER", "otlp")
        .env("LANGFUSE_BASE_URL", capture.url())
        .env_remove("LANGFUSE_HOST")
        .env("LANGFUSE_PUBLIC_KEY", "pk-lf-example")
        .env("LANGFUSE_SECRET_KEY", "sk-lf-example");
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let spans = capture.spans();
    let agent = spans
        .iter()
        .find(|s| s.name() == "agent")
        .unwrap_or_else(|| panic!("no agent span in {spans:?}"));
    assert_eq!(
        agent.attr_json("langfuse.observation.input"),
        Some(serde_json::json!({"question": "What's the weather in the capital of France?"}))
    );
}

#[test]
fn proxy_logs_with_a_proxy_that_records() {
    let capture = CaptureServer::start();
    let proxy = LiteLlm::start(Some(ProxyLangfuse {
        host: capture.url(),
        public_key: "pk-lf-proxy".into(),
        secret_key: "sk-lf-proxy".into(),
    }));
    let p = run(
        "proxy_logs",
        env!("CARGO_BIN_EXE_proxy_logs"),
        &proxy.base_url,
        &[],
    );
    assert!(p.has_line("Hello from the LiteLLM mock."), "{}", p.stdout);
    // This side recorded the calling span only.
    assert_eq!(p.nodes.len(), 1, "{}", p.stdout);
    p.node("span", "handle_request");
    // The proxy's callback recorded the generation in the printed trace, under a parent.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let gens: Vec<ExportedSpan> = loop {
        let g: Vec<ExportedSpan> = capture
            .spans()
            .into_iter()
            .filter(|s| s.observation_type() == Some("generation"))
            .collect();
        if !g.is_empty() || std::time::Instant::now() > deadline {
            break g;
        }
        capture.wait_seen(capture.requests().len() + 1, Duration::from_secs(5));
    };
    assert_eq!(gens.len(), 1, "{gens:?}");
    assert_eq!(gens[0].name(), "proxy-generation");
    assert_eq!(gens[0].trace_id(), p.trace_id);
    assert!(gens[0].parent_id().is_some());
}
