//! Several processes on one cache: concurrent writers, a writer killed mid-write, a writer
//! whose disk is full. Each test runs this test binary again as its child processes: with
//! `JOBLIB_TEST_ROLE` set, the test plays the child's part instead.

#[path = "common/children.rs"]
mod children;
mod common;

use children::{child, finished, role, run_child, test_dir, DIR, ROLE};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use joblib::{cached, Array};

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// A slow function with a large result: `n` elements, each `seed + i`.
#[cached(dir = test_dir(), verbose = 0)]
fn slow_ramp(seed: u64, n: usize, pause_ms: u64) -> Array<u64> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(pause_ms));
    Array::from((0..n as u64).map(|i| seed + i).collect::<Vec<_>>())
}

fn check_ramp(a: &Array<u64>, seed: u64, n: usize) {
    assert_eq!(a.len(), n);
    assert!(a.iter().enumerate().all(|(i, &x)| x == seed + i as u64), "a whole, right value");
}

#[test]
fn concurrent_processes_all_get_the_right_value() {
    const TEST: &str = "concurrent_processes_all_get_the_right_value";
    const N: usize = 2_000_000;
    match role().as_deref() {
        Some("caller") => {
            for round in 0..3 {
                check_ramp(&slow_ramp(7, N, 200), 7, N);
                check_ramp(&slow_ramp(round, N / 2, 50), round, N / 2);
            }
        }
        Some("checker") => {
            assert!(slow_ramp::is_cached(7, N, 200));
            check_ramp(&slow_ramp(7, N, 200), 7, N);
            assert_eq!(RUNS.load(Ordering::SeqCst), 0, "everything was left in the cache");
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let callers: Vec<_> = (0..4)
                .map(|_| {
                    child(TEST, "caller", dir.path()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
                })
                .collect();
            for caller in callers {
                finished(&caller.wait_with_output().unwrap());
            }
            run_child(TEST, "checker", dir.path());
        }
    }
}

#[test]
fn a_writer_killed_mid_write_leaves_nothing_readable() {
    const TEST: &str = "a_writer_killed_mid_write_leaves_nothing_readable";
    const N: usize = 64 << 20; // 512 MiB of u64: long enough to be caught writing
    match role().as_deref() {
        Some("writer") => {
            slow_ramp(1, N, 0);
        }
        Some("recomputer") => {
            check_ramp(&slow_ramp(1, N, 0), 1, N);
            assert_eq!(RUNS.load(Ordering::SeqCst), 1, "recomputed: the killed write left nothing valid");
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let mut writer =
                child(TEST, "writer", dir.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            let temp = wait_for_temporary_file(&dir.path().join("joblib/processes/slow_ramp"), &mut writer);
            writer.kill().unwrap(); // SIGKILL
            writer.wait().unwrap();
            let entry = temp.parent().unwrap();
            assert!(!entry.join("output.jbl").exists(), "no output under the final name");
            run_child(TEST, "recomputer", dir.path());
            assert!(entry.join("output.jbl").exists(), "the recomputed entry is stored");
        }
    }
}

#[test]
fn eviction_reclaims_what_a_killed_writer_left_and_spares_a_live_one() {
    const TEST: &str = "eviction_reclaims_what_a_killed_writer_left_and_spares_a_live_one";
    const N: usize = 64 << 20;
    match role().as_deref() {
        Some("writer") => {
            check_ramp(&slow_ramp(2, N, 0), 2, N);
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let function = dir.path().join("joblib/processes/slow_ramp");
            let memory = joblib::Memory::new(dir.path()).verbose(0);
            let spawn = || child(TEST, "writer", dir.path()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();

            // A killed writer: its temporary file goes at the next eviction, whatever the limits.
            let mut killed = spawn().unwrap();
            let temp = wait_for_temporary_file(&function, &mut killed);
            killed.kill().unwrap();
            killed.wait().unwrap();
            assert!(temp.exists());
            assert_eq!(memory.reduce_size_to(None, None, None), 0);
            assert!(!temp.exists(), "reclaimed: no live writer owns {}", temp.display());

            // A live writer: eviction (even to nothing) leaves its file, and it stores its result.
            let mut live = spawn().unwrap();
            wait_for_temporary_file(&function, &mut live);
            memory.reduce_size_to(Some(0), Some(0), None);
            let output = live.wait_with_output().unwrap();
            finished(&output);
            let stderr = String::from_utf8_lossy(&output.stderr);
            // Its file was not removed under it: the final rename would have failed with a warning.
            assert!(!stderr.contains("WARNING"), "the live writer's store went through: {stderr}");
        }
    }
}

/// The value of key `k` of the hammered functions: a whole, checkable array.
fn hammer_value(k: u64) -> Array<u64> {
    Array::from((0..(k % 7) * 5000 + 1).map(|i| k * 1_000_000 + i).collect::<Vec<_>>())
}

#[cached(dir = test_dir(), verbose = 0)]
fn hammered_plain(k: u64) -> Array<u64> {
    hammer_value(k)
}

#[cached(dir = test_dir(), mmap_mode = "r", verbose = 0)]
fn hammered_mapped(k: u64) -> Array<u64> {
    hammer_value(k)
}

/// A small result, packed with the others.
#[cached(dir = test_dir(), verbose = 0)]
fn hammered_small(k: u64) -> (u64, String) {
    (k * 7, format!("small {k}"))
}

#[test]
fn processes_hammering_one_cache_never_see_a_wrong_value_or_an_error() {
    const TEST: &str = "processes_hammering_one_cache_never_see_a_wrong_value_or_an_error";
    const KEYS: u64 = 3000;
    match role().as_deref() {
        Some("hammer") => {
            let seconds: u64 = std::env::var("JOBLIB_TEST_SECONDS").unwrap().parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(seconds);
            // A key sequence of its own per process (a small LCG), hits and stores mixed.
            let mut state = u64::from(std::process::id());
            let mut calls = 0u64;
            let mut called = std::collections::BTreeSet::new();
            while Instant::now() < deadline {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let k = (state >> 33) % KEYS;
                let kind = calls % 3;
                match kind {
                    0 => assert_eq!(hammered_plain(k), hammer_value(k), "key {k}"),
                    1 => assert_eq!(hammered_mapped(k), hammer_value(k), "key {k}"),
                    _ => assert_eq!(hammered_small(k), (k * 7, format!("small {k}")), "key {k}"),
                }
                called.insert((kind, k));
                calls += 1;
            }
            // Nothing clears the cache: every call left its entry.
            for &(kind, k) in &called {
                let cached = match kind {
                    0 => hammered_plain::is_cached(k),
                    1 => hammered_mapped::is_cached(k),
                    _ => hammered_small::is_cached(k),
                };
                assert!(cached, "key {k} (of kind {kind}) was lost");
            }
            println!("hammer calls: {calls}");
        }
        Some("checker") => {
            let cached = (0..KEYS).filter(|&k| hammered_plain::is_cached(k)).count();
            for k in 0..KEYS {
                if hammered_plain::is_cached(k) {
                    assert_eq!(hammered_plain(k), hammer_value(k));
                }
                if hammered_mapped::is_cached(k) {
                    assert_eq!(hammered_mapped(k), hammer_value(k));
                }
                if hammered_small::is_cached(k) {
                    assert_eq!(hammered_small(k), (k * 7, format!("small {k}")));
                }
            }
            let small = (0..KEYS).filter(|&k| hammered_small::is_cached(k)).count();
            assert!(small > 100, "small entries were packed and none was lost: {small}");
            println!("cached keys: {cached}");
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let seconds = if std::env::var_os("CI").is_some() { 20 } else { 8 };
            let hammers: Vec<_> = (0..8)
                .map(|_| {
                    child(TEST, "hammer", dir.path())
                        .env("JOBLIB_TEST_SECONDS", seconds.to_string())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            let mut total = 0u64;
            for hammer in hammers {
                let output = hammer.wait_with_output().unwrap();
                finished(&output);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(!stderr.contains("WARNING"), "no reader or writer error: {stderr}");
                let stdout = String::from_utf8_lossy(&output.stdout);
                let calls = stdout.split("hammer calls: ").nth(1).and_then(|rest| rest.split_whitespace().next());
                total += calls.expect("the hammer reports its calls").parse::<u64>().unwrap();
            }
            assert!(total > 1000, "{total} calls");
            let output = run_child(TEST, "checker", dir.path());
            let stdout = String::from_utf8_lossy(&output.stdout);
            let cached = stdout.split("cached keys: ").nth(1).and_then(|rest| rest.split_whitespace().next());
            let cached: u64 = cached.expect("the checker reports the cached keys").parse().unwrap();
            assert!(cached > 100, "entries were stored and none was lost: {cached}");
        }
    }
}

/// Waits until a file being written aside (`*.tmp`) appears in an entry of `function_dir`.
fn wait_for_temporary_file(function_dir: &Path, writer: &mut std::process::Child) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the writer never started writing");
        // The temporary output of an entry (its folder is its key: 32 hex digits), not a record
        // written beside the entries (`fingerprint-sources/`).
        let is_entry = |e: &std::fs::DirEntry| e.file_name().len() == 32;
        let entries = std::fs::read_dir(function_dir).into_iter().flatten().flatten().filter(is_entry);
        let files = entries.flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten());
        if let Some(temp) = files.map(|f| f.path()).find(|p| p.to_string_lossy().ends_with(".tmp")) {
            return temp;
        }
        assert!(writer.try_wait().unwrap().is_none(), "the writer finished before it could be killed");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_full_disk_still_returns_the_value_with_a_warning() {
    const N: usize = 1 << 20; // 8 MiB, over the 1 MiB file size limit below
    if role().as_deref() == Some("limited") {
        check_ramp(&slow_ramp(3, N, 0), 3, N);
        check_ramp(&slow_ramp(3, N, 0), 3, N);
        assert_eq!(RUNS.load(Ordering::SeqCst), 2, "nothing could be stored, so both calls computed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // RLIMIT_FSIZE of 1 MiB; SIGXFSZ ignored so that the write fails with EFBIG instead of
    // killing the process (an ignored signal stays ignored across exec).
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 1024; exec "$0" --exact a_full_disk_still_returns_the_value_with_a_warning --nocapture"#)
        .arg(&exe)
        .env(ROLE, "limited")
        .env(DIR, dir.path())
        .output()
        .unwrap();
    finished(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[Memory] WARNING: cannot store the result of processes::slow_ramp"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
}
