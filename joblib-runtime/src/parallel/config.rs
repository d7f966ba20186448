//! `parallel_config`: defaults for the loops started in a scope, also by library code; and
//! the default `n_jobs` from the environment.

use std::cell::RefCell;
use std::sync::Once;

use super::{Parallel, N_JOBS_VAR};

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

/// `n_jobs` as `$JOBLIB_N_JOBS` gives it, `None` when unset. A value that is not a non-zero
/// integer of `i32` range is ignored with a warning (once per process) naming the variable.
pub(crate) fn n_jobs_from_env() -> Option<i32> {
    let value = std::env::var_os(N_JOBS_VAR)?;
    let parsed = value.to_str().and_then(|v| v.trim().parse::<i32>().ok()).filter(|&n| n != 0);
    if parsed.is_none() {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            let message = format!(
                "{N_JOBS_VAR}={value:?} is not a number of jobs (an integer such as 4 or -1, not 0); \
                 ignored, every CPU is used"
            );
            eprintln!("[Parallel] WARNING: {message}");
            log::warn!(target: "joblib::parallel", "{message}");
        });
    }
    parsed
}
