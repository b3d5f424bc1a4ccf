//! A recorded observation, below the thread's context: its one shared allocation ([`inner`])
//! and the per-thread reuse of allocations ([`pool`]).

pub(crate) mod inner;
pub(crate) mod pool;
pub(crate) mod updates;
