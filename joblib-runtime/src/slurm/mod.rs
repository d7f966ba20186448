//! The `slurm` backend of [`Parallel`](crate::Parallel): calls of task functions run as one
//! Slurm job array of a copy of this executable, on the task protocol
//! ([`protocol`](crate::protocol)), with a folder on the cluster's shared filesystem as the
//! exchange. The files, one line each:
//!
//! - [`settings`]: [`Slurm`], the backend's settings, the `sbatch` options they become, and
//!   [`SlurmLoop`], what a loop on it needs;
//! - [`run_folder`]: a run's folder: the calls, the elements' results and output;
//! - [`executable`]: the copy of the executable the elements run, one per build;
//! - [`commands`]: `sbatch`, `squeue`, `scontrol`, `scancel`, and the watchdog that cancels an
//!   array whose submitting process died;
//! - [`submit`]: the loop's side: calls shared out among elements, written, submitted;
//! - [`follow`]: the loop's side: results read as elements finish, failed and lost elements;
//! - [`element`]: an element's side, entered before `main`.

mod commands;
mod element;
mod executable;
mod follow;
mod run_folder;
mod settings;
mod submit;

pub(crate) use element::serve_if_element;
pub(crate) use run_folder::RunFolder;
pub use settings::Slurm;
pub(crate) use settings::SlurmLoop;
pub(crate) use submit::run as run_on_slurm;
