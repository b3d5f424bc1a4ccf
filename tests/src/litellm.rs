//! A real LiteLLM proxy for tests, started through the project's launcher (`scripts/litellm.sh`)
//! on free ports of 127.0.0.1 and stopped when the test process ends.
//!
//! The venv (pinned `litellm[proxy]`) is installed on first use into `LITELLM_VENV`, or
//! `~/.cache/langfuse-rs/litellm-venv`, and reused by later runs and clones (~2 min and ~750 MB
//! once; later starts take ~15 s).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use langfuse_sdk::testing::ExportedSpan;

use crate::CaptureServer;

/// A running proxy.
#[derive(Debug)]
pub struct LiteLlm {
    /// Base URL without `/v1`, as the platform documents it.
    pub base_url: String,
    /// The proxy's master key (a valid virtual key).
    pub key: String,
    dir: PathBuf,
    owned: bool,
}

/// Settings for the proxy's own Langfuse callback (`success_callback: ["langfuse"]`).
#[derive(Clone, Debug)]
pub struct ProxyLangfuse {
    /// Where the callback sends (a capture server's URL).
    pub host: String,
    /// Public key it uses.
    pub public_key: String,
    /// Secret key it uses.
    pub secret_key: String,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn venv() -> PathBuf {
    if let Ok(v) = std::env::var("LITELLM_VENV") {
        return PathBuf::from(v);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache/langfuse-rs/litellm-venv")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl LiteLlm {
    /// The proxy shared by the tests of this process (started on first use).
    pub fn shared() -> &'static LiteLlm {
        static SHARED: OnceLock<LiteLlm> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut l = LiteLlm::start(None);
            l.stop_with_process();
            l
        })
    }

    /// Starts a proxy of its own (stopped on drop), optionally logging to Langfuse itself.
    pub fn start(langfuse: Option<ProxyLangfuse>) -> LiteLlm {
        let port = free_port();
        let upstream = free_port();
        let dir =
            std::env::temp_dir().join(format!("langfuse-rs-litellm-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("litellm dir");
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts/litellm.sh"))
            .arg(&dir)
            .env("PORT", port.to_string())
            .env("UPSTREAM_PORT", upstream.to_string())
            .env("LITELLM_VENV", venv());
        if let Some(lf) = &langfuse {
            cmd.env("WITH_LANGFUSE", "1")
                .env("LANGFUSE_HOST", &lf.host)
                .env("LANGFUSE_BASE_URL", &lf.host)
                .env("LANGFUSE_PUBLIC_KEY", &lf.public_key)
                .env("LANGFUSE_SECRET_KEY", &lf.secret_key)
                .env("LANGFUSE_FLUSH_AT", "1")
                .env("LANGFUSE_FLUSH_INTERVAL", "0.2");
        }
        let out = cmd.output().expect("run scripts/litellm.sh");
        if !out.status.success() {
            panic!(
                "LiteLLM did not start (scripts/litellm.sh {}): {}\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        LiteLlm {
            base_url: format!("http://127.0.0.1:{port}"),
            key: "sk-test-master-1234".into(),
            dir,
            owned: true,
        }
    }

    /// Leaves stopping to a helper process that waits for this test process to exit.
    fn stop_with_process(&mut self) {
        self.owned = false;
        let script = repo_root().join("scripts/litellm.sh");
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "while kill -0 {pid} 2>/dev/null; do sleep 1; done; bash '{}' stop '{}' >/dev/null 2>&1",
                script.display(),
                self.dir.display(),
                pid = std::process::id()
            ))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }

    /// Stops the proxy now.
    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/litellm.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        if self.owned {
            self.stop();
        }
    }
}

/// The observations a proxy's own Langfuse callback sent to `capture`, once `n` of them have
/// arrived (a bounded wait on the capture server's condition, not a sleep; at most 90 s).
pub fn proxy_observations(capture: &CaptureServer, n: usize) -> Vec<ExportedSpan> {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let got: Vec<ExportedSpan> = capture
            .spans()
            .into_iter()
            .filter(|s| matches!(s.observation_type(), Some("generation") | Some("embedding")))
            .collect();
        if got.len() >= n || std::time::Instant::now() > deadline {
            return got;
        }
        capture.wait_seen(capture.requests().len() + 1, Duration::from_secs(5));
    }
}
