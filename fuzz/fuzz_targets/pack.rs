//! Arbitrary bytes as a pack of small cache entries (in every bucket of one function): hits,
//! `is_cached`, stores and eviction (which rewrites packs of gone writers) must return values
//! or recompute, never panic, crash or read out of bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The cached function, as the seed packs hold it.
fn value(k: &u64) -> (u64, String) {
    (k * 3, format!("value of {k}"))
}

/// A pack of a writer of this host that is gone: eviction rewrites it.
fn pack_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host: String = host.trim().chars().filter(|c| c.is_ascii_alphanumeric() || "-.".contains(*c)).collect();
    format!("pack~1.1@{host}~0-0.pack")
}

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let packs = dir.path().join("joblib/f/packed-entries");
    for bucket in 0..16 {
        let folder = packs.join(format!("{bucket:x}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(pack_name()), data).unwrap();
    }
    let memory = joblib::Memory::new(dir.path()).verbose(0);
    let f = memory.cache("f", value);
    for k in 0..16u64 {
        let _ = f.is_cached(&k);
        // (Checksums are not checked in fuzzing builds: a forged value may load.)
        let _ = f.call(&k);
    }
    memory.reduce_size_to(Some(1000), Some(8), None);
    for k in 0..16u64 {
        let _ = f.call(&k);
    }
});
