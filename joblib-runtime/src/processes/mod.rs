//! The `processes` backend of [`Parallel`](crate::Parallel): calls of task functions run in
//! worker processes started from the same executable, on the task protocol
//! ([`protocol`](crate::protocol)). The files, one line each:
//!
//! - [`pool`]: the loop's side: workers started, each in a process group of its own,
//!   connected by a local socket, their stderr passed on and its last lines kept;
//! - [`dispatch`]: calls batched by their measured durations and spread over the workers,
//!   results in input order, a worker's death turned into its call's error;
//! - [`serve`]: the worker's side, entered before `main` (see [`entry`](crate::entry));
//! - [`limits`]: a worker's memory limit, and sizes in joblib's words (`"4G"`).

mod dispatch;
mod limits;
mod pool;
mod serve;

pub(crate) use dispatch::{run as run_in_processes, run_alone, WorkerSettings};
pub(crate) use serve::{serve_if_worker, NO_HOOK_VAR, WORKER_ARG};
