//! What the code of `#[joblib::task]` calls besides the worker's types: the bounds that report
//! an argument or a result that cannot travel, at its type.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Arguments of tasks travel to the worker process.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a task: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "this argument is sent to a worker process",
    note = "derive both for it (a reference `&T` is sent as a `T`)"
)]
pub trait TaskArgument: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> TaskArgument for T {}

/// Checks, at an argument's type, that it can be sent.
pub fn assert_task_argument<T: TaskArgument>() {}

/// Results of tasks travel back from the worker process.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a task: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "this result is sent back from a worker process",
    note = "derive both for it"
)]
pub trait TaskResult: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> TaskResult for T {}

/// Checks, at the return type, that the result can be sent back.
pub fn assert_task_result<T: TaskResult>() {}
