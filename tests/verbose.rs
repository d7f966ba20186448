//! joblib's messages on stderr, checked in a child process (this binary again, with
//! `JOBLIB_TEST_ROLE` set) whose stderr the test reads.

mod common;

use std::process::Command;

use joblib::cached;

#[cached(dir = std::env::var("JOBLIB_TEST_DIR").unwrap(), verbose = 1)]
fn talkative(x: u32, label: &str) -> u32 {
    std::thread::sleep(std::time::Duration::from_millis(120));
    x + label.len() as u32
}

#[cached(dir = std::env::var("JOBLIB_TEST_DIR").unwrap(), verbose = 11)]
fn chatty(x: u32) -> u32 {
    x
}

#[test]
fn messages_follow_joblib() {
    if std::env::var("JOBLIB_TEST_ROLE").is_ok() {
        talkative(3, "abc");
        talkative(3, "abc");
        chatty(1);
        chatty(1);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "messages_follow_joblib", "--nocapture"])
        .env("JOBLIB_TEST_ROLE", "child")
        .env("JOBLIB_TEST_DIR", dir.path())
        .output()
        .unwrap();
    common::assert_ran_one_test(&output, "verbose child");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let calling = lines.iter().position(|l| *l == "[Memory] Calling verbose::talkative...").expect(&stderr);
    assert_eq!(lines[calling - 1], "_".repeat(80));
    assert_eq!(lines[calling + 1], r#"talkative(x = 3, label = "abc")"#);
    let timing = lines[calling + 2];
    assert_eq!(timing.len(), 80, "{timing}");
    assert!(timing.starts_with("____") && timing.ends_with("talkative - 0.1s, 0.0min"), "{timing}");
    assert_eq!(stderr.matches("Calling verbose::talkative").count(), 1, "the hit says nothing at verbose = 1");

    assert_eq!(stderr.matches("Calling verbose::chatty").count(), 1);
    let loading = lines.iter().find(|l| l.contains("Loading chatty from")).expect(&stderr);
    assert!(loading.starts_with("[Memory]") && loading.contains("s, 0.0min: Loading chatty from "), "{loading}");
    // A small result: read from the pack that holds it.
    assert!(loading.contains("joblib/verbose/chatty/packed-entries/"), "{loading}");
    assert!(loading.ends_with(".pack"), "{loading}");
}
