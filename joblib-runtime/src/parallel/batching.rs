//! How many tasks a worker takes at a time from a lazy input: fixed, or adapted to the
//! measured duration of the batches (joblib's `batch_size="auto"`).
//!
//! joblib aims at batches of 0.2 to 2 seconds because a dispatch to another process costs
//! milliseconds. A dispatch to a thread here costs about a microsecond (a lock, a channel
//! message, a wake-up), so the targets are a thousand times smaller: batches of about
//! [`TARGET`] keep the dispatch cost near 1 % while a slow task still balances within a
//! millisecond. As in joblib, the size starts at 1, grows at most twofold per batch towards
//! `size * TARGET / duration`, and falls back quickly when tasks become slow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::BatchSize;

/// The batch duration auto batching aims at.
pub(crate) const TARGET: Duration = Duration::from_micros(200);

/// The largest auto batch: it bounds how many items a stream pulls ahead
/// (`pre_dispatch` batches of at most this many).
pub(crate) const MAX_AUTO_BATCH: usize = 1024;

/// The current batch size of a loop, shared by its workers.
pub(crate) struct Batcher {
    fixed: Option<usize>,
    size: AtomicUsize,
}

impl Batcher {
    pub(crate) fn new(batch_size: BatchSize) -> Self {
        let fixed = match batch_size {
            BatchSize::Auto => None,
            BatchSize::Fixed(n) => Some(n.max(1)),
        };
        Batcher { fixed, size: AtomicUsize::new(fixed.unwrap_or(1)) }
    }

    /// How many items the next batch takes.
    pub(crate) fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    /// The largest batch this loop will ever take.
    pub(crate) fn max_size(&self) -> usize {
        self.fixed.unwrap_or(MAX_AUTO_BATCH)
    }

    /// A batch of `items` tasks took `took`: adapt the size (auto batching only).
    pub(crate) fn record(&self, items: usize, took: Duration) {
        if self.fixed.is_some() || items == 0 {
            return;
        }
        self.size.store(next_auto_size(self.size(), items, took, MAX_AUTO_BATCH), Ordering::Relaxed);
    }
}

/// Auto batching's rule: after a batch of `items` tasks took `took`, the next batch aims at
/// [`TARGET`], growing at most twofold from `current` and never past `max`.
pub(crate) fn next_auto_size(current: usize, items: usize, took: Duration, max: usize) -> usize {
    let per_task = took.as_secs_f64() / items.max(1) as f64;
    let ideal = if per_task > 0.0 { TARGET.as_secs_f64() / per_task } else { f64::INFINITY };
    (ideal as usize).clamp(1, current.saturating_mul(2).clamp(1, max.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_tasks_grow_the_batch_at_most_twofold_per_batch_up_to_the_cap() {
        let batcher = Batcher::new(BatchSize::Auto);
        assert_eq!(batcher.size(), 1);
        let mut sizes = Vec::new();
        for _ in 0..12 {
            batcher.record(batcher.size(), Duration::from_nanos(50 * batcher.size() as u64));
            sizes.push(batcher.size());
        }
        assert_eq!(sizes[..4], [2, 4, 8, 16]);
        assert_eq!(*sizes.last().unwrap(), MAX_AUTO_BATCH);
    }

    #[test]
    fn slow_tasks_shrink_the_batch_at_once() {
        let batcher = Batcher::new(BatchSize::Auto);
        for _ in 0..8 {
            batcher.record(batcher.size(), Duration::from_micros(batcher.size() as u64));
        }
        assert_eq!(batcher.size(), 200, "200 tasks of 1 µs make a batch of the target's duration");
        batcher.record(200, Duration::from_millis(200));
        assert_eq!(batcher.size(), 1, "tasks of 1 ms: one per batch");
    }

    #[test]
    fn a_fixed_size_never_changes() {
        let batcher = Batcher::new(BatchSize::Fixed(8));
        batcher.record(8, Duration::from_secs(10));
        assert_eq!((batcher.size(), batcher.max_size()), (8, 8));
        assert_eq!(Batcher::new(BatchSize::Fixed(0)).size(), 1);
    }
}
