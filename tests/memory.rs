//! `Memory`: damaged entries, unwritable folders, eviction, clearing.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use joblib::{Array, Memory, MmapMode};

fn memory(dir: &Path) -> Memory {
    Memory::new(dir).verbose(0)
}

/// The one entry folder of function `name` under `dir`.
fn entry_dirs(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("joblib").join(name))
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn a_corrupted_entry_is_recomputed_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Cell::new(0);
    let memory = memory(dir.path());
    // Larger than a packed entry: in a folder of its own.
    let f = memory.cache("f", |x: &u64| {
        runs.set(runs.get() + 1);
        Array::from(vec![*x; 5000])
    });
    assert_eq!(f.call(&3)[4999], 3);
    let output = entry_dirs(dir.path(), "f")[0].join("output.jbl");

    for damage in [
        Box::new(|b: &mut Vec<u8>| b.truncate(b.len() / 2)) as Box<dyn Fn(&mut Vec<u8>)>,
        Box::new(|b: &mut Vec<u8>| b[200] ^= 1),
        Box::new(|b: &mut Vec<u8>| b.clear()),
        Box::new(|b: &mut Vec<u8>| b[0] = b'P'),
    ] {
        let mut bytes = std::fs::read(&output).unwrap();
        damage(&mut bytes);
        // Later than the last check by more than a coarse timestamp tick (some kernels keep
        // file times to a few milliseconds).
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&output, bytes).unwrap();
        let before = runs.get();
        assert_eq!(f.call(&3), Array::from(vec![3u64; 5000]), "never a wrong value");
        assert_eq!(runs.get(), before + 1, "recomputed");
        assert_eq!(f.call(&3)[0], 3);
        assert_eq!(runs.get(), before + 1, "and replaced: the next call is a hit");
    }
}

#[test]
fn an_entry_of_another_type_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    memory.cache("shared", |x: &u32| format!("text {x}")).call(&1);
    let runs = Cell::new(0);
    let numbers = memory.cache("shared", |x: &u32| {
        runs.set(runs.get() + 1);
        vec![*x as f64]
    });
    assert_eq!(numbers.call(&1), vec![1.0], "not the string stored under the same key");
    assert_eq!(runs.get(), 1);
    assert_eq!(numbers.call(&1), vec![1.0]);
    assert_eq!(runs.get(), 1);
}

#[test]
fn an_unwritable_folder_still_returns_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = dir.path().join("a-file-not-a-folder");
    std::fs::write(&blocked, b"").unwrap();
    let memory = memory(&blocked);
    let runs = Cell::new(0);
    let f = memory.cache("f", |x: &i32| {
        runs.set(runs.get() + 1);
        x * 10
    });
    assert_eq!(f.call(&4), 40);
    assert_eq!(f.call(&4), 40);
    assert_eq!(runs.get(), 2, "nothing could be cached, everything was computed");
    assert!(!f.is_cached(&4));
    let shelved = f.shelve(&5);
    assert_eq!(shelved.get().unwrap(), 50, "the handle holds what the cache could not");
    assert!(shelved.path().is_none());
}

#[test]
fn clear_removes_only_what_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let f = memory.cache("f", |x: &u8| *x);
    let g = memory.cache("g", |x: &u8| *x + 1);
    f.call(&1);
    f.call(&2);
    g.call(&1);
    f.clear();
    assert!(!f.is_cached(&1) && !f.is_cached(&2));
    assert!(g.is_cached(&1), "another function's entries stay");
    let shelved = g.shelve(&2);
    g.call(&3);
    shelved.clear();
    assert!(!g.is_cached(&2) && g.is_cached(&1) && g.is_cached(&3), "only the shelved entry goes");
    memory.clear();
    assert!(!g.is_cached(&1));
    assert!(dir.path().exists(), "the location itself stays");
}

#[test]
fn reduce_size_evicts_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let f = memory.cache("f", |x: &u32| Array::from(vec![*x; 10_000]));
    for x in 0..4 {
        f.call(&x);
    }
    // Accesses are recorded with a resolution of a second.
    std::thread::sleep(Duration::from_millis(1100));
    f.call(&0);
    f.call(&2);
    assert_eq!(memory.reduce_size_to(None, Some(2), None), 2);
    assert!(f.is_cached(&0) && f.is_cached(&2), "recently used entries stay");
    assert!(!f.is_cached(&1) && !f.is_cached(&3), "the least recently used go");

    // Entries differ by a few bytes (their metadata holds timings): the larger one fits alone.
    let one_entry = entry_dirs(dir.path(), "f")
        .iter()
        .map(|entry| std::fs::read_dir(entry).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum::<u64>())
        .max()
        .unwrap();
    assert_eq!(memory.clone().bytes_limit(one_entry).reduce_size(), 1, "bytes_limit keeps what fits");
    assert_eq!(memory.reduce_size_to(None, None, Some(Duration::from_secs(3600))), 0, "nothing is an hour old");
    assert_eq!(memory.reduce_size_to(Some(0), None, None), 1);
    assert_eq!(memory.reduce_size(), 0, "no bytes_limit: nothing to do");
}

#[test]
fn mapped_results_are_backed_by_the_cache_file() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path()).mmap_mode(MmapMode::ReadOnly);
    let f = memory.cache("big", |n: &usize| Array::from(vec![1.5f64; *n]));
    let computed = f.call(&1_000_000);
    let mapped = f.call(&1_000_000);
    assert!(!computed.is_mapped());
    assert!(mapped.is_mapped());
    let output = entry_dirs(dir.path(), "big")[0].join("output.jbl");
    let file_len = std::fs::metadata(&output).unwrap().len();
    assert!(file_len >= 8_000_000);
    // The array's bytes are inside the mapping of the file: the process did not copy them.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let address = mapped.as_ptr() as usize;
    let mapping = maps
        .lines()
        .find(|line| {
            let range = line.split_whitespace().next().unwrap();
            let (start, end) = range.split_once('-').unwrap();
            let (start, end) = (usize::from_str_radix(start, 16).unwrap(), usize::from_str_radix(end, 16).unwrap());
            (start..end).contains(&address)
        })
        .unwrap();
    assert!(mapping.ends_with(output.to_str().unwrap()), "{mapping}");
}

#[test]
fn metadata_is_written_beside_each_entry() {
    let dir = tempfile::tempdir().unwrap();
    // Larger than a packed entry: in a folder of its own, with its metadata.
    let f = memory(dir.path()).cache("lengths", |words: &Vec<String>| vec![words.len() as u64; 4000]);
    f.call(&vec!["a".to_string(), "bc".to_string()]);
    let entry = &entry_dirs(dir.path(), "lengths")[0];
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(entry.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(metadata["function"], "lengths");
    assert_eq!(metadata["arguments"], r#"lengths(["a","bc"])"#);
    assert_eq!(metadata["key"].as_str().unwrap(), entry.file_name().unwrap().to_str().unwrap());
    assert!(metadata["created"].as_f64().unwrap() > 1.7e9);
    assert!(metadata["last_access"].as_f64().unwrap() >= metadata["created"].as_f64().unwrap());
    assert!(metadata["output_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn the_default_store_follows_the_environment() {
    // Read only: another test may run in parallel, so the variable is not changed here.
    let memory = Memory::from_env();
    match std::env::var_os(joblib::CACHE_DIR_VAR) {
        Some(dir) if !dir.is_empty() => assert_eq!(memory.location(), Some(Path::new(&dir))),
        _ => assert_eq!(memory.location(), Some(Path::new(joblib::DEFAULT_CACHE_DIR))),
    }
}

#[test]
fn different_names_never_share_entries() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let pairs: [(&str, &str); 5] =
        [("α", "β"), ("error rate", "error_rate"), ("Model", "model"), ("a b", "a-b"), ("sim", "sim ")];
    for (i, (first, second)) in pairs.into_iter().enumerate() {
        let offset = 1000 * (i as u64 + 1);
        let f = memory.cache(first, |x: &u64| x + 1);
        let g = memory.cache(second, move |x: &u64| x + offset);
        assert_eq!(f.call(&1), 2, "{first:?}");
        assert_eq!(g.call(&1), 1 + offset, "{second:?} is not {first:?}");
        assert_eq!(f.call(&1), 2, "{first:?} after {second:?}");
        f.clear();
        assert!(g.is_cached(&1), "clearing {first:?} leaves {second:?}");
    }
}

#[test]
fn clearing_a_function_leaves_the_functions_nested_under_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let outer = memory.cache("sim", |x: &u64| x + 1);
    let inner = memory.cache("sim::run", |x: &u64| x + 2);
    assert_eq!((outer.call(&1), inner.call(&1)), (2, 3));
    outer.clear();
    assert!(!outer.is_cached(&1));
    assert!(inner.is_cached(&1), "sim::run keeps its entries");
}

#[test]
fn a_damaged_array_is_never_returned_by_a_mapped_hit() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Cell::new(0);
    let memory = memory(dir.path()).mmap_mode(MmapMode::ReadOnly);
    let f = memory.cache("mapped", |x: &f64| {
        runs.set(runs.get() + 1);
        Array::from(vec![*x; 1000])
    });
    assert_eq!(f.call(&5.0)[0], 5.0);
    let hit = f.call(&5.0);
    assert!(hit.is_mapped());
    assert_eq!((hit[999], runs.get()), (5.0, 1), "a verified hit");
    drop(hit);
    let output = entry_dirs(dir.path(), "mapped")[0].join("output.jbl");
    // One bit of the first element (at byte 64, the start of the body), written in place.
    let mut bytes = std::fs::read(&output).unwrap();
    bytes[64 + 7] ^= 0x40;
    std::thread::sleep(Duration::from_millis(20)); // past a coarse timestamp tick
    std::fs::write(&output, &bytes).unwrap();
    let again = f.call(&5.0);
    assert_eq!(again, Array::from(vec![5.0; 1000]), "never the damaged value");
    assert_eq!(runs.get(), 2, "recomputed");
    assert_eq!(f.call(&5.0)[0], 5.0);
    assert_eq!(runs.get(), 2, "the replaced entry is a hit again");
    // The shelved handle reads through the same check.
    let shelved = f.shelve(&5.0);
    let mut bytes = std::fs::read(&output).unwrap();
    bytes[64 + 3] ^= 1;
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&output, &bytes).unwrap();
    assert!(matches!(shelved.get(), Err(joblib::Error::Corrupt { .. })));
}

/// Every file under `dir`: its path, length, modification time, and content if small.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for child in std::fs::read_dir(&folder).unwrap() {
            let child = child.unwrap();
            let meta = child.metadata().unwrap();
            if meta.is_dir() {
                pending.push(child.path());
            } else {
                let content = if meta.len() < 4096 { std::fs::read(child.path()).unwrap() } else { Vec::new() };
                files.push((child.path(), meta.len(), meta.modified().unwrap(), content));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_hit_writes_nothing() {
    for mmap_mode in [None, Some(MmapMode::ReadOnly)] {
        let dir = tempfile::tempdir().unwrap();
        let memory = match mmap_mode {
            Some(mode) => memory(dir.path()).mmap_mode(mode),
            None => memory(dir.path()),
        };
        let runs = Cell::new(0);
        let f = memory.cache("f", |x: &u64| {
            runs.set(runs.get() + 1);
            Array::from(vec![*x; 100])
        });
        for x in 0..20 {
            f.call(&x);
        }
        // Entries last used a day ago, as on any rerun of a sweep.
        let day_ago = std::time::SystemTime::now() - Duration::from_secs(86_400);
        for (path, ..) in snapshot(dir.path()) {
            let file = std::fs::File::options().write(true).open(path).unwrap();
            file.set_times(std::fs::FileTimes::new().set_accessed(day_ago).set_modified(day_ago)).unwrap();
        }
        let before = snapshot(dir.path());
        for x in 0..20 {
            assert_eq!(f.call(&x)[99], x);
        }
        assert_eq!(runs.get(), 20, "{mmap_mode:?}: every call after the first round is a hit");
        assert!(snapshot(dir.path()) == before, "{mmap_mode:?}: hits changed no file, wrote no new one");
    }
}

#[test]
fn repeated_hits_come_from_memory_until_the_entry_changes() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Cell::new(0);
    let memory = memory(dir.path()).mmap_mode(MmapMode::ReadOnly);
    let f = memory.cache("held", |x: &u64| {
        runs.set(runs.get() + 1);
        Array::from(vec![*x; 1 << 16])
    });
    f.call(&1);
    let (a, b) = (f.call(&1), f.call(&1));
    assert!(a.is_mapped() && b.is_mapped());
    assert_eq!(a.as_ptr(), b.as_ptr(), "a repeated mapped hit is not mapped again");
    assert_eq!(runs.get(), 1);
    // Another process clears the cache: the entry's file is gone, so this one computes again.
    std::fs::remove_dir_all(dir.path().join("joblib")).unwrap();
    assert_eq!(f.call(&1)[0], 1);
    assert_eq!(runs.get(), 2, "a held entry whose file is gone is not answered from memory");
    // This process clears it: gone from memory too.
    f.call(&1);
    f.clear();
    f.call(&1);
    assert_eq!(runs.get(), 3);
    // Plain (unmapped) small entries too.
    let plain = self::memory(dir.path()).cache("held-plain", |x: &u64| {
        runs.set(runs.get() + 1);
        x * 2
    });
    assert_eq!((plain.call(&5), plain.call(&5), plain.call(&5)), (10, 10, 10));
    assert_eq!(runs.get(), 4);
    plain.clear();
    assert_eq!(plain.call(&5), 10);
    assert_eq!(runs.get(), 5);
}

#[test]
fn a_large_entry_read_without_mapping_is_checked_and_owned() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Cell::new(0);
    // Larger than what is held in memory: read through a mapping, its arrays copied out.
    let f = memory(dir.path()).cache("large", |x: &u64| {
        runs.set(runs.get() + 1);
        (vec![*x as f64; 300_000], Array::from(vec![*x; 300_000]))
    });
    f.call(&4);
    let (numbers, array) = f.call(&4);
    assert_eq!(runs.get(), 1);
    assert!(!array.is_mapped(), "without mmap_mode, arrays are the caller's own");
    assert!(numbers.iter().all(|&v| v == 4.0) && array.iter().all(|&v| v == 4));
    let output = entry_dirs(dir.path(), "large")[0].join("output.jbl");
    let mut bytes = std::fs::read(&output).unwrap();
    bytes[64 + 1000] ^= 0x04; // in the array, stored first
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&output, bytes).unwrap();
    let (_, again) = f.call(&4);
    assert!(again.iter().all(|&v| v == 4), "never a wrong value");
    assert_eq!(runs.get(), 2, "the damaged array was seen, and the value recomputed");
    // A number of the payload (checked while it is decoded, for a file this large).
    let output = entry_dirs(dir.path(), "large")[0].join("output.jbl");
    let mut bytes = std::fs::read(&output).unwrap();
    let near_end = bytes.len() - 1000;
    bytes[near_end] ^= 0x01;
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&output, bytes).unwrap();
    let (numbers, _) = f.call(&4);
    assert!(numbers.iter().all(|&v| v == 4.0), "never a wrong value");
    assert_eq!(runs.get(), 3, "the damaged payload was seen, and the value recomputed");
}

#[test]
fn a_name_longer_than_a_file_name_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let name = "long_name_".repeat(30);
    let f = memory(dir.path()).cache(&name, |x: &u64| {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        x + 1
    });
    assert_eq!((f.call(&1), f.call(&1)), (2, 2));
    assert!(f.is_cached(&1));
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1, "the second call is a hit");
}

#[test]
fn expired_entries_are_computed_again_packed_in_folders_and_held() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Cell::new(0);
    let memory = memory(dir.path()).expires_after(Duration::from_millis(400));
    let small = memory.cache("small", |x: &u64| {
        runs.set(runs.get() + 1);
        *x
    });
    let large = memory.cache("large", |x: &u64| {
        runs.set(runs.get() + 1);
        vec![*x; 5000]
    });
    for _ in 0..3 {
        assert_eq!((small.call(&1), large.call(&1).len()), (1, 5000));
    }
    assert_eq!(runs.get(), 2, "hits (the last ones from memory)");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((small.call(&1), large.call(&1).len()), (1, 5000));
    assert_eq!(runs.get(), 4, "expired: computed again");
    assert_eq!((small.call(&1), large.call(&1).len()), (1, 5000));
    assert_eq!(runs.get(), 4, "stored again: hits");
    // Entries not used for longer than that are evicted by `reduce_size`.
    small.call(&2);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(memory.reduce_size() >= 1, "the unused entries go");
    assert!(!small.is_cached(&2));
}

#[test]
fn stats_count_hits_misses_and_the_computation_saved() {
    let dir = tempfile::tempdir().unwrap();
    let memory = memory(dir.path());
    let slow = memory.cache("slow", |x: &u64| {
        std::thread::sleep(Duration::from_millis(30));
        x + 1
    });
    for x in [1, 2, 1, 1, 3, 2] {
        slow.call(&x);
    }
    let stats = slow.stats();
    assert_eq!((stats.hits, stats.misses), (3, 3), "{stats}");
    assert!(stats.time_saved >= Duration::from_millis(90), "three hits of 30 ms each: {stats}");
    assert!(stats.bytes_written > 0 && stats.bytes_read > 0);
    // The memory counts every function of its location, and other handles of it.
    let other = self::memory(dir.path()).cache("other", |x: &u64| *x);
    other.call(&1);
    let total = memory.stats();
    assert_eq!((total.hits, total.misses), (3, 4), "{total}");
    assert!(total.to_string().starts_with("3 hits, 4 misses (43% hits), "), "{total}");
    // A function dropped still counts for its memory.
    drop(other);
    assert_eq!(memory.stats().misses, 4);
    assert_eq!(joblib::Memory::disabled().stats(), joblib::CacheStats::default());
}

#[test]
fn a_limit_that_holds_by_itself_spares_a_running_loop() {
    let dir = tempfile::tempdir().unwrap();
    // Entries of 8 kB (packed) and 80 kB (in folders), under 200 kB.
    let memory = memory(dir.path()).bytes_limit(200_000).auto_reduce(true);
    let small = memory.cache("small", |x: &u64| vec![*x; 1000]);
    let large = memory.cache("large", |x: &u64| vec![*x; 10_000]);
    for x in 0..60 {
        small.call(&x);
        large.call(&x);
    }
    let kept = |f: &dyn Fn(&u64) -> bool| (0..60).filter(|x| f(x)).count();
    let (packed, folders) = (kept(&|x| small.is_cached(x)), kept(&|x| large.is_cached(x)));
    assert!(packed * 8_000 + folders * 80_000 <= 200_000, "{packed} small and {folders} large kept");
    assert!(large.is_cached(&59) && small.is_cached(&59), "the last stored stay");
    assert!(!large.is_cached(&0) && !small.is_cached(&0), "the first stored go");
    // A loop running in this process loses none of what it stores, even past the limit.
    let results = joblib::Parallel::new()
        .n_jobs(2)
        .map(100..130u64, |x| {
            large.call(&x);
            x
        })
        .unwrap();
    assert_eq!(results.len(), 30);
    assert_eq!(kept(&|x| large.is_cached(&(x + 100)) && *x < 30), 30, "every entry of the loop stays");
    // Once it ended, they are entries like any other.
    for x in 200..203 {
        large.call(&x);
    }
    assert!(kept(&|x| large.is_cached(&(x + 100)) && *x < 30) < 30, "evicted after the loop");
}

/// Copies the folder `from` into `to`, recursively.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for child in std::fs::read_dir(from).unwrap() {
        let child = child.unwrap();
        let target = to.join(child.file_name());
        if child.file_type().unwrap().is_dir() {
            copy_tree(&child.path(), &target);
        } else {
            std::fs::copy(child.path(), target).unwrap();
        }
    }
}

#[test]
fn a_cache_written_before_the_store_is_read_as_it_is() {
    // Written by the joblib of 2026-12-06 (commit 802bd94): 20 small entries in packs of whole
    // files, two large ones in folders, no generation counters.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cache-before-the-store"), dir.path());
    let runs = Cell::new(0);
    let memory = memory(dir.path());
    let small = memory.cache("old_small", |x: &u64| {
        runs.set(runs.get() + 1);
        (x * 3, format!("value of {x}"))
    });
    let large = memory.cache("old_large", |x: &u64| {
        runs.set(runs.get() + 1);
        vec![*x; 3000]
    });
    for round in 0..2 {
        for x in 0..20 {
            assert_eq!(small.call(&x), (x * 3, format!("value of {x}")), "round {round}");
        }
        for x in 0..2 {
            assert_eq!(large.call(&x), vec![x; 3000]);
        }
    }
    assert_eq!(runs.get(), 0, "every entry read");
    // New entries go beside the old ones, and eviction and clearing take both.
    small.call(&20);
    assert_eq!((runs.get(), small.call(&20)), (1, (60, "value of 20".to_string())));
    assert_eq!(memory.reduce_size_to(None, Some(15), None), 8);
    assert_eq!((0..21).filter(|x| small.is_cached(x)).count() + (0..2).filter(|x| large.is_cached(x)).count(), 15);
    memory.clear();
    assert!((0..21).all(|x| !small.is_cached(&x)) && !large.is_cached(&0));
}
