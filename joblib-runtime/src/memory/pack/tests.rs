//! Packs written by hand (other writers, forged times, duplicates) and what this process
//! makes of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::bucket::{now_seconds, Bucket};
use super::record::{Body, Record};
use super::*;

/// A pack of a writer of this host that is gone (no process 1 started at tick 1), holding
/// `records`.
fn gone_writers_pack(bucket: &Path, records: &[Record]) -> PathBuf {
    std::fs::create_dir_all(bucket).unwrap();
    let host = crate::persist::writer_tag().split_once('@').unwrap().1.to_string();
    let path = bucket.join(format!("pack~1.1@{host}~0-0{PACK_SUFFIX}"));
    let bytes: Vec<u8> = records.iter().flat_map(|r| r.encode()).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The folder of the bucket of `key` in a function's folder.
fn bucket_dir(function: &Path, key: u128) -> PathBuf {
    function.join(PACKS_DIR).join(format!("{:x}", key >> 124))
}

fn entry(key: u128, time: f64, file: &[u8]) -> Record<'_> {
    Record { key, time, body: Body::Entry { duration: 0.0, version: None, arguments: "f()", file } }
}

#[test]
fn duplicates_removals_and_uses_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let bucket_dir = dir.path().join("0");
    let now = now_seconds();
    let pack = gone_writers_pack(
        &bucket_dir,
        &[entry(1, now - 100.0, b"first"), entry(1, now - 50.0, b"second"), entry(2, now - 10.0, b"two")],
    );
    let mut bucket = Bucket::open(bucket_dir.clone());
    assert_eq!(bucket.locations(1).len(), 2, "both records of key 1");
    assert_eq!(bucket.entries[&1].at.offset, entry(1, 0.0, b"first").encode().len() as u64, "the later is used");
    // Removing the later one brings back the earlier.
    let name_hash = bucket.packs[0].name_hash;
    let later = bucket.entries[&1].at.offset;
    let removal = Record { key: 1, time: now, body: Body::Removal { pack: name_hash, offset: later } }.encode();
    let access = Record { key: 2, time: now + 5.0, body: Body::Access }.encode();
    bucket.append(&[removal, access].concat()).unwrap();
    assert_eq!(bucket.locations(1).len(), 1);
    assert_eq!(bucket.entries[&1].at.offset, 0);
    assert_eq!(bucket.last_access(2), Some(now + 5.0));
    // Another process reads the same.
    let mut other = Bucket::open(bucket_dir.clone());
    assert_eq!(other.locations(1).len(), 1);
    assert_eq!(other.last_access(2), Some(now + 5.0));
    // Compaction keeps what is still needed (key 1's earlier record, key 2 and its use)...
    compact(&mut bucket).unwrap();
    assert!(!pack.exists(), "the gone writer's pack held a removed record: rewritten");
    let mut after = Bucket::open(bucket_dir.clone());
    assert_eq!((after.locations(1).len(), after.locations(2).len()), (1, 1));
    assert_eq!(after.last_access(2), Some(now + 5.0), "the use survives compaction");
    assert_eq!(after.entries[&1].created, now - 100.0);
    let packs: Vec<_> = std::fs::read_dir(&bucket_dir).unwrap().collect();
    assert_eq!(packs.len(), 1, "one pack left: this process's");
}

#[test]
fn eviction_by_age_goes_by_the_recorded_times() {
    let dir = tempfile::tempdir().unwrap();
    let function = dir.path().join("joblib/f");
    let day = 86_400.0;
    let now = now_seconds();
    let old = bucket_dir(&function, 0);
    gone_writers_pack(&old, &[entry(0, now - 3.0 * day, b"old"), entry(1, now - 3.0 * day, b"used")]);
    let used = Record { key: 1, time: now - 10.0, body: Body::Access }.encode();
    let host = crate::persist::writer_tag().split_once('@').unwrap().1.to_string();
    std::fs::write(old.join(format!("pack~2.2@{host}~0-0{PACK_SUFFIX}")), used).unwrap();
    // Times no clock gives, as a forged pack may hold: taken as the epoch, never a panic.
    let forged = bucket_dir(&function, 1 << 124);
    gone_writers_pack(&forged, &[entry(1 << 124, f64::NAN, b"nan"), entry(2 << 124, f64::INFINITY, b"inf")]);
    let store = crate::memory::store::Store::at(dir.path());
    let removed = store.reduce(None, None, Some(Duration::from_secs(3600))).entries;
    assert_eq!(removed, 3, "the old, never used entry and the two of no time");
    let left = entries(&function.join(PACKS_DIR), false);
    assert_eq!(left.iter().map(|p| p.key).collect::<Vec<_>>(), [1], "the entry used lately stays");
}

#[test]
fn packs_of_other_hosts_are_rewritten_only_when_long_unmodified() {
    let dir = tempfile::tempdir().unwrap();
    let bucket_dir = dir.path().join("0");
    std::fs::create_dir_all(&bucket_dir).unwrap();
    let now = now_seconds();
    let foreign = bucket_dir.join(format!("pack~5.5@another-host~0-0{PACK_SUFFIX}"));
    let records = [entry(1, now, b"x"), entry(1, now, b"y")].map(|r| r.encode()).concat();
    std::fs::write(&foreign, &records).unwrap();
    let mut bucket = Bucket::open(bucket_dir.clone());
    compact(&mut bucket).unwrap();
    assert!(foreign.exists(), "another host's writer may still write: left alone");
    let long_ago = std::time::SystemTime::now() - crate::persist::FOREIGN_STALE_AFTER - Duration::from_secs(60);
    std::fs::File::options().write(true).open(&foreign).unwrap().set_modified(long_ago).unwrap();
    compact(&mut bucket).unwrap();
    assert!(!foreign.exists(), "unmodified for long, holding a superseded record: rewritten");
    assert_eq!(Bucket::open(bucket_dir).locations(1).len(), 1, "one record of key 1 kept");
}

#[test]
fn many_caches_in_one_process_keep_few_files_open() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = crate::memory::metadata::Metadata::new("f", "f()".into(), 7, Duration::ZERO);
    let mut functions = Vec::new();
    for cache in 0..1500 {
        let buckets = Buckets::new(&dir.path().join(format!("c{cache}/joblib/f")));
        buckets.store(7, b"value", &metadata).unwrap();
        assert!(buckets.contains(7));
        functions.push(buckets);
    }
    let open_here = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir.path()))
        .count();
    assert!(open_here <= 2 * super::open::MAX_OPEN, "{open_here} pack files open");
}

#[test]
fn a_large_pack_is_rewritten_in_batches_and_keeps_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let bucket_dir = dir.path().join("0");
    let now = now_seconds();
    let file = vec![7u8; 16 << 10];
    let records: Vec<Record> = (0..600).map(|key| entry(key, now, &file)).collect();
    let pack = gone_writers_pack(&bucket_dir, &records);
    assert!(std::fs::metadata(&pack).unwrap().len() > 9 << 20, "more than one batch");
    let mut bucket = Bucket::open(bucket_dir.clone());
    evict(&mut bucket, &[0]).unwrap();
    compact(&mut bucket).unwrap();
    assert!(!pack.exists());
    let mut after = Bucket::open(bucket_dir);
    assert_eq!(after.entries.len(), 599);
    assert!((1..600).all(|key| after.locations(key).len() == 1));
}
