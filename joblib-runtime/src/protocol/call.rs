//! [`Call`]: one call of a task function, made in the loop's process and run here or in a
//! worker process.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::frame::{Outcome, TaskCall};
use super::registry::TaskInfo;
use super::transport;
use crate::error::{panic_message, Error, TaskFailure};

/// A call of a task function (`#[joblib::task]`, or a `#[cached]` free function), made with
/// `f::call(args)`: its arguments are evaluated and serialized here, and the function runs
/// wherever the loop's backend says, in a worker process with `backend("processes")`. For a
/// `#[cached]` function, a call already in the cache holds its result at once and is never
/// dispatched. Run calls with [`Parallel::map_calls`](crate::Parallel::map_calls).
///
/// ```
/// #[joblib::task]
/// fn double(x: u64) -> u64 {
///     2 * x
/// }
///
/// # fn main() -> joblib::Result<()> {
/// let doubled = joblib::Parallel::new().map_calls((0..4).map(|x| double::call(x)))?;
/// assert_eq!(doubled, vec![0, 2, 4, 6]);
/// # Ok(())
/// # }
/// ```
pub struct Call<R> {
    pub(crate) task: &'static TaskInfo,
    state: State<R>,
}

enum State<R> {
    /// Found in the cache: nothing to run.
    Ready(R),
    /// The arguments, encoded for transport.
    Args(Vec<u8>),
    /// The arguments could not be serialized: why.
    Unencodable(String),
    /// Its known result was taken.
    Taken,
}

impl<R> std::fmt::Debug for Call<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").field("task", &(self.task.path)()).finish_non_exhaustive()
    }
}

impl<R> Call<R> {
    /// A call of `task` with `args` encoded (see [`EncodeArgs`]), or why they could not be.
    #[doc(hidden)]
    pub fn encoded(task: &'static TaskInfo, args: Result<Vec<u8>, String>) -> Call<R> {
        let state = match (args, super::registry::check_unique(task)) {
            (_, Err(ambiguous)) => State::Unencodable(ambiguous),
            (Ok(bytes), Ok(())) => State::Args(bytes),
            (Err(why), Ok(())) => State::Unencodable(format!("the arguments of {}: {why}", (task.path)())),
        };
        Call { task, state }
    }

    /// A call whose result is known (found in the cache).
    #[doc(hidden)]
    pub fn ready(task: &'static TaskInfo, value: R) -> Call<R> {
        Call { task, state: State::Ready(value) }
    }

    /// The function's path.
    ///
    /// ```
    /// #[joblib::task]
    /// fn one() -> u8 {
    ///     1
    /// }
    /// # fn main() {
    /// assert!(one::call().task_path().ends_with("::one"));
    /// # }
    /// ```
    pub fn task_path(&self) -> &'static str {
        (self.task.path)()
    }

    /// Its result, if it was known when the call was made (found in the cache); asked once.
    pub(crate) fn take_ready(&mut self) -> Option<R> {
        match std::mem::replace(&mut self.state, State::Taken) {
            State::Ready(value) => Some(value),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// Why its arguments could not be serialized, if they could not.
    pub(crate) fn unencodable(&self) -> Option<String> {
        match &self.state {
            State::Unencodable(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// The call as text, `name(args)`, for messages (its arguments decoded again; `None` if
    /// their `Deserialize` or `Debug` panics).
    pub(crate) fn describe(&self) -> Option<String> {
        match &self.state {
            State::Args(bytes) => catch_unwind(AssertUnwindSafe(|| (self.task.describe)(bytes))).ok(),
            _ => None,
        }
    }

    /// The call as it leaves the process, numbered `id`; `None` if it needs not leave (its
    /// result is known) or cannot (its arguments did not serialize).
    pub(crate) fn to_frame(&self, id: u64) -> Option<TaskCall> {
        match &self.state {
            State::Args(args) => Some(TaskCall {
                id,
                path: (self.task.path)().to_string(),
                fingerprint: (self.task.fingerprint)(),
                args: args.clone(),
            }),
            _ => None,
        }
    }
}

impl<R: Serialize + DeserializeOwned> Call<R> {
    /// Runs the call in this process: its value, or why it could not run. A panic of the
    /// function is resumed here, to be caught as any task's panic.
    pub(crate) fn run_here(self) -> Result<R, String> {
        match self.state {
            State::Ready(value) => Ok(value),
            State::Unencodable(why) => Err(why),
            State::Args(args) => result_of(self.task, (self.task.run)(&args)),
            State::Taken => Err(format!("the result of this call of {} was taken already", (self.task.path)())),
        }
    }
}

/// The result of a call of `task` that ended with `outcome`: its value, or why there is none.
/// A panic is resumed.
pub(crate) fn result_of<R: Serialize + DeserializeOwned>(task: &TaskInfo, outcome: Outcome) -> Result<R, String> {
    match outcome {
        Outcome::Value(bytes) => {
            transport::decode(&bytes).map_err(|why| format!("the result of {}: {why}", (task.path)()))
        }
        Outcome::Panic(message) => resume_unwind(Box::new(message)),
        Outcome::Refused(why) => Err(why),
    }
}

/// The results known before any call leaves the process (calls found in the cache), each
/// counted by `on_done`, and the calls to send; the first call whose arguments did not
/// serialize is an error. Calls are numbered from `first` in errors.
#[allow(clippy::type_complexity)]
pub(crate) fn known_results<R>(
    calls: &mut [Call<R>],
    first: usize,
    on_done: &dyn Fn(),
) -> crate::Result<(Vec<Option<R>>, VecDeque<usize>)> {
    let mut results: Vec<Option<R>> = Vec::with_capacity(calls.len());
    let mut pending = VecDeque::new();
    for (index, call) in calls.iter_mut().enumerate() {
        match call.take_ready() {
            Some(value) => {
                on_done();
                results.push(Some(value));
            }
            None => {
                if let Some(why) = call.unencodable() {
                    return Err(Error::task(first + index, None, TaskFailure::Error, why));
                }
                pending.push_back(index);
                results.push(None);
            }
        }
    }
    Ok((results, pending))
}

/// The value of `call`, numbered `index` in errors, which ended elsewhere with `outcome`; or
/// the loop's error: its panic, its refusal, a result that does not decode (or whose
/// `Deserialize` panics).
pub(crate) fn settle<R: Serialize + DeserializeOwned>(
    call: &Call<R>,
    index: usize,
    outcome: Outcome,
) -> crate::Result<R> {
    let kind = match outcome {
        Outcome::Panic(_) => TaskFailure::Panic,
        _ => TaskFailure::Error,
    };
    let message = match catch_unwind(AssertUnwindSafe(|| result_of::<R>(call.task, outcome))) {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(why)) => why,
        Err(panic) => panic_message(&*panic),
    };
    Err(Error::task(index, call.describe(), kind, message))
}

/// The arguments of a call (a tuple of them, or of references to them), encoded for the code
/// of `#[joblib::task]` and `#[cached]`: `(&&EncodeArgs(&args)).encode()` encodes them when
/// they are `Serialize`, and otherwise says they cannot travel (autoref specialization: an
/// argument a `#[cached]` function leaves out of its key need not be `Serialize`).
#[doc(hidden)]
pub struct EncodeArgs<'a, A: ?Sized>(pub &'a A);

/// Encodes arguments that are `Serialize`.
#[doc(hidden)]
pub trait EncodeSerialize {
    /// See [`EncodeArgs`].
    fn encode(&self) -> Result<Vec<u8>, String>;
}

impl<A: Serialize + ?Sized> EncodeSerialize for &EncodeArgs<'_, A> {
    fn encode(&self) -> Result<Vec<u8>, String> {
        transport::encode(self.0)
    }
}

/// Refuses arguments that are not `Serialize`.
#[doc(hidden)]
pub trait EncodeRefused {
    /// See [`EncodeArgs`].
    fn encode(&self) -> Result<Vec<u8>, String>;
}

impl<A: ?Sized> EncodeRefused for EncodeArgs<'_, A> {
    fn encode(&self) -> Result<Vec<u8>, String> {
        Err("they do not all implement serde's Serialize, so they cannot be sent to another process".into())
    }
}

/// Runs a task function on decoded arguments, for the code of `#[joblib::task]` and
/// `#[cached]`: `(&&Runner::<A, R>::new()).run(name, bytes, |args| f(..))` decodes the
/// arguments as `A` and encodes the result `R` when both are serde types, and otherwise
/// refuses the call (autoref specialization: a `#[cached]` function whose arguments cannot be
/// deserialized is still a cached function, only not a task).
#[doc(hidden)]
pub struct Runner<A, R>(PhantomData<fn(A) -> R>);

impl<A, R> Runner<A, R> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Runner(PhantomData)
    }
}

/// Runs a call of a task whose arguments and result are serde types.
#[doc(hidden)]
pub trait RunDecoded<A, R> {
    /// See [`Runner`].
    fn run(&self, path: &str, args: &[u8], f: impl FnOnce(A) -> R) -> Outcome;
    /// The arguments, decoded.
    fn args(&self, path: &str, args: &[u8]) -> Result<A, String>;
}

impl<A: Serialize + DeserializeOwned, R: Serialize> RunDecoded<A, R> for &Runner<A, R> {
    fn run(&self, path: &str, args: &[u8], f: impl FnOnce(A) -> R) -> Outcome {
        // Decoding, the call and encoding all run under `catch_unwind`: a `Deserialize` or
        // `Serialize` implementation that panics fails the call, not the worker.
        let ran = catch_unwind(AssertUnwindSafe(|| {
            let args = self.args(path, args)?;
            let value = f(args);
            transport::encode(&value).map_err(|why| format!("the result of {path}: {why}"))
        }));
        match ran {
            Ok(Ok(bytes)) => Outcome::Value(bytes),
            Ok(Err(why)) => Outcome::Refused(why),
            Err(panic) => Outcome::Panic(panic_message(&*panic)),
        }
    }

    fn args(&self, path: &str, args: &[u8]) -> Result<A, String> {
        transport::decode(args).map_err(|why| format!("the arguments of {path}: {why}"))
    }
}

/// Refuses every call: the arguments or the result are not serde types.
#[doc(hidden)]
pub trait RunRefused<A, R> {
    /// See [`Runner`].
    fn run(&self, path: &str, args: &[u8], f: impl FnOnce(A) -> R) -> Outcome;
    /// Always an error.
    fn args(&self, path: &str, args: &[u8]) -> Result<A, String>;
}

impl<A, R> RunRefused<A, R> for Runner<A, R> {
    fn run(&self, path: &str, args: &[u8], _: impl FnOnce(A) -> R) -> Outcome {
        Outcome::Refused(RunRefused::<A, R>::args(self, path, args).err().unwrap_or_default())
    }

    fn args(&self, path: &str, _: &[u8]) -> Result<A, String> {
        Err(format!(
            "{path} cannot run in another process: its arguments must implement serde's Serialize and \
             Deserialize, and its result Serialize"
        ))
    }
}
