//! The global client: [`init`] installs it and returns the guard that shuts it down;
//! [`client`], [`flush`] and [`shutdown`] reach it from anywhere.

use std::time::Duration;

use crate::client::Langfuse;
use crate::core::{global_owner, install_global, no_global_client, uninstall_global};
use crate::diag;
use crate::error::Error;

/// Configures the global client from the environment and returns a guard that flushes and shuts
/// it down when dropped. Keep the guard alive for the whole program (`let _lf = init();` in
/// `main`).
///
/// **Bind the guard to a name.** `let _ = init();` and a bare `init();` drop it at once: the
/// client shuts down right away and every later observation is a no-op. `_lf` (any name
/// starting with an underscore but `_` itself) keeps it until the end of the scope.
///
/// ```
/// let _guard = langfuse_sdk::init();
/// // … observations through langfuse_sdk::client() or #[observe] …
/// ```
pub fn init() -> ClientGuard {
    init_with(Langfuse::from_env())
}

/// Makes `client` the global client and returns a guard that shuts it down when dropped.
pub fn init_with(client: Langfuse) -> ClientGuard {
    install_global(&client.inner);
    ClientGuard {
        timeout: client.timeout(),
        client,
    }
}

/// The global client, or a disabled one when [`init`] was not called. Never panics.
pub fn client() -> Langfuse {
    match global_owner() {
        Some(inner) => Langfuse { inner },
        None => {
            no_global_client();
            Langfuse::disabled()
        }
    }
}

/// Flushes the global client: see [`Langfuse::flush`] for what the result means.
pub fn flush(timeout: Duration) -> Result<(), Error> {
    client().flush(timeout)
}

/// Shuts down the global client: see [`Langfuse::shutdown`] for what the result means.
pub fn shutdown(timeout: Duration) -> Result<(), Error> {
    client().shutdown(timeout)
}

/// Shuts the client down (delivering what is queued) when dropped, within the client's timeout.
#[must_use = "the client shuts down when the guard drops; bind it: let _lf = init();"]
#[derive(Debug)]
pub struct ClientGuard {
    client: Langfuse,
    timeout: Duration,
}

impl ClientGuard {
    /// The guarded client.
    pub fn client(&self) -> &Langfuse {
        &self.client
    }
    /// Sets how long the drop may wait for delivery.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        // An explicit shutdown already returned its outcome to the caller: not said twice.
        let already = self.client.is_shut_down();
        if let Err(e) = self.client.shutdown(self.timeout) {
            if !already && !e.is_shutdown() {
                diag::warn(&e.to_string());
            }
        }
        uninstall_global(&self.client.inner);
    }
}
