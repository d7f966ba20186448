//! `parallel_config`: defaults for the loops started in a scope, also by library code.

use std::cell::RefCell;

use super::Parallel;

thread_local! {
    static DEFAULTS: RefCell<Vec<Parallel>> = const { RefCell::new(Vec::new()) };
}

/// The innermost defaults in force on this thread.
pub(crate) fn current() -> Option<Parallel> {
    DEFAULTS.with(|d| d.borrow().last().cloned())
}

/// Runs `f` with `defaults` as what [`Parallel::new`] returns on this thread, also in code
/// that `f` calls into (a library's own parallel loops), as joblib's `parallel_config`. Scopes
/// nest; the defaults end with `f`, also if it panics.
///
/// ```
/// use joblib::{parallel_config, Parallel};
///
/// fn library_code() -> usize {
///     Parallel::new().workers().unwrap()
/// }
///
/// let inside = parallel_config(Parallel::new().n_jobs(1), library_code);
/// assert_eq!(inside, 1);
/// ```
pub fn parallel_config<R>(defaults: Parallel, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            DEFAULTS.with(|d| d.borrow_mut().pop());
        }
    }
    DEFAULTS.with(|d| d.borrow_mut().push(defaults));
    let _pop = Pop;
    f()
}
