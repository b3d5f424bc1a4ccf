//! Shared helpers: a client with the in-memory exporter, installed as the global client for the
//! duration of a test, and a view of the exported tree.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use langfuse_sdk::testing::{ExportedSpan, InMemoryExporter};
use langfuse_sdk::{ClientGuard, Langfuse};

/// Tests in one binary share the global client: run them one at a time.
static LOCK: Mutex<()> = Mutex::new(());

pub struct Harness {
    pub exporter: InMemoryExporter,
    pub client: Langfuse,
    _guard: ClientGuard,
    _lock: MutexGuard<'static, ()>,
}

pub fn harness() -> Harness {
    harness_with(|b| b)
}

pub fn harness_with(
    f: impl FnOnce(langfuse_sdk::LangfuseBuilder) -> langfuse_sdk::LangfuseBuilder,
) -> Harness {
    let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = InMemoryExporter::new();
    let client = f(Langfuse::builder().in_memory_exporter(exporter.clone()))
        .build()
        .unwrap();
    let guard = langfuse_sdk::init_with(client.clone());
    Harness {
        exporter,
        client,
        _guard: guard,
        _lock: lock,
    }
}

impl Harness {
    pub fn spans(&self) -> Vec<ExportedSpan> {
        self.client.flush(Duration::from_secs(10)).unwrap();
        self.exporter.spans()
    }

    pub fn span(&self, name: &str) -> ExportedSpan {
        self.spans()
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no span named {name}"))
    }

    /// name -> parent name ("-" for a root).
    pub fn tree(&self) -> HashMap<String, String> {
        langfuse_sdk::testing::parent_names(&self.spans())
    }

    pub fn expect_tree(&self, pairs: &[(&str, &str)]) {
        let t = self.tree();
        let traces: std::collections::HashSet<String> =
            self.spans().iter().map(|s| s.trace_id()).collect();
        assert_eq!(traces.len(), 1, "one trace: {t:?}");
        assert_eq!(t.len(), pairs.len(), "{t:?}");
        for (child, parent) in pairs {
            assert_eq!(
                t.get(*child).map(String::as_str),
                Some(*parent),
                "parent of {child} in {t:?}"
            );
        }
    }
}
