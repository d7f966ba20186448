//! The threads backend's engine: a loop's tasks on the current rayon pool, split adaptively,
//! run in blocks, results written in place in input order, and the first failure stopping the
//! rest.

use std::ops::Deref;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use rayon::iter::IndexedParallelIterator;

use super::blocks::{cancel, InBlocks};
use super::drop_panics::{DropPanics, Guarded};
use super::failure::{FirstFailure, Stop};
use super::input::Input;
use super::progress::Progress;
use super::task::Tasks;
use super::BatchSize;

/// Runs `items` through `tasks` on the current rayon pool: rayon's adaptive splitting, each
/// piece run in blocks ([`blocks`](super::blocks)), results collected in place in input order. A failing task
/// (recorded in `failure`) unwinds its worker, and the others stop at their next block, so no
/// per-task `Result` is collected and nothing starts after a failure; the values are then
/// incomplete and the caller reports the failure instead.
pub(super) fn on_pool<T, R, E, F, P>(
    items: impl Input<Item = T>,
    batch_size: BatchSize,
    failure: &FirstFailure<Stop<E>>,
    tasks: &Tasks<F, P>,
) -> crate::error::Result<Vec<R>>
where
    T: Send,
    R: Send,
    E: Send,
    F: Fn(T) -> std::result::Result<R, E> + Sync,
    P: Deref<Target = Progress> + Sync,
{
    if !std::mem::needs_drop::<R>() {
        return in_place(items, batch_size, failure, tasks, |value| value);
    }
    // Results with a `Drop` are held, so that a drop that panics while the loop unwinds after
    // a failure is a catchable panic, not an abort (see `held`).
    let panics = DropPanics::default();
    let held = in_place(items, batch_size, failure, tasks, |value| Guarded::new(value, &panics));
    let values = held.map(|held| held.into_iter().filter_map(Guarded::into_inner).collect());
    panics.raise();
    values
}

/// The tasks' results, each passed through `keep`, written in place by rayon.
fn in_place<T, R, V, E, F, P>(
    items: impl Input<Item = T>,
    batch_size: BatchSize,
    failure: &FirstFailure<Stop<E>>,
    tasks: &Tasks<F, P>,
    keep: impl Fn(R) -> V + Sync,
) -> crate::error::Result<Vec<V>>
where
    T: Send,
    V: Send,
    E: Send,
    F: Fn(T) -> std::result::Result<R, E> + Sync,
    P: Deref<Target = Progress> + Sync,
{
    let fixed = match batch_size {
        BatchSize::Auto => None,
        BatchSize::Fixed(n) => Some(n.max(1)),
    };
    // rayon writes each result in its place: the room for all of them comes first (here, on
    // one of the pool's threads, as rayon's own collect does), and a loop whose results
    // cannot fit in memory is an error rather than an abort.
    let count = items.task_count();
    let mut values = Vec::new();
    if let Err(e) = values.try_reserve_exact(count) {
        return Err(crate::error::Error::Resources(format!("no room for the results of {count} tasks: {e}")));
    }
    // Whether tasks are timed or counted is decided once, not in the loop of each block.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if tasks.is_observed() {
            in_blocks(items, &mut values, fixed, failure, |index, item| {
                tasks.run_observed(failure, index, item).map(&keep)
            });
        } else {
            in_blocks(items, &mut values, fixed, failure, |index, item| {
                tasks.run_caught(failure, index, item).map(&keep)
            });
        }
    }));
    match outcome {
        Ok(()) => Ok(values),
        Err(_) if failure.is_stopped() => Ok(Vec::new()),
        // Not a task's panic (tasks are caught one by one): pass it on.
        Err(panic) => resume_unwind(panic),
    }
}

/// `items` through `run` on the current rayon pool in blocks of `fixed` or auto size, results
/// into `values`; a task for which `run` gives `None` (it recorded its failure in `failure`)
/// unwinds its worker.
fn in_blocks<T: Send, R: Send, S: Send>(
    items: impl Input<Item = T>,
    values: &mut Vec<R>,
    fixed: Option<usize>,
    failure: &FirstFailure<S>,
    run: impl Fn(usize, T) -> Option<R> + Sync,
) {
    let task = |index, item| match run(index, item) {
        Some(value) => value,
        None => cancel(),
    };
    let items = items.into_parallel().with_min_len(fixed.unwrap_or(1));
    InBlocks::new(items, &task, failure, fixed).collect_into_vec(values);
}
