//! Tests that run their own binary again as child processes: with `JOBLIB_TEST_ROLE` set, a
//! test plays the child's part named by it, on the cache folder in `JOBLIB_TEST_DIR`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const ROLE: &str = "JOBLIB_TEST_ROLE";
pub const DIR: &str = "JOBLIB_TEST_DIR";

/// The cache folder, given to children through the environment.
pub fn test_dir() -> PathBuf {
    PathBuf::from(std::env::var_os(DIR).expect("JOBLIB_TEST_DIR is set for every caller"))
}

/// This binary again, running only `test`, as `role`, on the cache in `dir`.
pub fn child(test: &str, role: &str, dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", test, "--nocapture", "--test-threads", "1"]).env(ROLE, role).env(DIR, dir);
    command
}

/// The part this process plays, if it is a child.
pub fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// Checks that a child passed, having run its one test.
pub fn finished(output: &Output) {
    crate::common::assert_ran_one_test(output, "child");
}

/// Runs `child(test, role, dir)` to completion and checks it passed.
pub fn run_child(test: &str, role: &str, dir: &Path) -> Output {
    let output = child(test, role, dir).output().unwrap();
    finished(&output);
    output
}
