//! What the tests that run their own binary again as a child share.

use std::process::Output;

/// Asserts that the child passed and ran exactly one test: a child started with
/// `--exact <name>` that matches no test (after a rename, say) runs nothing and passes.
pub fn assert_ran_one_test(output: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what}: the child failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{what}: the child did not run exactly one test\n{stdout}");
}
