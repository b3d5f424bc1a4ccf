//! The current observation and trace attributes: per thread for sync code ([`scope`]), per
//! future for async code, and carried explicitly into spawned tasks and threads ([`future`]).

pub(crate) mod future;
pub(crate) mod scope;

pub use future::{spawn, spawn_blocking, thread_spawn, WithContext, WithContextFuture};
pub use scope::{Context, ContextGuard};
