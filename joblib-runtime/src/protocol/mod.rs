//! The task protocol: how a call of a task function leaves the process and comes back, the
//! same for every backend that runs calls elsewhere (worker processes, a cluster).
//!
//! A task that leaves the process is a [`Call`] of a *task function*: a `#[joblib::task]`
//! function, or a `#[cached]` free function, registered at link time under its path in the
//! program and its fingerprint. The files, one line each:
//!
//! - [`call`]: a [`Call`], its arguments encoded when it is made, and how a worker runs it;
//! - [`registry`]: the task functions of this executable ([`TASKS`]);
//! - [`frame`]: the messages (calls, outcomes, a worker's hello), length-prefixed postcard;
//! - [`transport`]: the encoding of arguments and results, large arrays as files the other
//!   side maps (the loop's [`Exchange`]);
//! - [`folders`]: the folders a loop makes for its arrays and socket, private to its user;
//! - [`role`]: whether this process serves a loop (a worker, an element of a job array).
//!
//! It depends on no backend; the processes backend ([`processes`](crate::processes)) sits on
//! top of it.

pub(crate) mod call;
pub(crate) mod folders;
pub(crate) mod frame;
pub(crate) mod registry;
pub(crate) mod role;
pub(crate) mod transport;

pub use call::{Call, EncodeArgs, EncodeRefused, EncodeSerialize, RunDecoded, RunRefused, Runner};
pub use frame::Outcome;
pub use registry::{TaskInfo, TASKS};
pub(crate) use transport::{Exchange, WithExchange};
