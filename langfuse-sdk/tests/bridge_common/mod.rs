//! Shared by the bridge's tests: a client with the in-memory exporter, installed as the global
//! client for one test at a time, and views of what it exported.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use langfuse_sdk::testing::{parent_names, ExportedSpan, InMemoryExporter};
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
    let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = InMemoryExporter::new();
    let client = Langfuse::builder()
        .in_memory_exporter(exporter.clone())
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
        let spans = self.spans();
        let mut found = spans.iter().filter(|s| s.name() == name);
        let s = found
            .next()
            .unwrap_or_else(|| panic!("no span named {name} in {:?}", names(&spans)))
            .clone();
        assert!(found.next().is_none(), "more than one span named {name}");
        s
    }

    /// name -> parent name ("-" for a root); names must be unique.
    pub fn tree(&self) -> std::collections::BTreeMap<String, String> {
        let spans = self.spans();
        let tree = parent_names(&spans);
        assert_eq!(
            tree.len(),
            spans.len(),
            "span names are not unique: {:?}",
            names(&spans)
        );
        tree.into_iter().collect()
    }
}

pub fn names(spans: &[ExportedSpan]) -> Vec<&str> {
    spans.iter().map(|s| s.name()).collect()
}

/// A literal tree for comparison.
pub fn tree(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(c, p)| (c.to_string(), p.to_string()))
        .collect()
}
