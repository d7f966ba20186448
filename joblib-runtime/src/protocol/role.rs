//! Whether this process serves calls of a loop elsewhere (a worker process, an element of a
//! cluster's job array): a loop inside one runs on threads, never starting processes or jobs
//! of its own.

use std::sync::atomic::{AtomicBool, Ordering};

static SERVING: AtomicBool = AtomicBool::new(false);

/// This process serves a loop from now on.
pub(crate) fn become_worker() {
    SERVING.store(true, Ordering::Relaxed);
}

/// Whether this process serves a loop.
pub(crate) fn is_worker() -> bool {
    SERVING.load(Ordering::Relaxed)
}
