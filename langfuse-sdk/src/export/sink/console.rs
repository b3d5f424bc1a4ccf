//! The console sink: every finished trace printed as an indented tree.

use std::collections::HashMap;
use std::io::Write as _;

use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::export::encode::*;
// ---- console ---------------------------------------------------------------------------------

/// Prints each finished trace as an indented tree.
#[derive(Default)]
pub(crate) struct ConsoleSink {
    pending: HashMap<Vec<u8>, Vec<Span>>,
}

impl ConsoleSink {
    /// Adds spans; prints traces whose root arrived (or all, when forced). Returns spans printed.
    pub(crate) fn add(&mut self, spans: Vec<Span>, force: bool) -> u64 {
        let mut ready = Vec::new();
        for s in spans {
            let root = s.parent_span_id.is_empty() || s.flags & FLAG_IS_REMOTE != 0;
            let t = s.trace_id.clone();
            self.pending.entry(t.clone()).or_default().push(s);
            if root {
                ready.push(t);
            }
        }
        if force {
            ready.extend(self.pending.keys().cloned());
        }
        let mut n = 0;
        let mut out = String::new();
        for t in ready {
            if let Some(spans) = self.pending.remove(&t) {
                n += spans.len() as u64;
                render_tree(&spans, &mut out);
            }
        }
        if !out.is_empty() {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
        }
        n
    }

    pub(crate) fn scores(&mut self, events: &[serde_json::Value]) {
        let mut out = String::new();
        for e in events {
            let b = &e["body"];
            out.push_str(&format!(
                "score {} = {} ({}) on trace {}{}\n",
                b["name"].as_str().unwrap_or("?"),
                b["value"],
                b["dataType"].as_str().unwrap_or("?"),
                b["traceId"]
                    .as_str()
                    .or(b["sessionId"].as_str())
                    .unwrap_or("-"),
                b["observationId"]
                    .as_str()
                    .map(|o| format!(" / observation {o}"))
                    .unwrap_or_default()
            ));
        }
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    s.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn span_attr_str<'a>(s: &'a Span, key: &str) -> Option<&'a str> {
    match attr(s, key) {
        Some(any_value::Value::StringValue(v)) => Some(v),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Renders spans of one trace as an indented tree.
pub(crate) fn render_tree(spans: &[Span], out: &mut String) {
    let ids: std::collections::HashSet<&[u8]> = spans.iter().map(|s| &s.span_id[..]).collect();
    let mut children: HashMap<&[u8], Vec<&Span>> = HashMap::new();
    let mut roots = Vec::new();
    for s in spans {
        if s.parent_span_id.is_empty() || !ids.contains(&s.parent_span_id[..]) {
            roots.push(s);
        } else {
            children.entry(&s.parent_span_id[..]).or_default().push(s);
        }
    }
    roots.sort_by_key(|s| s.start_time_unix_nano);
    for c in children.values_mut() {
        c.sort_by_key(|s| s.start_time_unix_nano);
    }
    if let Some(r) = roots.first() {
        let trace_name = span_attr_str(r, "langfuse.trace.name").unwrap_or(&r.name);
        out.push_str(&format!("trace {} {}", hex(&r.trace_id), trace_name));
        if let Some(u) = span_attr_str(r, "user.id") {
            out.push_str(&format!(" user={u}"));
        }
        if let Some(sid) = span_attr_str(r, "session.id") {
            out.push_str(&format!(" session={sid}"));
        }
        out.push('\n');
    }
    fn line(s: &Span, out: &mut String) {
        let ty = span_attr_str(s, "langfuse.observation.type").unwrap_or("span");
        let ms = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano) as f64 / 1e6;
        out.push_str(&format!("{ty} {} {ms:.1}ms", s.name));
        if let Some(m) = span_attr_str(s, "langfuse.observation.model.name") {
            out.push_str(&format!(" model={m}"));
        }
        if let Some(u) = span_attr_str(s, "langfuse.observation.usage_details")
            .and_then(|u| serde_json::from_str::<serde_json::Value>(u).ok())
        {
            let g = |k: &str| u.get(k).and_then(|v| v.as_u64());
            out.push_str(&format!(
                " tokens={}/{}/{}",
                g("input").map_or("-".into(), |v| v.to_string()),
                g("output").map_or("-".into(), |v| v.to_string()),
                g("total").map_or("-".into(), |v| v.to_string())
            ));
        }
        if let Some(c) = span_attr_str(s, "langfuse.observation.cost_details")
            .and_then(|u| serde_json::from_str::<serde_json::Value>(u).ok())
            .and_then(|u| u.get("total").and_then(|v| v.as_f64()))
        {
            out.push_str(&format!(" cost=${c:.6}"));
        }
        if let Some(l) = span_attr_str(s, "langfuse.observation.level") {
            if l != "DEFAULT" {
                out.push_str(&format!(" [{l}"));
                if let Some(m) = span_attr_str(s, "langfuse.observation.status_message") {
                    out.push_str(&format!(": {}", crate::diag::truncate_for_log(m)));
                }
                out.push(']');
            }
        }
        out.push('\n');
    }
    fn walk(
        s: &Span,
        prefix: &str,
        last: bool,
        children: &HashMap<&[u8], Vec<&Span>>,
        out: &mut String,
    ) {
        out.push_str(prefix);
        out.push_str(if last { "└─ " } else { "├─ " });
        line(s, out);
        if let Some(cs) = children.get(&s.span_id[..]) {
            let p = format!("{prefix}{}", if last { "   " } else { "│  " });
            for (i, c) in cs.iter().enumerate() {
                walk(c, &p, i + 1 == cs.len(), children, out);
            }
        }
    }
    let n = roots.len();
    for (i, r) in roots.into_iter().enumerate() {
        walk(r, "", i + 1 == n, &children, out);
    }
}
