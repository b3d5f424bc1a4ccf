//! What every observation of a client shares: the validated configuration, the sampling
//! decision and the exporter; the owner that shuts the exporter down; and the process-wide
//! state `#[observe]` reads first (whether any client records, and the global client's core).

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::config::options::Config;
use crate::config::ExporterKind;
use crate::diag;
use crate::export::queue::Exporter;
use crate::export::record::Head;
use crate::export::sink::Custom;
use crate::fields::ObsData;
use crate::ids::TraceId;
use crate::score::Score;

/// What the user's handles share: when the last one drops, the client shuts down and delivers
/// what is queued.
pub(crate) struct Owner {
    pub(crate) core: Arc<Core>,
}

/// What observations share. Queued observations hold it too, so the exporter thread may drop
/// the last reference; that must never wait for the exporter (only [`Owner`] does).
pub(crate) struct Core {
    pub(crate) cfg: Config,
    /// Enabled and exporting.
    recording: bool,
    /// Traces whose low 64 id bits are below this are kept; `None` keeps all.
    sample_bound: Option<u64>,
    pub(crate) exporter: Option<Exporter>,
    /// The exporter's name, for `Debug`.
    pub(crate) exporter_name: &'static str,
    /// The public API client built for this client (`Langfuse::api`), shared by every call so
    /// that they share one prompt cache. Typed by the `api` module, which sits above this one.
    pub(crate) api: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let core = &self.core;
        if core.recording {
            RECORDING.fetch_sub(ONE_CLIENT, Ordering::Relaxed);
        }
        // Deliver what is queued, unless someone already shut down (and chose the timeout,
        // and got the outcome). Nobody is left to get this one: it is said, as the `init`
        // guard says its own.
        if let Some(e) = core.exporter.as_ref().filter(|e| !e.shutdown_requested()) {
            if let Err(err) = e.shutdown(core.cfg.timeout) {
                // An inherited client in a forked child has said so already, once.
                if !err.is_shutdown() && !err.is_forked() {
                    diag::warn(&format!("the last Langfuse client was dropped: {err}"));
                }
            }
        }
    }
}

impl Owner {
    /// A client's owner that records nothing (shared, allocation-free to get).
    pub(crate) fn disabled() -> Arc<Owner> {
        static DISABLED: OnceLock<Arc<Owner>> = OnceLock::new();
        DISABLED
            .get_or_init(|| {
                let cfg = Config {
                    enabled: false,
                    ..Config::default()
                };
                Owner::wrap(Core {
                    cfg,
                    recording: false,
                    sample_bound: None,
                    exporter: None,
                    exporter_name: "none",
                    api: OnceLock::new(),
                })
            })
            .clone()
    }

    /// Starts a client: decides whether it records, and starts its exporter thread if so.
    pub(crate) fn start(cfg: Config, custom: Option<Custom>) -> Arc<Owner> {
        if cfg.debug {
            diag::DEBUG.store(true, Ordering::Relaxed);
        }
        let mut recording = cfg.enabled;
        if custom.is_none() && cfg.exporter == ExporterKind::Disabled {
            recording = false;
        }
        if recording
            && custom.is_none()
            && cfg.exporter == ExporterKind::Otlp
            && cfg.needs_keys()
            && (cfg.public_key.is_none() || cfg.secret_key.is_none())
        {
            let missing: Vec<&str> = [
                ("LANGFUSE_PUBLIC_KEY", cfg.public_key.is_none()),
                ("LANGFUSE_SECRET_KEY", cfg.secret_key.is_none()),
            ]
            .into_iter()
            .filter_map(|(k, m)| m.then_some(k))
            .collect();
            diag::warn(&format!(
                "Langfuse tracing is disabled: {} not set (also read as Langfuse_PUBLIC_KEY / \
                 Langfuse_SECRET_KEY; or set LANGFUSE_EXPORTER=console to print traces locally)",
                missing.join(" and ")
            ));
            recording = false;
        }
        let sample_bound = if cfg.sample_rate >= 1.0 {
            None
        } else {
            // OpenTelemetry's TraceIdRatioBased: keep when low 64 bits < rate × 2^64.
            Some((cfg.sample_rate * 18_446_744_073_709_551_616.0) as u64)
        };
        let exporter_name = match &custom {
            Some(c) => c.name(),
            None => cfg.exporter.name(),
        };
        let exporter = recording.then(|| Exporter::start(cfg.clone(), custom));
        if recording {
            RECORDING.fetch_add(ONE_CLIENT, Ordering::Relaxed);
            if sample_bound.is_some() {
                RECORDING.fetch_or(SAMPLING, Ordering::Relaxed);
            }
        }
        diag::debug(|| format!("Langfuse client started: {cfg:?}"));
        Owner::wrap(Core {
            cfg,
            recording,
            sample_bound,
            exporter,
            exporter_name,
            api: OnceLock::new(),
        })
    }

    fn wrap(core: Core) -> Arc<Owner> {
        Arc::new(Owner {
            core: Arc::new(core),
        })
    }
}

impl Core {
    /// True when this client records and exports observations.
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.recording
    }

    pub(crate) fn io_capture_enabled(&self) -> bool {
        self.recording && self.cfg.io_capture
    }

    /// The id of a new trace when this client does not sample it (the id is drawn). `None`
    /// when it is sampled (the id is left for the observation's placement to draw: the same
    /// one), when this client keeps every trace, or when it records nothing.
    #[inline]
    pub(crate) fn draw_unsampled_root(&self) -> Option<TraceId> {
        let b = self.sample_bound.filter(|_| self.recording)?;
        let t = TraceId::random_if(|t| t.low_u64() >= b);
        (t.low_u64() >= b).then_some(t)
    }

    #[inline]
    pub(crate) fn is_sampled(&self, trace_id: TraceId) -> bool {
        match self.sample_bound {
            None => true,
            Some(b) => trace_id.low_u64() < b,
        }
    }

    /// Capture limit of one field: a little under the observation limit, so a single huge
    /// field is cut once, at capture, and the size guard leaves it alone.
    pub(crate) fn field_limit(&self) -> usize {
        self.cfg.max_observation_bytes / 10 * 9
    }

    pub(crate) fn trace_url(&self, trace_id: TraceId) -> String {
        format!("{}/trace/{trace_id}", self.cfg.base_url)
    }

    pub(crate) fn score(&self, score: Score) {
        if let Some(e) = &self.exporter {
            e.send_score(score);
        }
    }

    /// Registers an observation started through a handle, so that shutdown ends it if it is
    /// still open (see `crate::export::open`).
    /// Its slot, for [`deregister_open`](Self::deregister_open); `None` when nothing records
    /// or the client is shutting down.
    pub(crate) fn register_open(
        &self,
        obs: std::sync::Weak<dyn crate::export::open::Open>,
    ) -> Option<u32> {
        self.exporter.as_ref()?.register_open(obs)
    }

    /// Registers a sync root in this thread's list, so that shutdown ends it if it is still
    /// open (see `crate::export::open`); false when nothing records or shutdown started.
    #[inline]
    pub(crate) fn register_thread_root(
        &self,
        obs: std::sync::Arc<dyn crate::export::open::Open>,
    ) -> bool {
        self.exporter
            .as_ref()
            .is_some_and(|e| e.register_thread_root(obs))
    }

    /// Forgets a registered observation (it ended, or its last handle is going away).
    pub(crate) fn deregister_open(&self, slot: u32) {
        if let Some(e) = &self.exporter {
            e.deregister_open(slot);
        }
    }

    /// Records an ended observation for the exporter.
    #[inline]
    pub(crate) fn record(&self, head: Head<'_>, data: &mut ObsData) {
        if let Some(e) = &self.exporter {
            e.record(head, data);
        }
    }
}

// ---- process-wide state ----------------------------------------------------------------------

/// Twice the number of recording clients, plus [`SAMPLING`]: one word, so that `#[observe]`
/// learns both from one load. When no client records, observed functions skip everything.
static RECORDING: AtomicUsize = AtomicUsize::new(0);
/// Set (for good) once a recording client samples (a rate below 1): only then does a sync
/// observed call that starts a trace decide its sampling first.
pub(crate) const SAMPLING: usize = 1;
/// One recording client in [`RECORDING`].
pub(crate) const ONE_CLIENT: usize = 2;
/// Set in [`RECORDING`] when a recording global client was uninstalled (its `init` guard
/// dropped): observed calls then take the slow path once, whose first observation warns that
/// nothing records ([`no_client`]) and clears it. The disabled fast path pays nothing for this.
const GUARD_DROPPED: usize = 1 << (usize::BITS - 1);

/// [`RECORDING`]'s value.
#[inline(always)]
pub(crate) fn recording_state() -> usize {
    RECORDING.load(Ordering::Relaxed)
}

/// True when any client records: the one-load fast path of `#[observe]` when tracing is off.
#[inline]
pub(crate) fn any_recording() -> bool {
    recording_state() >= ONE_CLIENT
}

/// The global client (see `crate::global`), as its owner.
static GLOBAL: RwLock<Option<Arc<Owner>>> = RwLock::new(None);
/// True while a global client is installed and records.
static GLOBAL_ON: AtomicBool = AtomicBool::new(false);
/// Bumped whenever the global client changes, so threads can keep a cached copy of its core
/// (reading `GLOBAL` itself is an atomic read-modify-write on a line all threads share).
static GLOBAL_GEN: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's copy of the global client's core, valid while the generation matches.
    static GLOBAL_CACHE: RefCell<(u64, Option<Arc<Core>>)> = const { RefCell::new((u64::MAX, None)) };
}

/// Makes `owner` the global client.
pub(crate) fn install_global(owner: &Arc<Owner>) {
    let on = owner.core.recording;
    if let Ok(mut g) = GLOBAL.write() {
        *g = Some(owner.clone());
    }
    GLOBAL_ON.store(on, Ordering::Release);
    GLOBAL_GEN.fetch_add(1, Ordering::AcqRel);
}

/// Removes the global client if it is `owner`.
pub(crate) fn uninstall_global(owner: &Arc<Owner>) {
    let is_global = GLOBAL
        .read()
        .ok()
        .and_then(|g| g.as_ref().map(|c| Arc::ptr_eq(c, owner)))
        .unwrap_or(false);
    if is_global {
        GLOBAL_ON.store(false, Ordering::Release);
        if let Ok(mut g) = GLOBAL.write() {
            *g = None;
        }
        GLOBAL_GEN.fetch_add(1, Ordering::AcqRel);
        if owner.core.recording {
            RECORDING.fetch_or(GUARD_DROPPED, Ordering::Relaxed);
        }
    }
}

/// An observation found no client to record it (no current observation, no global client).
/// Says why once, when it is likely a mistake: the `init` guard was dropped while observations
/// go on, or a client records but was never installed as the global one.
#[cold]
#[inline(never)]
pub(crate) fn no_client() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let state = RECORDING.fetch_and(!GUARD_DROPPED, Ordering::Relaxed);
    let msg = if state & GUARD_DROPPED != 0 {
        "an observation was started after the Langfuse client's init() guard was dropped, so \
         it is not recorded: keep the guard for the whole program (`let _langfuse = \
         langfuse_sdk::init();` in main; `let _ = init()` drops it at once)"
    } else if state >= ONE_CLIENT {
        "an observation (#[observe] or langfuse_sdk::observation) found no global client, so it \
         is not recorded: a client was built but not installed; call \
         langfuse_sdk::init_with(client) and keep its guard"
    } else {
        return;
    };
    if !WARNED.swap(true, Ordering::Relaxed) {
        diag::warn(msg);
    }
}

/// `langfuse_sdk::client()` found no global client: warns once when Langfuse keys are set in the
/// environment, since the program then likely meant to call `init()`.
#[cold]
#[inline(never)]
pub(crate) fn no_global_client() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let keys_set = ["LANGFUSE_PUBLIC_KEY", "Langfuse_PUBLIC_KEY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    if keys_set && !WARNED.swap(true, Ordering::Relaxed) {
        diag::warn(
            "langfuse_sdk::client() was called, but no global client is installed although \
             LANGFUSE_PUBLIC_KEY is set: nothing is recorded; call langfuse_sdk::init() at the \
             start of main and keep its guard",
        );
    }
}

/// The global client's owner, if one is installed and records.
pub(crate) fn global_owner() -> Option<Arc<Owner>> {
    if !GLOBAL_ON.load(Ordering::Acquire) {
        return None;
    }
    GLOBAL.read().ok().and_then(|g| g.clone())
}

/// Runs `f` with the global client's core, if a recording global client is set.
#[inline]
pub(crate) fn with_global_core<R>(f: impl FnOnce(&Arc<Core>) -> R) -> Option<R> {
    let generation = GLOBAL_GEN.load(Ordering::Acquire);
    GLOBAL_CACHE
        .try_with(|c| {
            if c.try_borrow().ok()?.0 != generation {
                let core = match GLOBAL.read() {
                    Ok(g) if GLOBAL_ON.load(Ordering::Acquire) => {
                        g.as_ref().map(|o| o.core.clone())
                    }
                    _ => None,
                };
                // The old core (if any) is dropped after the borrow ends.
                let old = std::mem::replace(&mut *c.try_borrow_mut().ok()?, (generation, core));
                drop(old);
            }
            let c = c.try_borrow().ok()?;
            c.1.as_ref().map(f)
        })
        .ok()
        .flatten()
}
