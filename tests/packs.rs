//! Small results, packed together: damaged packs, other processes' stores and clears,
//! eviction by last use, and writers killed while appending. Children are this test binary
//! again (see `common/children.rs`).

#[path = "common/children.rs"]
mod children;
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use children::{child, role, run_child, test_dir};
use joblib::Memory;

/// The value of key `k`: small, and checkable.
fn value(k: u64) -> (u64, String) {
    (k * 3, format!("value of {k}"))
}

/// The cached function every test and child uses, on the cache in `dir`, counting its runs
/// in `runs` (one per test: tests run at once).
fn small(
    dir: &Path,
    runs: &'static AtomicUsize,
) -> joblib::MemorizedFunc<u64, (u64, String), impl Fn(&u64) -> (u64, String)> {
    Memory::new(dir).verbose(0).cache("small", move |k: &u64| {
        runs.fetch_add(1, Ordering::SeqCst);
        value(*k)
    })
}

/// Every pack file under `dir`.
fn packs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for child in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = child.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "pack") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The keys a child reports as `<what>: <n>`.
fn reported(output: &std::process::Output, what: &str) -> usize {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let found = stdout.split(&format!("{what}: ")).nth(1).and_then(|rest| rest.split_whitespace().next());
    found.unwrap_or_else(|| panic!("the child reports {what}: {stdout}")).parse().unwrap()
}

#[test]
fn small_results_are_packed_in_a_few_files() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let f = small(dir.path(), &RUNS);
    for k in 0..1000 {
        assert_eq!(f.call(&k), value(k));
    }
    let files = packs(dir.path());
    assert!(files.len() <= 16, "one pack per bucket: {files:?}");
    let bytes: u64 = files.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    assert!(bytes < 1000 * 400, "{bytes} bytes for 1000 entries");
    assert!(!dir.path().join("joblib/small").read_dir().unwrap().any(|c| c
        .unwrap()
        .path()
        .join("output.jbl")
        .exists()));
    let shelved = f.shelve(&5);
    assert!(shelved.path().unwrap().starts_with(dir.path().join("joblib/small/packed-entries")));
    assert_eq!(shelved.get().unwrap(), value(5));
    shelved.clear();
    assert!(!f.is_cached(&5) && f.is_cached(&6));
    assert!(matches!(shelved.get(), Err(joblib::Error::NotCached { .. })));
}

#[test]
fn damaged_packs_never_give_a_wrong_value() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    const TEST: &str = "damaged_packs_never_give_a_wrong_value";
    const KEYS: u64 = 300;
    if role().as_deref() == Some("checker") {
        // A process reading the damaged packs afresh.
        let f = small(&test_dir(), &RUNS);
        let cached = (0..KEYS).filter(|k| f.is_cached(k)).count();
        for k in 0..KEYS {
            assert_eq!(f.call(&k), value(k), "key {k}");
        }
        println!("cached: {cached}");
        return;
    }
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 6] = [
        ("a bit flipped in every 97th byte", |b| b.iter_mut().step_by(97).for_each(|x| *x ^= 0x10)),
        ("cut in the middle", |b| b.truncate(b.len() / 2)),
        ("cut inside the last record", |b| b.truncate(b.len() - 10)),
        ("zeroed in the middle", |b| {
            let mid = b.len() / 2;
            b[mid - 500..mid + 500].fill(0);
        }),
        ("garbage appended", |b| b.extend(b"JBP1\x01\0\0\0garbage that looks like a record header".repeat(3))),
        ("emptied", |b| b.clear()),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let f = small(dir.path(), &RUNS);
        for k in 0..KEYS {
            f.call(&k);
        }
        for pack in packs(dir.path()) {
            let mut bytes = std::fs::read(&pack).unwrap();
            damage(&mut bytes);
            // Written in place, as a damaging disk or a careless user would.
            std::fs::OpenOptions::new().write(true).truncate(true).open(&pack).unwrap().write_all(&bytes).unwrap();
        }
        // This process knew where every record was: it reads them, and sees the damage.
        for k in 0..KEYS {
            assert_eq!(f.call(&k), value(k), "{what}: key {k} in the writing process");
        }
        for k in 0..KEYS {
            assert!(f.is_cached(&k), "{what}: key {k} is stored again");
        }
        // A process reading the packs afresh sees every entry: damaged ones were stored again.
        let output = run_child(TEST, "checker", dir.path());
        assert_eq!(reported(&output, "cached"), KEYS as usize, "{what}");
    }
}

#[test]
fn other_processes_see_stores_and_clears() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    const TEST: &str = "other_processes_see_stores_and_clears";
    let f_of = || small(&test_dir(), &RUNS);
    match role().as_deref() {
        Some("storer") => {
            for k in 100..200 {
                f_of().call(&k);
            }
        }
        Some("clearer") => f_of().clear(),
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let f = small(dir.path(), &RUNS);
            for k in 0..100 {
                f.call(&k);
            }
            // Hit again: held in memory from now on.
            assert_eq!((f.call(&7), f.call(&7)), (value(7), value(7)));
            run_child(TEST, "storer", dir.path());
            let before = RUNS.load(Ordering::SeqCst);
            for k in 100..200 {
                assert!(f.is_cached(&k), "key {k} stored by another process");
                assert_eq!(f.call(&k), value(k));
            }
            assert_eq!(RUNS.load(Ordering::SeqCst), before, "every call was a hit");
            run_child(TEST, "clearer", dir.path());
            assert!((0..200).all(|k| !f.is_cached(&k)), "another process's clear is seen");
            // Also by a hit on an entry held in memory: its pack is gone.
            assert_eq!(f.call(&7), value(7));
            assert_eq!(RUNS.load(Ordering::SeqCst), before + 1, "and the next call computes");
            assert!(f.is_cached(&7));
        }
    }
}

#[test]
fn eviction_of_packed_entries_goes_by_last_use() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    const TEST: &str = "eviction_of_packed_entries_goes_by_last_use";
    match role().as_deref() {
        Some("writer") => {
            let f = small(&test_dir(), &RUNS);
            for k in 0..40 {
                f.call(&k);
            }
        }
        Some("evicter") => {
            // Every hit is recorded (the default records one an hour per entry).
            joblib::Memory::set_access_interval(Duration::ZERO);
            let dir = test_dir();
            let memory = Memory::new(&dir).verbose(0);
            let f = small(&dir, &RUNS);
            std::thread::sleep(Duration::from_millis(20));
            for k in 10..20 {
                assert_eq!(f.call(&k), value(k));
            }
            assert_eq!(RUNS.load(Ordering::SeqCst), 0);
            assert_eq!(memory.reduce_size_to(None, Some(10), None), 30);
            assert!((10..20).all(|k| f.is_cached(&k)), "the recently used stay");
            assert!((0..10).chain(20..40).all(|k| !f.is_cached(&k)), "the others go");
            assert_eq!(memory.reduce_size_to(None, None, Some(Duration::from_secs(3600))), 0, "none is old");
        }
        Some("checker") => {
            let f = small(&test_dir(), &RUNS);
            assert!((10..20).all(|k| f.is_cached(&k)) && (20..40).all(|k| !f.is_cached(&k)));
            let memory = Memory::new(test_dir()).verbose(0);
            assert_eq!(memory.reduce_size_to(Some(0), None, None), 10, "bytes_limit 0 empties it");
            assert!((0..40).all(|k| !f.is_cached(&k)));
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            run_child(TEST, "writer", dir.path());
            let writers_pack = packs(dir.path());
            assert!(!writers_pack.is_empty());
            run_child(TEST, "evicter", dir.path());
            // Its packs that held evicted entries are rewritten without them (those of buckets
            // where nothing was evicted stay as they are).
            assert!(writers_pack.iter().any(|p| !p.exists()), "the gone writer's packs are rewritten");
            run_child(TEST, "checker", dir.path());
            assert!(writers_pack.iter().all(|p| !p.exists()), "all of them, once everything is evicted");
            let left: u64 = packs(dir.path()).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
            assert!(left < 2000, "removals and copies of gone writers are rewritten away: {left} bytes left");
        }
    }
}

#[test]
fn eviction_reclaims_what_writers_killed_while_appending_left() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    const TEST: &str = "eviction_reclaims_what_writers_killed_while_appending_left";
    match role().as_deref() {
        Some("writer") => {
            // Stores until killed, saying which keys are stored.
            let f = small(&test_dir(), &RUNS);
            let mut log = std::fs::File::create(test_dir().join("stored.txt")).unwrap();
            for k in 0.. {
                f.call(&k);
                writeln!(log, "{k}").unwrap();
            }
        }
        Some("checker") => {
            let stored = std::fs::read_to_string(test_dir().join("stored.txt")).unwrap();
            let f = small(&test_dir(), &RUNS);
            let mut count = 0;
            for k in stored.lines().map(|l| l.parse::<u64>().unwrap()) {
                assert!(f.is_cached(&k), "key {k} was stored before the kill");
                count += 1;
            }
            assert_eq!(RUNS.load(Ordering::SeqCst), 0);
            println!("stored: {count}");
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let mut writer =
                child(TEST, "writer", dir.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            let log = dir.path().join("stored.txt");
            let deadline = Instant::now() + Duration::from_secs(60);
            while std::fs::read_to_string(&log).map_or(0, |s| s.lines().count()) < 500 {
                assert!(Instant::now() < deadline && writer.try_wait().unwrap().is_none(), "the writer stores");
                std::thread::sleep(Duration::from_millis(5));
            }
            writer.kill().unwrap(); // SIGKILL, most likely between two appends
            writer.wait().unwrap();
            // And as if killed in the middle of an append: the start of a record (the first
            // 100 bytes of the first one) at the end of every pack.
            let killed = packs(dir.path());
            for pack in &killed {
                let bytes = std::fs::read(pack).unwrap();
                std::fs::OpenOptions::new().append(true).open(pack).unwrap().write_all(&bytes[..100]).unwrap();
            }
            let output = run_child(TEST, "checker", dir.path());
            assert!(reported(&output, "stored") >= 500, "no stored entry is lost");
            assert_eq!(
                Memory::new(dir.path()).verbose(0).reduce_size_to(None, None, None),
                0,
                "no limit: none evicted"
            );
            assert!(killed.iter().all(|p| !p.exists()), "the killed writer's packs are rewritten");
            let output = run_child(TEST, "checker", dir.path());
            assert!(reported(&output, "stored") >= 500, "and nothing they held is lost");
        }
    }
}

#[test]
fn a_repeated_hit_is_answered_from_memory() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let f = small(dir.path(), &RUNS);
    for k in 0..3 {
        f.call(&k);
    }
    assert_eq!((f.call(&1), f.call(&1)), (value(1), value(1)));
    // Every byte of the packs flipped in place: a record read from disk now fails its checks.
    for pack in packs(dir.path()) {
        let bytes: Vec<u8> = std::fs::read(&pack).unwrap().iter().map(|b| !b).collect();
        std::fs::OpenOptions::new().write(true).open(&pack).unwrap().write_all(&bytes).unwrap();
    }
    let before = RUNS.load(Ordering::SeqCst);
    assert_eq!(f.call(&1), value(1));
    assert_eq!(RUNS.load(Ordering::SeqCst), before, "the held record answered, not the pack");
    assert_eq!(f.call(&2), value(2));
    assert_eq!(RUNS.load(Ordering::SeqCst), before + 1, "a record read from the pack is checked");
}

#[test]
fn a_pack_that_cannot_grow_loses_nothing() {
    const TEST: &str = "a_pack_that_cannot_grow_loses_nothing";
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    match role().as_deref() {
        Some("limited") => {
            // Every file of this process is limited to 2 KiB: each pack fills up after a few
            // records, the append that crosses the limit writes part of a record and
            // fails, and the next generation's pack takes the records.
            let f = small(&test_dir(), &RUNS);
            for k in 0..300 {
                assert_eq!(f.call(&k), value(k));
            }
            assert!((0..300).all(|k| f.is_cached(&k)), "every value was stored in the end");
        }
        Some("checker") => {
            let f = small(&test_dir(), &RUNS);
            for k in 0..300 {
                assert_eq!(f.call(&k), value(k), "key {k}");
            }
            assert_eq!(RUNS.load(Ordering::SeqCst), 0, "every entry was found, none damaged");
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let exe = std::env::current_exe().unwrap();
            // SIGXFSZ ignored, so that a write past the limit fails with EFBIG.
            let output = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!(r#"trap '' XFSZ; ulimit -f 2; exec "$0" --exact {TEST} --nocapture"#))
                .arg(&exe)
                .env(children::ROLE, "limited")
                .env(children::DIR, dir.path())
                .output()
                .unwrap();
            children::finished(&output);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.contains("WARNING"), "every store went through, to a new pack: {stderr}");
            let full: Vec<u64> = packs(dir.path()).iter().map(|p| std::fs::metadata(p).unwrap().len()).collect();
            assert!(full.contains(&2048), "some pack reached the limit: {full:?}");
            run_child(TEST, "checker", dir.path());
        }
    }
}

#[test]
fn another_process_clearing_never_makes_a_hit_return_another_keys_value() {
    const TEST: &str = "another_process_clearing_never_makes_a_hit_return_another_keys_value";
    const FOR: Duration = Duration::from_secs(10);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    match role().as_deref() {
        Some("hitter") => {
            // Each key three times in a row: stored, hit, hit (then held in memory), while
            // the clearer removes the packs under it; keys of one bucket follow each other.
            let f = small(&test_dir(), &RUNS);
            let (start, mut wrong, mut calls) = (Instant::now(), 0, 0);
            let mut k = std::process::id() as u64;
            while start.elapsed() < FOR {
                k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let key = (k >> 33) % 40;
                for _ in 0..3 {
                    calls += 1;
                    let got = f.call(&key);
                    if got != value(key) {
                        if wrong < 3 {
                            eprintln!("key {key}: {got:?}");
                        }
                        wrong += 1;
                    }
                }
            }
            println!("calls: {calls} wrong: {wrong}");
            assert_eq!(wrong, 0, "{wrong} wrong values in {calls} calls");
        }
        Some("clearer") => {
            let f = small(&test_dir(), &RUNS);
            let start = Instant::now();
            while start.elapsed() < FOR {
                f.clear();
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let spawn =
                |role: &str| child(TEST, role, dir.path()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
            let children: Vec<_> = ["hitter", "hitter", "hitter", "clearer"].map(|r| spawn(r).unwrap()).into();
            for child in children {
                let output = child.wait_with_output().unwrap();
                children::finished(&output);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(!stderr.contains("cannot clear"), "a clear racing writers finishes: {stderr}");
            }
        }
    }
}

#[test]
fn a_full_disk_gains_no_files_and_eviction_still_frees_space() {
    const TEST: &str = "a_full_disk_gains_no_files_and_eviction_still_frees_space";
    match role().as_deref() {
        Some("full disk") => {
            // The cache folder is a tmpfs of 256 KiB (see below): 4 KiB results fill it.
            let memory = Memory::new(test_dir()).verbose(0);
            let f = memory.cache("big", |k: &u64| vec![*k; 512]);
            for k in 0..200 {
                assert_eq!(f.call(&k), vec![k; 512], "a full disk never changes a value");
            }
            assert!(!f.is_cached(&199), "the disk is full");
            let before = packs(&test_dir());
            for k in 200..300 {
                assert_eq!(f.call(&k), vec![k; 512]);
            }
            assert_eq!(packs(&test_dir()), before, "failed stores leave no new pack files");
            let removed = memory.reduce_size_to(None, Some(10), None);
            assert!(removed > 10, "eviction frees space on a full disk: {removed} removed");
            let left = (0..200).filter(|k| f.is_cached(k)).count();
            assert!(left <= 10, "{left} entries left");
            f.call(&1000);
            assert!(f.is_cached(&1000), "and the freed space takes new results");
            println!("evicted: {removed}");
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            // A small filesystem of its own, in a mount namespace of the child's (as root or
            // through a user namespace).
            let script = format!(
                r#"mount -t tmpfs -o size=256k tmpfs "$JOBLIB_TEST_DIR" && exec "$0" --exact {TEST} --nocapture --test-threads 1"#
            );
            let output = std::process::Command::new("unshare")
                .args(["-rm", "sh", "-c", &script])
                .arg(std::env::current_exe().unwrap())
                .env(children::ROLE, "full disk")
                .env(children::DIR, dir.path())
                .output()
                .expect("unshare (util-linux) runs the child in a mount namespace");
            children::finished(&output);
            assert!(reported(&output, "evicted") > 10);
        }
    }
}

#[test]
fn writers_on_several_hosts_share_one_cache_folder() {
    const TEST: &str = "writers_on_several_hosts_share_one_cache_folder";
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    match role().as_deref() {
        Some("writer") => {
            let from: u64 = std::env::var("JOBLIB_TEST_FROM").unwrap().parse().unwrap();
            let f = small(&test_dir(), &RUNS);
            for k in from..from + 300 {
                assert_eq!(f.call(&k), value(k));
            }
            println!("host: {}", host.trim());
        }
        Some("reader") => {
            let f = small(&test_dir(), &RUNS);
            for k in 0..450 {
                assert!(f.is_cached(&k), "key {k}, stored on another host");
                assert_eq!(f.call(&k), value(k));
            }
            assert_eq!(RUNS.load(Ordering::SeqCst), 0, "every value came from the other hosts' packs");
            let removed = Memory::new(test_dir()).verbose(0).reduce_size_to(None, Some(100), None);
            assert_eq!(removed, 350, "evicted by removal records, from another host");
            assert_eq!((0..450).filter(|k| f.is_cached(k)).count(), 100);
            println!("host: {}", host.trim());
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            // Each child sees its own host name (a UTS namespace of its own).
            let on_host = |role: &str, name: &str, from: u64| {
                let script = format!(r#"hostname {name} && exec "$0" --exact {TEST} --nocapture --test-threads 1"#);
                std::process::Command::new("unshare")
                    .args(["-ru", "sh", "-c", &script])
                    .arg(std::env::current_exe().unwrap())
                    .env(children::ROLE, role)
                    .env(children::DIR, dir.path())
                    .env("JOBLIB_TEST_FROM", from.to_string())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("unshare (util-linux) gives a child a host name of its own")
            };
            let writers = [on_host("writer", "host-a", 0), on_host("writer", "host-b", 150)];
            for (writer, name) in writers.into_iter().zip(["host-a", "host-b"]) {
                let output = writer.wait_with_output().unwrap();
                children::finished(&output);
                assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("host: {name}")));
            }
            let names: Vec<String> =
                packs(dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
            for name in ["@host-a~", "@host-b~"] {
                assert!(names.iter().any(|n| n.contains(name)), "packs named after each host: {names:?}");
            }
            let output = on_host("reader", "host-c", 0).wait_with_output().unwrap();
            children::finished(&output);
            let after: Vec<String> =
                packs(dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
            for name in names {
                assert!(after.contains(&name), "another host's live writer's pack is never removed: {name}");
            }
        }
    }
}

/// The oldest version of `versioned` entries a hit may return, as the changer wrote it last.
fn floor(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("floor")).ok().and_then(|text| text.parse().ok()).unwrap_or(0)
}

#[test]
fn hits_stay_right_while_another_process_stores_clears_and_evicts() {
    const TEST: &str = "hits_stay_right_while_another_process_stores_clears_and_evicts";
    const KEYS: u64 = 64;
    /// What the reader computes itself (a miss): never taken for a stale value.
    const COMPUTED_HERE: u64 = u64::MAX;
    let run_for = Duration::from_secs(6);
    if role().as_deref() == Some("changer") {
        // Stores every key at a version, then makes that version go (a clear of the function,
        // of the whole cache, or an eviction then a clear), then says so in `floor`.
        let dir = test_dir();
        let memory = Memory::new(&dir).verbose(0);
        let deadline = Instant::now() + run_for;
        let mut version: u64 = 1;
        while Instant::now() < deadline {
            let f = memory.cache("versioned", move |k: &u64| (version, *k));
            for k in 0..KEYS {
                f.call(&k);
            }
            match version % 3 {
                0 => memory.clear(),
                1 => f.clear(),
                _ => {
                    memory.reduce_size_to(None, Some(KEYS as usize / 2), None);
                    f.clear();
                }
            }
            version += 1;
            let aside = dir.join("floor.tmp");
            std::fs::write(&aside, version.to_string()).unwrap();
            std::fs::rename(&aside, dir.join("floor")).unwrap();
        }
        println!("versions: {version}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let changer = child(TEST, "changer", dir.path()).stdout(Stdio::piped()).spawn().unwrap();
    let memory = Memory::new(dir.path()).verbose(0);
    let f = memory.cache("versioned", |k: &u64| (COMPUTED_HERE, *k));
    let (mut stored_hits, mut calls) = (0, 0);
    let start = Instant::now();
    while start.elapsed() < run_for {
        for k in 0..KEYS {
            let oldest = floor(dir.path());
            let (version, key) = f.call(&k);
            calls += 1;
            assert_eq!(key, k, "the value of another key");
            if version != COMPUTED_HERE {
                assert!(version >= oldest, "key {k}: version {version} after version {} was cleared", oldest - 1);
                stored_hits += 1;
            }
        }
    }
    let output = changer.wait_with_output().unwrap();
    children::finished(&output);
    let versions = reported(&output, "versions");
    assert!(versions > 10, "the changer went through {versions} versions");
    assert!(stored_hits > 100, "{stored_hits} of {calls} calls were hits on the changer's entries");
    println!("{calls} calls, {stored_hits} hits on the changer's entries, {versions} versions");
}

#[test]
fn forged_generation_counters_change_no_value() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let f = small(dir.path(), &RUNS);
    for k in 0..20 {
        f.call(&k);
    }
    let counters = [dir.path().join("joblib/generation.counter"), dir.path().join("joblib/small/generation.counter")];
    assert!(counters.iter().all(|c| c.is_file()), "both counters exist");
    type Forgery = fn(&Path);
    let forgeries: [(&str, Forgery); 4] = [
        ("garbage", |p| std::fs::write(p, vec![0xA5; 4096]).unwrap()),
        ("too short", |p| std::fs::write(p, [1u8; 7]).unwrap()),
        ("a folder", |p| std::fs::create_dir(p).unwrap()),
        ("removed", |_| {}),
    ];
    for (what, forge) in forgeries {
        for counter in &counters {
            let _ = std::fs::remove_file(counter);
            let _ = std::fs::remove_dir(counter);
            forge(counter);
        }
        // A handle of another store on the same files (through a symlink: another location),
        // as a fresh process has, and this one's.
        let link = dir.path().with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        let fresh = small(&link, &RUNS);
        let before = RUNS.load(Ordering::SeqCst);
        for k in 0..20 {
            assert_eq!(f.call(&k), value(k), "{what}: key {k}");
            assert_eq!(fresh.call(&k), value(k), "{what}: key {k}, fresh");
        }
        assert_eq!(RUNS.load(Ordering::SeqCst), before, "{what}: every call a hit");
        f.clear();
        assert!((0..20).all(|k| !fresh.is_cached(&k)), "{what}: a clear is still seen");
        for k in 0..20 {
            assert_eq!(fresh.call(&k), value(k));
        }
        std::fs::remove_file(&link).unwrap();
    }
}

/// Every index file of a pack under `dir`, with its bytes.
fn pack_indexes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut pending = vec![dir.to_path_buf()];
    let mut found = Vec::new();
    while let Some(folder) = pending.pop() {
        for path in std::fs::read_dir(&folder).into_iter().flatten().flatten().map(|c| c.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().contains(".pack.index") {
                found.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    found
}

#[test]
fn another_process_looks_keys_up_in_the_indexes_of_large_packs() {
    const TEST: &str = "another_process_looks_keys_up_in_the_indexes_of_large_packs";
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    // Enough for packs of more than 64 KiB: indexed.
    const KEYS: u64 = 20_000;
    match role().as_deref() {
        Some("reader") => {
            let f = small(&test_dir(), &RUNS);
            for k in 0..KEYS {
                assert_eq!(f.call(&k), value(k), "key {k}");
            }
            println!("computed: {}", RUNS.load(Ordering::SeqCst));
        }
        Some("evictor") => {
            let removed = Memory::new(test_dir()).verbose(0).reduce_size_to(None, Some(100), None);
            println!("removed: {removed}");
        }
        Some("counter") => {
            let f = small(&test_dir(), &RUNS);
            println!("cached: {}", (0..KEYS).filter(|k| f.is_cached(k)).count());
        }
        Some(other) => panic!("unknown role {other}"),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let f = small(dir.path(), &RUNS);
            for k in 0..KEYS {
                f.call(&k);
            }
            let indexes = pack_indexes(dir.path());
            assert!(indexes.len() >= 16, "every bucket's pack is indexed: {}", indexes.len());
            let reader = || reported(&run_child(TEST, "reader", dir.path()), "computed");
            assert_eq!(reader(), 0, "every key found through the indexes");
            // Damaged indexes (their headers' checks fail) are passed by: the packs are read.
            for (path, bytes) in &indexes {
                let mut damaged = bytes.clone();
                damaged[12] ^= 0xff;
                std::fs::write(path, damaged).unwrap();
            }
            assert_eq!(reader(), 0, "damaged indexes are not used");
            // Forged ones (whole headers, every record's offset moved on by one byte) can only
            // hide records: the reader computes them again and checks every value.
            for (path, bytes) in &indexes {
                let mut forged = bytes.clone();
                for slot in forged[64..].chunks_exact_mut(40) {
                    let offset = u64::from_le_bytes(slot[16..24].try_into().unwrap());
                    slot[16..24].copy_from_slice(&(offset + 1).to_le_bytes());
                }
                std::fs::write(path, forged).unwrap();
            }
            let computed = reader();
            assert!(computed > 0, "the forged indexes were used, and hid records");
            // An eviction reads the packs whole; its removal records are seen by a reader
            // going by the indexes (whole again).
            for (path, bytes) in &indexes {
                std::fs::write(path, bytes).unwrap();
            }
            let removed = reported(&run_child(TEST, "evictor", dir.path()), "removed");
            assert_eq!(removed as u64, KEYS - 100);
            assert_eq!(reported(&run_child(TEST, "counter", dir.path()), "cached"), 100);
            assert_eq!((0..KEYS).filter(|k| f.is_cached(k)).count(), 100, "and by the writer");
        }
    }
}
