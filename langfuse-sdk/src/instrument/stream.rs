//! Observed streams and iterators.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::capture::{prefix_at_boundary, truncation_marker, Captured};
use crate::instrument::dispatch::Value;
use crate::instrument::sync::{capture_output, in_scope, obs_limit};
use crate::observation::handle::Observation;

/// Collects the items of an observed stream or iterator: strings are joined, anything else
/// becomes a JSON array.
pub struct Items {
    text: String,
    json: Vec<String>,
    all_text: bool,
    count: usize,
    limit: usize,
    bytes: usize,
}

impl Items {
    fn new(limit: usize) -> Items {
        Items {
            text: String::new(),
            json: Vec::new(),
            all_text: true,
            count: 0,
            limit,
            bytes: 0,
        }
    }
    fn push(&mut self, c: Captured) {
        self.count += 1;
        if self.bytes > self.limit {
            return;
        }
        self.bytes += c.len();
        match &c {
            Captured::Text(s) if self.all_text => self.text.push_str(s),
            _ => self.all_text = false,
        }
        self.json.push(c.to_json_text());
    }
    fn finish(self) -> Captured {
        let over = self.bytes > self.limit;
        let c = if self.all_text {
            Captured::Text(self.text)
        } else {
            Captured::Json(format!("[{}]", self.json.join(",")))
        };
        if over {
            let s = c.as_str();
            let mut t = prefix_at_boundary(s, self.limit).to_string();
            t.push_str(&truncation_marker(self.bytes, self.limit));
            Captured::Text(t)
        } else {
            c
        }
    }
}

/// An observed iterator: the observation is current while it produces items and ends when it is
/// exhausted or dropped.
pub struct ObservedIter<I, C> {
    inner: I,
    obs: Option<Observation>,
    items: Option<Items>,
    capture: C,
}

impl<I: Iterator, C: FnMut(&I::Item, usize) -> Value> ObservedIter<I, C> {
    /// Wraps `inner`; `capture` turns each item into a value for the output.
    pub fn new(obs: Observation, inner: I, capture: C) -> Self {
        let items = capture_output(&obs).then(|| Items::new(obs_limit(&obs)));
        // A stream or iterator that starts a trace may be long-lived (an event feed):
        // shutdown sends it if it is still open then.
        obs.track_if_root();
        ObservedIter {
            inner,
            obs: Some(obs),
            items,
            capture,
        }
    }
}

impl<I, C> ObservedIter<I, C> {
    fn finish(&mut self, dropped_early: bool) {
        if let Some(obs) = self.obs.take() {
            if let Some(items) = self.items.take() {
                obs.set_input_or_output(false, items.finish());
            }
            if dropped_early && obs.is_recording() {
                obs.set_status_message("dropped before the end");
            }
            obs.end();
        }
    }
}

impl<I: Iterator, C: FnMut(&I::Item, usize) -> Value> Iterator for ObservedIter<I, C> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let inner = &mut self.inner;
        let next = in_scope(self.obs.as_ref(), || inner.next());
        match &next {
            Some(item) => {
                if let Some(items) = &mut self.items {
                    let c = (self.capture)(item, items.limit);
                    items.push(c.0);
                }
            }
            None => self.finish(false),
        }
        next
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I, C> Drop for ObservedIter<I, C> {
    fn drop(&mut self) {
        self.finish(true);
    }
}

pin_project_lite::pin_project! {
    /// An observed stream: the observation is current while it is polled and ends when the
    /// stream ends or is dropped.
    pub struct ObservedStream<S, C> {
        #[pin]
        inner: S,
        obs: Option<Observation>,
        items: Option<Items>,
        capture: C,
    }

    impl<S, C> PinnedDrop for ObservedStream<S, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(obs) = this.obs.take() {
                if let Some(items) = this.items.take() {
                    obs.set_input_or_output(false, items.finish());
                }
                if obs.is_recording() {
                    obs.set_status_message("dropped before the end");
                }
                obs.end();
            }
        }
    }
}

impl<S: futures_core::Stream, C: FnMut(&S::Item, usize) -> Value> ObservedStream<S, C> {
    /// Wraps `inner`; `capture` turns each item into a value for the output.
    pub fn new(obs: Observation, inner: S, capture: C) -> Self {
        let items = capture_output(&obs).then(|| Items::new(obs_limit(&obs)));
        // A stream or iterator that starts a trace may be long-lived (an event feed):
        // shutdown sends it if it is still open then.
        obs.track_if_root();
        ObservedStream {
            inner,
            obs: Some(obs),
            items,
            capture,
        }
    }
}

impl<S: futures_core::Stream, C: FnMut(&S::Item, usize) -> Value> futures_core::Stream
    for ObservedStream<S, C>
{
    type Item = S::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let inner = this.inner;
        let polled = in_scope(this.obs.as_ref(), || inner.poll_next(cx));
        match &polled {
            Poll::Ready(Some(item)) => {
                if let Some(items) = this.items.as_mut() {
                    let c = (this.capture)(item, items.limit);
                    items.push(c.0);
                }
            }
            Poll::Ready(None) => {
                if let Some(obs) = this.obs.take() {
                    if let Some(items) = this.items.take() {
                        obs.set_input_or_output(false, items.finish());
                    }
                    obs.end();
                }
            }
            Poll::Pending => {}
        }
        polled
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
