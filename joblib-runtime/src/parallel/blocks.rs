//! `map`'s tasks on a rayon pool, run in blocks: the rayon adaptor [`InBlocks`].
//!
//! rayon splits the input among the workers adaptively (finely while workers are idle,
//! coarsely while they are busy). Each piece a worker takes is then run here in blocks whose
//! size follows the measured durations (auto batching, the rule of
//! [`batching`](super::batching)): between two blocks, and only there, the worker reads the
//! clock and checks whether a task failed elsewhere. Tiny tasks so run in tight loops of up to
//! [`MAX_BLOCK`] tasks with nothing between them, while a long task is a block of its own and
//! no task starts once a failure has been seen.

use std::panic::resume_unwind;
use std::time::Instant;

use rayon::iter::plumbing::{bridge, Consumer, Folder, Producer, ProducerCallback, UnindexedConsumer};
use rayon::iter::{IndexedParallelIterator, ParallelIterator};

use super::batching::next_auto_size;
use super::failure::FirstFailure;

/// Unwinds a worker out of the loop once a task failed: rayon then skips the rest of the work
/// and the loop's caller catches it. (`resume_unwind` does not call the panic hook: nothing is
/// printed.)
struct Cancelled;

/// Leaves the loop: see [`Cancelled`].
#[cold]
#[inline(never)]
pub(super) fn cancel() -> ! {
    resume_unwind(Box::new(Cancelled))
}

/// The largest auto block. A block lasts about the auto batching target whatever its size,
/// so this only bounds the tasks a block of tiny ones runs after a failure elsewhere.
const MAX_BLOCK: usize = 1 << 16;

/// The items of `base` through `task(index, item)`, in blocks; see the module's text. `task`
/// records a failure in `failure` and unwinds ([`cancel`]); the other workers then stop at
/// their next block.
pub(crate) struct InBlocks<'a, I, G, S> {
    base: I,
    shared: Shared<'a, G, S>,
}

impl<'a, I, G, S> InBlocks<'a, I, G, S> {
    /// Blocks of `fixed` tasks, or of the auto batching size when `None`.
    pub(crate) fn new(base: I, task: &'a G, failure: &'a FirstFailure<S>, fixed: Option<usize>) -> Self {
        InBlocks { base, shared: Shared { task, failure, fixed } }
    }
}

/// What every piece of the input needs.
struct Shared<'a, G, S> {
    task: &'a G,
    failure: &'a FirstFailure<S>,
    fixed: Option<usize>,
}

impl<G, S> Clone for Shared<'_, G, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G, S> Copy for Shared<'_, G, S> {}

impl<I, G, S, R> ParallelIterator for InBlocks<'_, I, G, S>
where
    I: IndexedParallelIterator,
    G: Fn(usize, I::Item) -> R + Sync,
    S: Send,
    R: Send,
{
    type Item = R;

    fn drive_unindexed<C: UnindexedConsumer<R>>(self, consumer: C) -> C::Result {
        let failure = self.shared.failure;
        bridge(self, UntilFailure { base: consumer, failure })
    }

    fn opt_len(&self) -> Option<usize> {
        Some(self.base.len())
    }
}

impl<I, G, S, R> IndexedParallelIterator for InBlocks<'_, I, G, S>
where
    I: IndexedParallelIterator,
    G: Fn(usize, I::Item) -> R + Sync,
    S: Send,
    R: Send,
{
    fn drive<C: Consumer<R>>(self, consumer: C) -> C::Result {
        let failure = self.shared.failure;
        bridge(self, UntilFailure { base: consumer, failure })
    }

    fn len(&self) -> usize {
        self.base.len()
    }

    fn with_producer<CB: ProducerCallback<R>>(self, callback: CB) -> CB::Output {
        return self.base.with_producer(Callback { callback, shared: self.shared });

        struct Callback<'a, CB, G, S> {
            callback: CB,
            shared: Shared<'a, G, S>,
        }

        impl<T, CB, G, S, R> ProducerCallback<T> for Callback<'_, CB, G, S>
        where
            CB: ProducerCallback<R>,
            G: Fn(usize, T) -> R + Sync,
            S: Send,
        {
            type Output = CB::Output;

            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.callback.callback(BlockProducer { base, offset: 0, shared: self.shared })
            }
        }
    }
}

/// A piece of the input: `base`, whose first item is task `offset` of the loop.
struct BlockProducer<'a, P, G, S> {
    base: P,
    offset: usize,
    shared: Shared<'a, G, S>,
}

impl<'a, P, G, S, R> Producer for BlockProducer<'a, P, G, S>
where
    P: Producer,
    G: Fn(usize, P::Item) -> R + Sync,
    S: Send,
{
    type Item = R;
    type IntoIter = TaskIter<'a, P::IntoIter, G, S>;

    /// One task at a time, each after a check for an earlier failure (the blocks are in
    /// [`fold_with`](Self::fold_with), which is what rayon's collect calls).
    fn into_iter(self) -> Self::IntoIter {
        TaskIter { base: self.base.into_iter(), offset: self.offset, shared: self.shared }
    }

    fn min_len(&self) -> usize {
        self.base.min_len()
    }

    fn max_len(&self) -> usize {
        self.base.max_len()
    }

    fn split_at(self, index: usize) -> (Self, Self) {
        let (left, right) = self.base.split_at(index);
        (
            BlockProducer { base: left, offset: self.offset, shared: self.shared },
            BlockProducer { base: right, offset: self.offset + index, shared: self.shared },
        )
    }

    fn fold_with<F: Folder<R>>(self, mut folder: F) -> F {
        let Shared { task, failure, fixed } = self.shared;
        let mut items = self.base.into_iter();
        let mut index = self.offset;
        let mut size = fixed.unwrap_or(1);
        // One clock reading per block: a block starts when the one before it ended.
        let mut block_start = fixed.is_none().then(Instant::now);
        while items.len() > 0 && !folder.full() {
            if failure.is_stopped() {
                cancel();
            }
            let block = size.min(items.len());
            folder = folder.consume_iter(items.by_ref().take(block).zip(index..).map(|(item, i)| task(i, item)));
            index += block;
            if let Some(start) = block_start {
                let end = Instant::now();
                size = next_auto_size(size, block, end - start, MAX_BLOCK);
                block_start = Some(end);
            }
        }
        folder
    }
}

/// A consumer that is full once a task has failed: rayon then stops splitting the input into
/// pieces (whose tasks would not start anyway). Without it, splitting a huge input goes on
/// after a failure for as long as idle workers steal pieces, down to single tasks.
struct UntilFailure<'a, C, S> {
    base: C,
    failure: &'a FirstFailure<S>,
}

impl<'a, C: Consumer<R>, S: Send, R> Consumer<R> for UntilFailure<'a, C, S> {
    type Folder = C::Folder;
    type Reducer = C::Reducer;
    type Result = C::Result;

    fn split_at(self, index: usize) -> (Self, Self, C::Reducer) {
        let (left, right, reducer) = self.base.split_at(index);
        (
            UntilFailure { base: left, failure: self.failure },
            UntilFailure { base: right, failure: self.failure },
            reducer,
        )
    }

    fn into_folder(self) -> C::Folder {
        self.base.into_folder()
    }

    fn full(&self) -> bool {
        self.failure.is_stopped() || self.base.full()
    }
}

impl<C: UnindexedConsumer<R>, S: Send, R> UnindexedConsumer<R> for UntilFailure<'_, C, S> {
    fn split_off_left(&self) -> Self {
        UntilFailure { base: self.base.split_off_left(), failure: self.failure }
    }

    fn to_reducer(&self) -> C::Reducer {
        self.base.to_reducer()
    }
}

/// The tasks of a piece of the input one by one: see [`BlockProducer::into_iter`].
pub(crate) struct TaskIter<'a, It, G, S> {
    base: It,
    /// The index of the task of `base`'s next item.
    offset: usize,
    shared: Shared<'a, G, S>,
}

impl<It: Iterator, G: Fn(usize, It::Item) -> R, S, R> Iterator for TaskIter<'_, It, G, S> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        let item = self.base.next()?;
        if self.shared.failure.is_stopped() {
            cancel();
        }
        self.offset += 1;
        Some((self.shared.task)(self.offset - 1, item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.base.size_hint()
    }
}

impl<It, G, S, R> DoubleEndedIterator for TaskIter<'_, It, G, S>
where
    It: DoubleEndedIterator + ExactSizeIterator,
    G: Fn(usize, It::Item) -> R,
{
    fn next_back(&mut self) -> Option<R> {
        let item = self.base.next_back()?;
        if self.shared.failure.is_stopped() {
            cancel();
        }
        Some((self.shared.task)(self.offset + self.base.len(), item))
    }
}

impl<It, G, S, R> ExactSizeIterator for TaskIter<'_, It, G, S>
where
    It: ExactSizeIterator,
    G: Fn(usize, It::Item) -> R,
{
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rayon::iter::IntoParallelIterator;

    use super::*;

    /// Each task gives its index and its item: they must agree whatever rayon does.
    fn index_and_item(index: usize, item: usize) -> (usize, usize) {
        (index, item)
    }

    #[test]
    fn tasks_see_their_own_index_in_blocks_and_one_by_one() {
        let failure = FirstFailure::<()>::new();
        let n = 100_000;
        for fixed in [None, Some(1), Some(7)] {
            let folded: Vec<_> = InBlocks::new((0..n).into_par_iter(), &index_and_item, &failure, fixed).collect();
            assert!(folded.iter().enumerate().all(|(k, &(i, x))| k == i && i == x), "{fixed:?}");
            // `rev` and `zip` take the pieces' iterators (`into_iter`, `next_back`) instead.
            let reversed: Vec<_> =
                InBlocks::new((0..n).into_par_iter(), &index_and_item, &failure, fixed).rev().collect();
            assert!(reversed.iter().enumerate().all(|(k, &(i, x))| i == x && i == n - 1 - k), "{fixed:?}");
            let zipped: Vec<_> =
                InBlocks::new((0..n).into_par_iter(), &index_and_item, &failure, fixed).zip(0..n).collect();
            assert!(zipped.iter().all(|&((i, x), k)| i == x && x == k));
        }
    }

    #[test]
    fn no_task_starts_once_a_failure_is_recorded() {
        let failure = FirstFailure::new();
        failure.record(0, "an earlier task failed");
        let started = AtomicUsize::new(0);
        let task = |_: usize, item: usize| {
            started.fetch_add(1, Ordering::SeqCst);
            item
        };
        let blocks = catch_unwind(AssertUnwindSafe(|| {
            InBlocks::new((0..10_000).into_par_iter(), &task, &failure, None).collect::<Vec<_>>()
        }));
        assert!(blocks.is_err(), "the workers unwound out of the loop");
        let one_by_one = catch_unwind(AssertUnwindSafe(|| {
            InBlocks::new((0..10_000).into_par_iter(), &task, &failure, None).rev().collect::<Vec<_>>()
        }));
        assert!(one_by_one.is_err());
        assert_eq!(started.load(Ordering::SeqCst), 0);
    }
}
