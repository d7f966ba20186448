//! Results held while a loop runs on the pool. When a task fails, the loop unwinds out of
//! rayon's collect, which drops the results already written; a result whose `Drop` panics
//! there would be a panic during a panic, which aborts the process. A held result catches the
//! panic of its drop and keeps it, and the loop raises it once it is out of the pool: a
//! catchable panic, as a plain loop stopped by `?` gives.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Mutex, PoisonError};

/// The first panic of a held result's drop.
#[derive(Default)]
pub(crate) struct DropPanics(Mutex<Option<Box<dyn Any + Send>>>);

impl DropPanics {
    fn keep(&self, panic: Box<dyn Any + Send>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(panic);
    }

    /// Raises the kept panic, if any.
    pub(crate) fn raise(self) {
        if let Some(panic) = self.0.into_inner().unwrap_or_else(PoisonError::into_inner) {
            resume_unwind(panic);
        }
    }
}

/// A result whose drop cannot abort the process.
pub(crate) struct Guarded<'a, R> {
    /// `Some` until taken.
    value: Option<R>,
    panics: &'a DropPanics,
}

impl<'a, R> Guarded<'a, R> {
    pub(crate) fn new(value: R, panics: &'a DropPanics) -> Self {
        Guarded { value: Some(value), panics }
    }

    /// The result (always there: only a drop takes it otherwise).
    pub(crate) fn into_inner(mut self) -> Option<R> {
        self.value.take()
    }
}

impl<R> Drop for Guarded<'_, R> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
                self.panics.keep(panic);
            }
        }
    }
}
