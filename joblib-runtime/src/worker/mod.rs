//! Worker processes: the `processes` backend of [`Parallel`](crate::Parallel), and the task
//! description a cluster backend reuses.
//!
//! A task that leaves the process is a [`Call`] of a *task function*: a `#[joblib::task]`
//! function, or a `#[cached]` free function, registered at link time under its path and
//! fingerprint ([`registry`]). The loop serializes the call's arguments (small arrays inline,
//! large ones as files the workers map: [`transport`]), a worker started from the same
//! executable ([`serve`]) finds the function by its path, checks the fingerprint, runs it and
//! sends its result back the same way. Messages are
//! length-prefixed frames ([`frame`]) over a local socket per worker ([`pool`]); the loop
//! ([`dispatch`]) batches calls by their measured durations, puts results in input order and
//! turns a worker's death into the error of the call it was running.

mod call;
mod dispatch;
mod folders;
mod frame;
mod limits;
mod pool;
mod registry;
mod serve;
mod transport;

pub use call::{Call, EncodeArgs, EncodeRefused, EncodeSerialize, RunDecoded, RunRefused, Runner};
pub(crate) use dispatch::{run as run_in_processes, run_alone, Settings};
pub use frame::Outcome;
pub(crate) use limits::parse_size;
pub use registry::{TaskInfo, TASKS};
pub(crate) use serve::is_worker;
pub use serve::worker_entry;
pub(crate) use transport::{Exchange, WithExchange};
