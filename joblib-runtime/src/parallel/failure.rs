//! Why a loop stopped, its first failure, and the flag that keeps the tasks not yet started
//! from starting.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::Error;

/// Why a loop stopped: a task's own error, kept as it is, or a failure of the loop itself.
#[derive(Debug)]
pub enum Stop<E> {
    /// Task `index` returned `error`.
    Task {
        /// The task's position in the input.
        index: usize,
        /// What it returned.
        error: E,
    },
    /// A panic, a timeout or a configuration that cannot run.
    Failed(Error),
}

impl Stop<Infallible> {
    /// The error of a loop whose tasks cannot fail on their own.
    pub(crate) fn into_error(self) -> Error {
        match self {
            Stop::Task { error, .. } => match error {},
            Stop::Failed(error) => error,
        }
    }
}

/// Shared by a loop's workers: the failed task with the lowest index, and whether any failed.
pub(crate) struct FirstFailure<S> {
    stopped: AtomicBool,
    first: Mutex<Option<(usize, S)>>,
}

impl<S> FirstFailure<S> {
    pub(crate) fn new() -> Self {
        FirstFailure { stopped: AtomicBool::new(false), first: Mutex::new(None) }
    }

    /// Whether a task failed: tasks that have not started yet must not start.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Task `index` failed with `failure`; of several failures, the lowest index is kept, so
    /// the error a loop returns does not depend on how its tasks were scheduled.
    #[cold]
    pub(crate) fn record(&self, index: usize, failure: S) {
        self.stopped.store(true, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.as_ref().is_none_or(|(kept, _)| index < *kept) {
            *first = Some((index, failure));
        }
    }

    /// The kept failure, if any task failed.
    pub(crate) fn into_inner(self) -> Option<S> {
        self.first.into_inner().unwrap_or_else(|p| p.into_inner()).map(|(_, failure)| failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_index_is_kept_whatever_the_order() {
        let failures = FirstFailure::new();
        assert!(!failures.is_stopped());
        failures.record(7, "seven");
        failures.record(3, "three");
        failures.record(5, "five");
        assert!(failures.is_stopped());
        assert_eq!(failures.into_inner(), Some("three"));
        assert_eq!(FirstFailure::<()>::new().into_inner(), None);
    }
}
