//! Hostile and damaged joblib files: every one is an `Error`, never a panic, never a wrong
//! value, never an out-of-bounds read.

use std::path::Path;

use joblib::{dump, dump_with, load, load_mmap, Array, Compress, Error};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Sample {
    label: String,
    a: Array<f64>,
    b: Array<u16>,
    c: Vec<i32>,
}

fn sample() -> Sample {
    Sample {
        label: "sample".into(),
        a: Array::from((0..40).map(f64::from).collect::<Vec<_>>()),
        b: Array::from_shape_vec([3, 5], (0..15).collect()).unwrap(),
        c: vec![-1, 2, -3],
    }
}

fn write_sample(dir: &Path, compress: Compress) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.join("sample.jbl");
    dump_with(&sample(), &path, compress).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Rewrites an uncompressed file with its index edited, fixing every length and checksum, as
/// a forger would: only the structural checks can catch what `edit` does.
fn forge(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let bytes = std::fs::read(path).unwrap();
    let index_offset = u64_at(&bytes, 24) as usize;
    let mut header = bytes[..64].to_vec();
    let body = &bytes[64..index_offset];
    let mut index = bytes[index_offset..].to_vec();
    edit(&mut index);
    header[32..40].copy_from_slice(&(index.len() as u64).to_le_bytes());
    header[40..48].copy_from_slice(&(index.len() as u64).to_le_bytes());
    header[48..56].copy_from_slice(&xxh3_64(&index).to_le_bytes());
    let check = xxh3_64(&header[..56]);
    header[56..64].copy_from_slice(&check.to_le_bytes());
    std::fs::write(path, [header.as_slice(), body, &index].concat()).unwrap();
}

/// Sets the header fields from byte 8 on (version, flags, ...) and fixes the header checksum.
fn forge_header(path: &Path, at: usize, value: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at..at + value.len()].copy_from_slice(value);
    let check = xxh3_64(&bytes[..56]);
    bytes[56..64].copy_from_slice(&check.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

fn assert_corrupt(result: joblib::Result<Sample>, what: &str) {
    match result {
        Err(Error::Corrupt { .. }) => {}
        other => panic!("{what}: expected a corruption error, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for compress in [Compress::None, Compress::Zstd(3)] {
        let (path, bytes) = write_sample(dir.path(), compress);
        for len in 0..bytes.len() {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert!(load::<Sample>(&path).is_err(), "{compress:?} truncated to {len}");
            assert!(load_mmap::<Sample>(&path).is_err(), "{compress:?} truncated to {len}, mapped");
        }
    }
}

#[test]
fn every_flipped_byte_of_a_plain_file_is_detected_by_load() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = write_sample(dir.path(), Compress::None);
    let mut mapped = 0;
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        let result = load::<Sample>(&path);
        assert!(result.is_err(), "flip at byte {i} went unnoticed");
        // A mapped load checks header and index; a flip inside an array's bytes is only seen by
        // `load`, but it never panics and never changes anything but that array's values.
        if let Ok(value) = load_mmap::<Sample>(&path) {
            assert_eq!(value.label, "sample");
            assert_eq!(value.c, vec![-1, 2, -3]);
            mapped += 1;
        }
    }
    // Positive control: the flips inside the arrays' bytes (350 of them) did map.
    assert_eq!(mapped, 350, "mapped loads");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(load::<Sample>(&path).unwrap(), sample());
}

#[test]
fn flipped_bytes_of_a_compressed_file_never_give_a_wrong_value() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = write_sample(dir.path(), Compress::Zstd(3));
    let mut refused = 0;
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= bit;
            std::fs::write(&path, &bad).unwrap();
            match load::<Sample>(&path) {
                Ok(value) => assert_eq!(value, sample(), "flip at byte {i} gave a wrong value"),
                Err(_) => refused += 1,
            }
        }
    }
    // Positive control: nearly every flip is refused (a few land where zstd ignores them).
    assert!(refused > bytes.len(), "{refused} of {} flips refused", 2 * bytes.len());
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(load::<Sample>(&path).unwrap(), sample());
}

/// Rewrites a compressed file with its decoded index edited and compressed again, every
/// length and checksum fixed, as a forger would.
fn forge_compressed(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let bytes = std::fs::read(path).unwrap();
    let index_offset = u64_at(&bytes, 24) as usize;
    let mut index = zstd::bulk::decompress(&bytes[index_offset..], 1 << 20).unwrap();
    edit(&mut index);
    let stored = zstd::bulk::compress(&index, 3).unwrap();
    let mut header = bytes[..64].to_vec();
    header[32..40].copy_from_slice(&(stored.len() as u64).to_le_bytes());
    header[40..48].copy_from_slice(&(index.len() as u64).to_le_bytes());
    header[48..56].copy_from_slice(&xxh3_64(&stored).to_le_bytes());
    let check = xxh3_64(&header[..56]);
    header[56..64].copy_from_slice(&check.to_le_bytes());
    std::fs::write(path, [&header, &bytes[64..index_offset], &stored[..]].concat()).unwrap();
}

#[test]
fn a_small_forged_compressed_file_cannot_make_load_allocate_what_it_declares() {
    // One f64 array of 4 GiB in chunks of 1 GiB, whose four frames are one real frame of a few
    // bytes and three empty ones: a file of about 150 bytes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forged.jbl");
    dump_with(&Array::from(vec![0.5f64; 4]), &path, Compress::Zstd(3)).unwrap();
    forge_compressed(&path, |index| {
        let records = 24;
        index[records + 8..records + 16].copy_from_slice(&(4u64 << 30).to_le_bytes());
        let table = records + 32;
        let frame = u64_at(index, table + 8);
        let payload = index.split_off(table + 16);
        index.truncate(table);
        index.extend_from_slice(&(1u64 << 30).to_le_bytes());
        for len in [frame, 0, 0, 0] {
            index.extend_from_slice(&len.to_le_bytes());
        }
        index.extend_from_slice(&payload);
    });
    forge_header(&path, 16, &(4u64 << 30).to_le_bytes());
    assert!(std::fs::metadata(&path).unwrap().len() < 200);
    let started = std::time::Instant::now();
    for result in [load::<Array<f64>>(&path), load_mmap::<Array<f64>>(&path)] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("more than its"), "{err}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused before anything is allocated");
}

#[test]
fn wrong_magic_and_other_files_are_not_joblib_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jbl");
    for content in [
        &b"PK\x03\x04 a zip file, long enough to hold a header.............................."[..],
        b"\x80\x04\x95 pickle",
    ] {
        std::fs::write(&path, content).unwrap();
        assert!(matches!(load::<Sample>(&path), Err(Error::BadMagic { .. })));
        assert!(matches!(load_mmap::<Sample>(&path), Err(Error::BadMagic { .. })));
    }
}

#[test]
fn messages_say_what_is_wrong_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jbl");
    std::fs::write(&path, b"").unwrap();
    for err in [load::<Sample>(&path).unwrap_err(), load_mmap::<Sample>(&path).unwrap_err()] {
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().ends_with("the file is empty (0 bytes)"), "{err}");
    }
    for err in [load::<Sample>(dir.path()).unwrap_err(), load_mmap::<Sample>(dir.path()).unwrap_err()] {
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().ends_with("a folder, not a joblib file"), "{err}");
    }
    // A damaged compressed chunk: the damage in words, zstd's own words in parentheses.
    let (path, bytes) = write_sample(dir.path(), Compress::Zstd(3));
    let zstd_errors = (64..96).filter(|&at| {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        let err = load::<Sample>(&path).unwrap_err().to_string();
        err.contains("array 0: a compressed chunk is damaged (zstd: ")
    });
    assert!(zstd_errors.count() > 0);
    // Another type of value in the file: what does not match, not the decoder's jargon.
    let (path, _) = write_sample(dir.path(), Compress::None);
    let err = load::<(String, u8)>(&path).unwrap_err().to_string();
    assert!(err.contains("holds a value of another type than `(alloc::string::String, u8)`"), "{err}");
    assert!(!err.contains("PostCard") && !err.contains("end of buffer"), "{err}");
    // A flipped bit in the version field is damage, not a file from the future.
    let (path, mut bytes) = write_sample(dir.path(), Compress::None);
    bytes[11] ^= 0x80;
    std::fs::write(&path, &bytes).unwrap();
    let err = load::<Sample>(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }) && err.to_string().contains("header checksum"), "{err}");
}

#[test]
fn a_future_version_asks_for_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_sample(dir.path(), Compress::None);
    forge_header(&path, 8, &4u32.to_le_bytes());
    let err = load::<Sample>(&path).unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { found: 4, supported: 3, .. }), "{err}");
    assert!(err.to_string().contains("upgrade"));
    assert!(matches!(load_mmap::<Sample>(&path), Err(Error::UnsupportedVersion { .. })));
    forge_header(&path, 8, &0u32.to_le_bytes());
    assert_corrupt(load(&path), "version 0");
    forge_header(&path, 8, &2u32.to_le_bytes());
    forge_header(&path, 12, &0x80u32.to_le_bytes());
    assert_corrupt(load(&path), "unknown flag");
}

/// The index of the sample: structure (16 bytes), count (8), then 32-byte records.
const RECORDS: usize = 24;

#[test]
fn forged_array_offsets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let edits: [(&str, Edit); 6] = [
        ("misaligned", Box::new(|i| i[RECORDS..RECORDS + 8].copy_from_slice(&72u64.to_le_bytes()))),
        ("past the end", Box::new(|i| i[RECORDS + 32..RECORDS + 40].copy_from_slice(&(1u64 << 40).to_le_bytes()))),
        ("huge length", Box::new(|i| i[RECORDS + 8..RECORDS + 16].copy_from_slice(&u64::MAX.to_le_bytes()))),
        ("partial element", Box::new(|i| i[RECORDS + 8..RECORDS + 16].copy_from_slice(&12u64.to_le_bytes()))),
        ("unknown dtype", Box::new(|i| i[RECORDS + 16] = 200)),
        ("lying count", Box::new(|i| i[16..24].copy_from_slice(&(u64::MAX / 2).to_le_bytes()))),
    ];
    for (what, edit) in edits {
        let (path, _) = write_sample(dir.path(), Compress::None);
        forge(&path, edit);
        assert_corrupt(load(&path), what);
        assert_corrupt(load_mmap(&path), what);
    }
}

#[test]
fn forged_element_types_and_array_numbers_are_type_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_sample(dir.path(), Compress::None);
    // Array 0 (f64, 320 bytes) relabelled as u64: same size, other type.
    forge(&path, |i| i[RECORDS + 16] = 8);
    let err = load_mmap::<Sample>(&path).unwrap_err();
    assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("U64"), "{err}");
}

#[test]
fn a_payload_that_uses_one_array_twice_shares_it_safely() {
    // Two arrays of the same type: the payload's second reference is pointed at the first.
    // Arrays are immutable (writing copies), so the two may share the bytes; serde needs that
    // too, when it tries each variant of an untagged enum in turn.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Two(Array<u8>, Array<u8>);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.jbl");
    dump(&Two(Array::from(vec![1u8]), Array::from(vec![2u8])), &path).unwrap();
    forge(&path, |index| {
        // The payload ends with the second array's number (a u64), then the ends of the
        // array and of the pair.
        let at = index.len() - 10;
        assert_eq!(index[at..at + 8], 1u64.to_le_bytes());
        index[at..at + 8].copy_from_slice(&0u64.to_le_bytes());
    });
    for mut two in [load::<Two>(&path).unwrap(), load_mmap::<Two>(&path).unwrap()] {
        assert_eq!(two, Two(Array::from(vec![1u8]), Array::from(vec![1u8])));
        two.1.make_mut()[0] = 9;
        assert_eq!((two.0[0], two.1[0]), (1, 9), "writing one leaves the other");
    }
}

#[test]
fn a_forged_compressed_index_cannot_make_load_decode_more_than_a_small_multiple_of_the_file() {
    // An index of 64 MiB of zeros after the real one compresses to a few kilobytes (zstd allows
    // 32 768 to 1): refused from the header, before anything is decoded.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_sample(dir.path(), Compress::Zstd(3));
    forge_compressed(&path, |index| index.resize(index.len() + (64 << 20), 0));
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len < 64 << 10, "a small file: {len} bytes");
    for result in [load::<Sample>(&path), load_mmap::<Sample>(&path)] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }) && err.to_string().contains("claims to decode"), "{err}");
    }
}

#[test]
fn a_value_that_compresses_beyond_what_readers_accept_is_stored_uncompressed() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Repetitive {
        text: String,
        numbers: Vec<u64>,
    }
    let value = Repetitive { text: "a".repeat(8 << 20), numbers: vec![0; 1 << 20] };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repetitive.jbl");
    dump_with(&value, &path, Compress::Zstd(3)).unwrap();
    assert_eq!(load::<Repetitive>(&path).unwrap(), value);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u64_at(&bytes, 12) & 1, 0, "stored uncompressed");
    // A value that compresses well, but not that well, stays compressed.
    let modest: Vec<String> = (0..20_000).map(|i| format!("row {i}: {}", i * 7919 % 1000)).collect();
    dump_with(&modest, &path, Compress::Zstd(3)).unwrap();
    assert_eq!(load::<Vec<String>>(&path).unwrap(), modest);
    assert_eq!(u64_at(&std::fs::read(&path).unwrap(), 12) & 1, 1, "compressed");
}

#[test]
fn forged_out_of_line_vectors_are_errors() {
    // A `Vec<u8>` of 2 MiB: one array record, and a payload of the tag VECTOR (0x1d), the
    // element tag (u8: 0x0b), the count (varint 2^21: 80 80 80 01) and the record (0).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vector.jbl");
    let value = vec![5u8; 2 << 20];
    let payload_at = RECORDS + 32;
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let edits: [(&str, Edit); 5] = [
        ("another element type", Box::new(move |i| i[payload_at + 1] = 0x0c)),
        ("not a number", Box::new(move |i| i[payload_at + 1] = 0x13)),
        ("a shorter count", Box::new(move |i| i[payload_at + 4] = 0)),
        ("a missing record", Box::new(move |i| i[payload_at + 6] = 1)),
        ("no count", Box::new(move |i| i.truncate(payload_at + 2))),
    ];
    for (what, edit) in edits {
        dump(&value, &path).unwrap();
        let index = std::fs::read(&path).unwrap();
        let index = &index[u64_at(&index, 24) as usize..];
        assert_eq!(index[payload_at..], [0x1d, 0x0b, 0x80, 0x80, 0x80, 0x01, 0x00], "the layout this test forges");
        forge(&path, edit);
        assert!(load::<Vec<u8>>(&path).is_err(), "{what}");
        assert!(load_mmap::<Vec<u8>>(&path).is_err(), "{what}");
        assert!(load::<serde_json::Value>(&path).is_err(), "{what}");
    }
    // A damaged byte of the vector itself: its checksum says so, also to a mapped load (a
    // file other than the one this process wrote and verified: a mapped load trusts a file
    // whose inode, size and modification time it verified, as for arrays).
    dump(&value, &path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[64 + 12_345] ^= 1;
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(load::<Vec<u8>>(&path), Err(Error::Corrupt { .. })));
    assert!(matches!(load_mmap::<Vec<u8>>(&path), Err(Error::Corrupt { .. })));
}
