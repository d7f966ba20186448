//! The parallel loops running in this process, and since when: a cache that keeps itself
//! under its size limit ([`Memory::auto_reduce`](crate::Memory::auto_reduce)) never evicts an
//! entry stored since the oldest of them started.

use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// The running loops: an id and when each started.
static RUNNING: Mutex<Vec<(u64, SystemTime)>> = Mutex::new(Vec::new());

/// A running loop, registered until it is dropped.
#[derive(Debug)]
pub(crate) struct Running(u64);

impl Running {
    /// Registers a loop starting now.
    pub(crate) fn start() -> Running {
        let id = crate::random::random_u64();
        RUNNING.lock().unwrap_or_else(PoisonError::into_inner).push((id, SystemTime::now()));
        Running(id)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.lock().unwrap_or_else(PoisonError::into_inner).retain(|(id, _)| *id != self.0);
    }
}

/// When the oldest running loop started, if one is running.
pub(crate) fn oldest_start() -> Option<SystemTime> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|(_, start)| *start).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_running_loop_counts_until_it_ends() {
        let before = SystemTime::now();
        let outer = Running::start();
        let inner = Running::start();
        let oldest = oldest_start().unwrap();
        assert!(oldest >= before && oldest <= SystemTime::now());
        drop(outer);
        assert!(oldest_start().unwrap() >= oldest, "the inner one now");
        drop(inner);
        // (Other tests of this binary may run loops meanwhile: only what this one started is checked.)
    }
}
