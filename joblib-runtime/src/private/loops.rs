//! What the code of `#[parallel]` loops and `parallel_for!` calls: the loop's input and value,
//! skipped items, the input kept to describe a failed task, and the loop's own failures.

use std::cell::Cell;
use std::fmt::Debug;
use std::marker::PhantomData;

use super::describe::bounded_debug;
use crate::error::{Error, TaskFailure};
use crate::parallel::{Collected, InPlace, Input, Parallel, Stop};

/// The input of a `#[parallel]` loop: `(&&LoopInput::new(expr)).input()` gives ranges and
/// slices as they are, to be split among the workers where they lie, and collects any other
/// iterator into a `Vec` first (autoref specialization).
pub struct LoopInput<I>(Cell<Option<I>>);

impl<I> LoopInput<I> {
    /// Wraps the loop's input.
    pub fn new(input: I) -> Self {
        LoopInput(Cell::new(Some(input)))
    }

    fn take(&self) -> I {
        self.0.take().expect("a loop's input is taken once")
    }
}

/// Ranges and slices, split where they lie.
pub trait InputInPlace {
    /// The input as the loop takes it.
    type Input: Input;
    /// Takes it.
    fn input(&self) -> Self::Input;
}

impl<S> InputInPlace for &LoopInput<S>
where
    InPlace<S>: Input,
{
    type Input = InPlace<S>;
    fn input(&self) -> InPlace<S> {
        InPlace(self.take())
    }
}

/// Any other input, collected first.
pub trait InputCollected {
    /// The input as the loop takes it.
    type Input: Input;
    /// Takes it.
    fn input(&self) -> Self::Input;
}

impl<I: IntoIterator> InputCollected for LoopInput<I>
where
    I::Item: Send,
{
    type Input = Collected<I::Item>;
    fn input(&self) -> Collected<I::Item> {
        Collected::of(self.take())
    }
}

/// The value of a `#[parallel]` loop in the tail of a block: the loop's `Vec`, or `()` where
/// the block's value is `()` (as a plain `for` loop in that place).
pub trait LoopOutput<T> {
    /// The block's value from the loop's values.
    fn from_values(values: Vec<T>) -> Self;
}

impl<T> LoopOutput<T> for Vec<T> {
    fn from_values(values: Vec<T>) -> Self {
        values
    }
}

impl<T> LoopOutput<T> for () {
    fn from_values(_: Vec<T>) -> Self {}
}

/// The value of a `#[parallel]` loop's body for an item whose iteration ended at `continue`.
#[diagnostic::on_unimplemented(
    message = "`continue` in a parallel loop whose body gives `{Self}`: every item needs a value",
    label = "this item would have no value",
    note = "`continue` works where the body gives `()` or an `Option` (a skipped item is `None`)"
)]
pub trait Skipped {
    /// The value of a skipped item.
    fn skipped() -> Self;
}

impl Skipped for () {
    fn skipped() -> Self {}
}

impl<T> Skipped for Option<T> {
    fn skipped() -> Self {
        None
    }
}

/// What a `#[parallel]` loop keeps of a task's input to describe it if the task panics:
/// `(&&Keep(&item)).keep()` keeps a copy of a `Copy + Debug` input (free: no formatting unless
/// the task fails), and nothing of other inputs (autoref specialization).
pub struct Keep<'a, T>(pub &'a T);

/// Keeps a copy of a `Copy + Debug` input.
pub trait KeepCopy {
    /// What is kept.
    type Kept: InputText;
    /// Keeps it.
    fn keep(&self) -> Self::Kept;
}

impl<T: Copy + Debug> KeepCopy for &Keep<'_, T> {
    type Kept = KeptCopy<T>;
    fn keep(&self) -> KeptCopy<T> {
        KeptCopy(*self.0)
    }
}

/// Keeps nothing of other inputs.
pub trait KeepNothing {
    /// What is kept.
    type Kept: InputText;
    /// Keeps it.
    fn keep(&self) -> Self::Kept;
}

impl<T> KeepNothing for Keep<'_, T> {
    type Kept = KeptNothing;
    fn keep(&self) -> KeptNothing {
        KeptNothing
    }
}

/// A copy of a task's input.
pub struct KeptCopy<T>(T);

/// Nothing of a task's input.
pub struct KeptNothing;

/// The description of a kept input.
pub trait InputText {
    /// Its `Debug` text, cut when long; `None` when nothing was kept.
    fn text(&self) -> Option<String>;
}

impl<T: Debug> InputText for KeptCopy<T> {
    fn text(&self) -> Option<String> {
        Some(bounded_debug(&self.0))
    }
}

impl InputText for KeptNothing {
    fn text(&self) -> Option<String> {
        None
    }
}

/// Runs a task of a `#[parallel]` loop; if it panics, the panic goes on with the description
/// of its input, which the loop's error then carries.
pub fn with_input<R>(kept: impl InputText, task: impl FnOnce() -> R) -> R {
    crate::parallel::described(|| kept.text(), task)
}

/// A loop's failure in a function returning `Result<T, E>`: the loop's own failure (it could
/// not run: no room for its results, `n_jobs` evaluating to 0, no worker threads; or a task
/// it ran failed other than by panicking: a timeout, a crashed worker process, a call a worker
/// refused) is `(&&LoopFailure::<E>::new(error)).returned()`, `E::from(error)` where
/// `E: From<joblib::Error>`; it panics elsewhere, and a task's panic always panics, as in a
/// plain loop (autoref specialization).
pub struct LoopFailure<E> {
    error: Cell<Option<Error>>,
    error_type: PhantomData<E>,
}

impl<E> LoopFailure<E> {
    /// Wraps the loop's error.
    pub fn new(error: Error) -> Self {
        LoopFailure { error: Cell::new(Some(error)), error_type: PhantomData }
    }

    fn take(&self) -> Error {
        self.error.take().unwrap_or_else(|| Error::Config("a loop's failure was taken twice".into()))
    }
}

/// Returns the failure as the function's error.
pub trait ReturnFailure<E> {
    /// The function's error.
    fn returned(&self) -> E;
}

impl<E: From<Error>> ReturnFailure<E> for &LoopFailure<E> {
    fn returned(&self) -> E {
        match self.take() {
            // A task's panic panics in the caller, as a plain loop's would.
            task @ Error::Task { kind: TaskFailure::Panic, .. } => loop_failed(task),
            error => E::from(error),
        }
    }
}

/// Panics with the failure, where the function's error cannot hold it.
pub trait PanicFailure<E> {
    /// Never returns.
    fn returned(&self) -> E;
}

impl<E> PanicFailure<E> for LoopFailure<E> {
    fn returned(&self) -> E {
        loop_failed(self.take())
    }
}

/// A loop's failure that is not returned: a task's panic (with its index and message), or
/// another failure, with what to change to get it as an error.
pub fn loop_failed(error: Error) -> ! {
    match error {
        Error::Task { kind: TaskFailure::Panic, .. } => panic!("{error}"),
        error => panic!(
            "a parallel loop could not run: {error} (a function returning `Result<T, E>` with \
             `E: From<joblib::Error>` gets this as an error instead of a panic)"
        ),
    }
}

/// `timeout = seconds` of a loop: a positive number of seconds (a float, or an integer
/// literal).
///
/// # Panics
///
/// If `seconds` is not positive or not finite (a literal is checked at compile time).
pub fn seconds(seconds: impl Into<f64>) -> std::time::Duration {
    let seconds = seconds.into();
    match std::time::Duration::try_from_secs_f64(seconds) {
        Ok(duration) if seconds > 0.0 => duration,
        _ => panic!("a parallel loop's timeout is a positive number of seconds, not {seconds}"),
    }
}

/// Runs a `#[parallel]` loop: `f` on every item of `items` (given as they lie or collected),
/// values in input order; a task's own error is kept as it is, for `?` to return it.
pub fn run_loop<I, F, R, E>(parallel: &Parallel, items: I, f: F) -> Result<Vec<R>, Stop<E>>
where
    I: Input,
    F: Fn(I::Item) -> Result<R, E> + Sync + Send,
    R: Send,
    E: Send,
{
    parallel.run_loop(items, f)
}
