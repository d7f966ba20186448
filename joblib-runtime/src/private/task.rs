//! What the code of `#[joblib::task]` calls besides the worker's types: the bound that reports
//! an argument or a result that cannot travel between processes, at its type.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The arguments and the result of a task travel between the loop's process and a worker.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument or the result of a task: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "this is sent between the loop's process and a worker process",
    note = "derive both for it (a reference `&T` is sent as a `T`)"
)]
pub trait TaskValue: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> TaskValue for T {}

/// Checks, at an argument's type or the return type, that it can travel.
pub fn assert_task_value<T: TaskValue>() {}
