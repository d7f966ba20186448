//! The task functions of this executable: every `#[joblib::task]` function (and every
//! `#[cached]` function that can be one) puts a [`TaskInfo`] in [`TASKS`] at link time, so a
//! worker started from the same executable finds a function by its path.

use std::sync::OnceLock;

use super::frame::{Outcome, TaskCall};

/// What a worker knows of a task function.
pub struct TaskInfo {
    /// Its path in the program (`crate::module::enclosing_fn::name`, see
    /// [`item_path`](crate::__private::item_path)).
    pub path: fn() -> &'static str,
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
        f.debug_struct("TaskInfo").field("path", &(self.path)()).finish_non_exhaustive()
    }
}

/// Every task function linked into this executable.
#[linkme::distributed_slice]
pub static TASKS: [TaskInfo];

/// The task function at `path`; an error if there is none, or several (two functions of one
/// name declared in two blocks of one function body: which one a worker ran would be a
/// guess).
pub(crate) fn find(path: &str) -> Result<&'static TaskInfo, String> {
    let mut found = TASKS.iter().filter(|task| (task.path)() == path);
    match (found.next(), found.next()) {
        (Some(task), None) => Ok(task),
        (Some(_), Some(_)) => Err(ambiguous(path)),
        (None, _) => Err(format!("{path} is not a task function of this executable")),
    }
}

/// Whether `task` is the only task function of its path.
pub(crate) fn check_unique(task: &'static TaskInfo) -> Result<(), String> {
    /// The paths of several task functions, found once.
    static AMBIGUOUS: OnceLock<Vec<&'static str>> = OnceLock::new();
    let ambiguous_paths = AMBIGUOUS.get_or_init(|| {
        let mut paths: Vec<&'static str> = TASKS.iter().map(|task| (task.path)()).collect();
        paths.sort_unstable();
        let mut several: Vec<&'static str> = paths.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        several.dedup();
        several
    });
    let path = (task.path)();
    match ambiguous_paths.contains(&path) {
        false => Ok(()),
        true => Err(ambiguous(path)),
    }
}

fn ambiguous(path: &str) -> String {
    format!(
        "two task functions have the path `{path}` (declared in two blocks of one function \
         body?): rename one, so that a worker knows which to run"
    )
}

/// Runs one call in this process (a worker, an element): the task at its path, if it is the
/// same build of it.
pub(crate) fn run_call(call: &TaskCall) -> Outcome {
    let task = match find(&call.path) {
        Ok(task) => task,
        Err(why) => {
            let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
            return Outcome::Refused(format!("{why} ({exe}): mark it with #[joblib::task] or #[cached]"));
        }
    };
    if (task.fingerprint)() != call.fingerprint {
        return Outcome::Refused(format!(
            "{} differs in this executable from the loop's (another build of the program)",
            call.path
        ));
    }
    (task.run)(&call.args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[linkme::distributed_slice(TASKS)]
    static ECHO: TaskInfo = TaskInfo {
        path: || "registry::tests::echo",
        fingerprint: || 7,
        run: |args| Outcome::Value(args.to_vec()),
        describe: |_| String::from("echo()"),
    };

    fn call(path: &str, fingerprint: u128) -> TaskCall {
        TaskCall { id: 1, path: path.into(), fingerprint, args: vec![1, 2, 3] }
    }

    #[test]
    fn a_call_runs_only_on_the_same_build_of_a_known_task() {
        assert_eq!(run_call(&call("registry::tests::echo", 7)), Outcome::Value(vec![1, 2, 3]));
        let Outcome::Refused(why) = run_call(&call("registry::tests::echo", 8)) else { panic!("ran") };
        assert!(why.contains("another build"), "{why}");
        let Outcome::Refused(why) = run_call(&call("registry::tests::gone", 7)) else { panic!("ran") };
        assert!(why.contains("not a task function"), "{why}");
    }
}
