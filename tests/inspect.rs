//! The cache in sight: listing by function with hits counted in every process, dry runs of
//! eviction, removal of chosen entries, verification and repair, and what is never touched
//! (Python joblib's entries in the same location, folders reached through symbolic links).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use joblib::{Array, Memory};

#[path = "common/children.rs"]
mod children;
mod common;
use children::{role, run_child, test_dir};

fn memory(dir: &Path) -> Memory {
    Memory::new(dir).verbose(0)
}

/// A value too large to be packed: an entry folder of its own.
fn large(x: &u64) -> Array<u64> {
    Array::from(vec![*x; 5000])
}

/// Flips one byte of `path`, `from_end` bytes before its end.
fn flip(path: &Path, from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() - from_end;
    bytes[at] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

fn packs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for child in std::fs::read_dir(&dir).unwrap().map(|c| c.unwrap().path()) {
            if child.is_dir() {
                pending.push(child);
            } else if child.extension().is_some_and(|e| e == "pack") {
                found.push(child);
            }
        }
    }
    found
}

#[test]
fn functions_sum_their_entries_up_with_the_hits_of_every_process() {
    if role().as_deref() == Some("hitter") {
        let memory = memory(&test_dir());
        let square = memory.cache("square", |x: &u64| x * x);
        for x in [1, 2, 1] {
            assert_eq!(square.call(&x), x * x);
        }
        assert_eq!(square.stats().hits, 3, "stored by the parent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let square = memory.cache("square", |x: &u64| {
        std::thread::sleep(Duration::from_millis(20));
        x * x
    });
    square.call(&1);
    square.call(&2);
    memory.cache("big", large).call(&7);
    run_child("functions_sum_their_entries_up_with_the_hits_of_every_process", "hitter", dir.path());
    square.call(&2);
    let functions = memory.functions();
    let names: Vec<&str> = functions.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["big", "square"]);
    let square = &functions[1];
    assert_eq!((square.entries, square.hits), (2, 4), "three hits in the child, one here: {square:?}");
    assert!(square.time_saved >= Duration::from_millis(80), "four hits of 20 ms each: {square:?}");
    assert!(square.bytes > 0 && square.last_access.is_some() && square.stale_entries == 0);
    assert_eq!((functions[0].entries, functions[0].hits), (1, 0));
    assert!(functions[0].bytes > 40_000, "{:?}", functions[0]);
    let listed: u64 = memory.entries().iter().map(|e| e.bytes).sum();
    assert_eq!(listed, functions.iter().map(|f| f.bytes).sum::<u64>());
}

#[test]
fn a_dry_run_names_what_eviction_removes() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    Memory::set_access_interval(Duration::ZERO);
    let f = memory.cache("f", |x: &u64| *x);
    for x in 0..6 {
        f.call(&x);
        std::thread::sleep(Duration::from_millis(5));
    }
    let big = memory.cache("big", large);
    big.call(&1);
    f.call(&0); // used again: the last to go
    let plan = memory.eviction_plan(None, Some(3), None);
    assert_eq!(plan.len(), 4);
    assert!(plan.windows(2).all(|w| w[0].last_access <= w[1].last_access), "least recently used first");
    assert_eq!(memory.entries().len(), 7, "a dry run removes nothing");
    // Keys are a function's: `f(1)` and `big(1)` share one.
    let id = |e: &joblib::CacheEntry| (e.function.clone(), e.key);
    let named = |ids: &[(String, u128)]| {
        let all = memory.entries();
        let mut names: Vec<String> =
            ids.iter().map(|i| all.iter().find(|e| id(e) == *i).unwrap().arguments.clone()).collect();
        names.sort();
        names
    };
    let planned: Vec<_> = plan.iter().map(id).collect();
    assert_eq!(named(&planned), ["f(1)", "f(2)", "f(3)", "f(4)"].map(String::from));
    assert_eq!(memory.reduce_size_to(None, Some(3), None), 4);
    let left: Vec<_> = memory.entries().iter().map(id).collect();
    assert_eq!(named(&left), ["big(1)", "f(0)", "f(5)"].map(String::from), "what was planned went");
    assert!(memory.eviction_plan(None, Some(3), None).is_empty());
    assert!(Memory::disabled().eviction_plan(Some(0), None, None).is_empty());
}

#[test]
fn chosen_entries_are_removed_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let f = memory.cache("f", |x: &u64| *x);
    let big = memory.cache("big", large);
    for x in 0..4 {
        f.call(&x);
        big.call(&x);
    }
    let chosen: Vec<_> = memory.entries().into_iter().filter(|e| e.arguments.ends_with("(1)")).collect();
    assert_eq!(chosen.len(), 2, "{chosen:?}");
    let bytes: u64 = chosen.iter().map(|e| e.bytes).sum();
    let removed = memory.remove_entries(&chosen);
    assert_eq!((removed.entries, removed.bytes, removed.failures.len()), (2, bytes, 0));
    assert!(!f.is_cached(&1) && !big.is_cached(&1));
    assert!(f.is_cached(&0) && big.is_cached(&2) && f.is_cached(&3));
    assert_eq!(memory.entries().len(), 6);
    let again = memory.remove_entries(&chosen);
    assert_eq!((again.entries, again.failures.len()), (2, 0), "already gone counts as removed");
    // The removed packed entry's record is rewritten away: its bytes are freed on disk.
    let on_disk: u64 = packs(dir.path()).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    let listed: u64 = memory.entries().iter().filter(|e| e.packed).map(|e| e.bytes).sum();
    assert_eq!(on_disk, listed, "the packs hold the entries listed, no more");
}

#[test]
fn verification_finds_damage_in_folders_and_packs_and_repair_removes_it_only() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let f = memory.cache("f", |x: &u64| *x);
    let big = memory.cache("big", large);
    for x in 0..3 {
        f.call(&x);
        big.call(&x);
    }
    let clean = memory.verify();
    let total = clean.total_bytes();
    let checked: Vec<_> = clean.collect();
    assert_eq!(checked.iter().map(|c| c.bytes).sum::<u64>(), total);
    assert!(checked.iter().all(|c| c.damage.is_empty()), "{checked:?}");

    let entries = memory.entries();
    let damaged_big = entries.iter().find(|e| !e.packed && e.arguments == "big(1)").unwrap();
    let output = damaged_big.function_dir.join(format!("{:032x}", damaged_big.key)).join("output.jbl");
    flip(&output, 100);
    let pack = packs(dir.path()).into_iter().next().unwrap();
    flip(&pack, 20);
    let damage: Vec<_> = memory.verify().flat_map(|c| c.damage).collect();
    assert_eq!(damage.len(), 2, "{damage:?}");
    let in_folder = damage.iter().find(|d| d.path == output).expect("the output's damage");
    assert_eq!((in_folder.function.as_str(), in_folder.key), ("big", Some(damaged_big.key)));
    assert!(in_folder.problem.contains("checksum"), "{}", in_folder.problem);
    let in_pack = damage.iter().find(|d| d.path == pack).expect("the pack's damage");
    assert!(in_pack.key.is_some() && in_pack.bytes > 0, "{in_pack:?}");
    for damage in &damage {
        memory.repair(damage).unwrap();
    }
    assert!(memory.verify().all(|c| c.damage.is_empty()), "repaired");
    assert!(!output.exists());
    assert!(big.is_cached(&0) && big.is_cached(&2), "the other entries stay");
    let packed_left = memory.entries().iter().filter(|e| e.packed).count();
    assert_eq!(packed_left, 2, "the damaged record's entry is gone, the others stay");
}

#[test]
fn forged_files_are_reported_as_damage_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let big = memory.cache("big", large);
    for x in 0..5 {
        big.call(&x);
    }
    memory.cache("f", |x: &u64| *x).call(&1);
    let mut outputs: Vec<PathBuf> = memory
        .entries()
        .into_iter()
        .filter(|e| !e.packed)
        .map(|e| e.function_dir.join(format!("{:032x}", e.key)).join("output.jbl"))
        .collect();
    outputs.sort();
    std::fs::write(&outputs[0], b"").unwrap();
    std::fs::write(&outputs[1], vec![0xAB; 70_000]).unwrap();
    let mut header = std::fs::read(&outputs[2]).unwrap();
    header[32..40].copy_from_slice(&u64::MAX.to_le_bytes()); // an index "longer than the file"
    std::fs::write(&outputs[2], header).unwrap();
    std::fs::write(outputs[3].with_file_name("metadata.json"), b"{not json").unwrap();
    let pack = packs(dir.path()).pop().unwrap();
    std::fs::write(&pack, vec![0x4A; 300]).unwrap();
    let damage: Vec<_> = memory.verify().flat_map(|c| c.damage).collect();
    let paths: Vec<&Path> = damage.iter().map(|d| d.path.as_path()).collect();
    for path in [&outputs[0], &outputs[1], &outputs[2], &outputs[3].with_file_name("metadata.json"), &pack] {
        assert!(paths.contains(&path.as_path()), "{path:?} in {damage:#?}");
    }
    assert_eq!(damage.len(), 5, "{damage:#?}");
    for damage in &damage {
        memory.repair(damage).unwrap();
    }
    assert!(memory.verify().all(|c| c.damage.is_empty()));
    assert_eq!(big.call(&4), large(&4), "the entry left whole is still a hit");
}

#[test]
fn verification_leaves_last_accesses_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    memory.cache("big", large).call(&1);
    let entry = memory.entries().pop().unwrap();
    let output = entry.function_dir.join(format!("{:032x}", entry.key)).join("output.jbl");
    let long_ago = SystemTime::now() - Duration::from_secs(3 * 86_400);
    for file in ["output.jbl", "metadata.json"] {
        let file = std::fs::File::options().write(true).open(output.with_file_name(file)).unwrap();
        file.set_times(std::fs::FileTimes::new().set_accessed(long_ago).set_modified(long_ago)).unwrap();
    }
    let before = memory.entries().pop().unwrap().last_access;
    assert!(memory.verify().all(|c| c.damage.is_empty()));
    assert_eq!(memory.entries().pop().unwrap().last_access, before, "a check is no use");
}

#[test]
fn python_joblib_entries_in_the_same_location_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Python joblib's layout: <location>/joblib/<module>/<function>/<32 hex digits>/.
    let python = dir.path().join("joblib/__main__--tmp-run/fit/0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(&python).unwrap();
    let long_ago = SystemTime::now() - Duration::from_secs(30 * 86_400);
    for name in ["output.pkl", "metadata.json"] {
        std::fs::write(python.join(name), b"{}").unwrap();
        std::fs::File::options().write(true).open(python.join(name)).unwrap().set_modified(long_ago).unwrap();
    }
    let memory = memory(dir.path());
    memory.cache("f", |x: &u64| *x).call(&1);
    assert_eq!(memory.entries().len(), 1, "only ours are listed");
    assert!(memory.verify().all(|c| c.damage.is_empty()));
    assert_eq!(memory.reduce_size_to(Some(0), None, None), 1);
    assert!(python.join("output.pkl").exists(), "Python's entry is not a leftover of ours");
}

#[test]
fn what_symbolic_links_reach_is_never_listed_nor_removed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let precious = tempfile::tempdir().unwrap();
    // Another cache's function folder, and a folder named like an entry, reached by links.
    let other = memory(elsewhere.path());
    other.cache("f", |x: &u64| *x).call(&1);
    other.cache("big", large).call(&1);
    let keyed = precious.path().join("0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(&keyed).unwrap();
    std::fs::write(keyed.join("output.jbl"), b"precious").unwrap();

    let memory = memory(dir.path());
    memory.cache("f", |x: &u64| *x).call(&2);
    let ours = dir.path().join("joblib");
    std::os::unix::fs::symlink(elsewhere.path().join("joblib/big"), ours.join("linked")).unwrap();
    std::os::unix::fs::symlink(&keyed, ours.join("f/fedcba9876543210fedcba9876543210")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("joblib/f/packed-entries"), ours.join("g")).unwrap();
    assert_eq!(memory.entries().len(), 1);
    assert_eq!(memory.verify().count(), 1);
    assert!(!memory.clear_function("linked").unwrap(), "a link is no function folder");
    assert!(!memory.clear_function("../../etc").unwrap() && !memory.clear_function("").unwrap());
    memory.reduce_size_to(Some(0), None, None);
    assert!(memory.clear_function("f").unwrap());
    memory.clear();
    assert_eq!(std::fs::read(keyed.join("output.jbl")).unwrap(), b"precious");
    assert_eq!(other.entries().len(), 2, "the other cache is whole");
}
