//! The task functions of this executable: every `#[joblib::task]` function (and every
//! `#[cached]` function that can be one) puts a [`TaskInfo`] in [`TASKS`] at link time, so a
//! worker started from the same executable finds a function by its path.

use super::frame::Outcome;

/// What a worker knows of a task function.
pub struct TaskInfo {
    /// `module::path::name`, as `module_path!()` gives it.
    pub path: &'static str,
    /// The function's fingerprint (its source, `version` and `deps`): a call made by another
    /// build of the function is refused rather than run by this one.
    pub fingerprint: fn() -> u128,
    /// Decodes the arguments (as the loop encoded them), calls the function, encodes its
    /// result.
    pub run: fn(&[u8]) -> Outcome,
    /// The call as text (`name(a = .., b = ..)`) from the bytes of its arguments, for messages.
    pub describe: fn(&[u8]) -> String,
}

impl std::fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskInfo").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Every task function linked into this executable.
#[linkme::distributed_slice]
pub static TASKS: [TaskInfo];

/// The task function at `path`.
pub(crate) fn find(path: &str) -> Option<&'static TaskInfo> {
    TASKS.iter().find(|task| task.path == path)
}
