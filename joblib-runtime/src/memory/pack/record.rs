//! The records of a pack file, and finding them in its bytes.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "JBP1"
//!      4     1  kind: 1 entry, 2 removal, 3 access, 4 compact entry, 5 entry of a version,
//!               6 compact entry of a version
//!      5     3  zero
//!      8     4  length of the whole record, little endian
//!     12    16  key
//!     28     8  time (f64 seconds since the Unix epoch): stored, removed or accessed
//!     36     4  the low 32 bits of the xxh3-64 of bytes 0..36 (the header's own check)
//!     40     .  body: entry:   duration (f64 s), arguments' length (u32), arguments (UTF-8),
//!                              the joblib file of the value
//!                     compact entry: duration, arguments' length and arguments as an entry's,
//!                              then the value's structure digest (u128) and payload: a
//!                              joblib file without arrays, its header and index left out
//!                              (this record's checksums cover them)
//!                     of a version (5, 6): the low 64 bits of the function's source
//!                              fingerprint (u64), then the body of an entry (1) or a
//!                              compact entry (4)
//!                     removal: the removed record's pack (xxh3-64 of its file name), offset
//!                     access:  nothing
//!  len-8     8  xxh3-64 of bytes 0..len-8
//! ```
//!
//! A header whose check holds gives a trustworthy length: a record whose body is damaged is
//! skipped whole, and one that reaches past the end of the bytes is still being written (or
//! its writer was killed). Only a damaged header makes the reader look for the next magic.

use xxhash_rust::xxh3::xxh3_64;

use crate::persist::format::checksum_ok;

const MAGIC: [u8; 4] = *b"JBP1";
const HEADER: usize = 40;
const CHECK: usize = 8;
/// The longest record: a packed value, its arguments' summary and headers fit well within.
pub(crate) const MAX_RECORD: usize = 1 << 16;

/// What a record says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Body<'a> {
    /// A stored value: its arguments' summary and its joblib file.
    Entry { duration: f64, version: Option<u64>, arguments: &'a str, file: &'a [u8] },
    /// A stored value without arrays: its arguments' summary and what its joblib file holds
    /// besides its header and index (see [`format::compact_of`](crate::persist::format)).
    Compact { duration: f64, version: Option<u64>, arguments: &'a str, structure: u128, payload: &'a [u8] },
    /// The record at `offset` of the pack whose name hashes to `pack` is removed.
    Removal { pack: u64, offset: u64 },
    /// The entry of the key was used.
    Access,
}

/// One record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Record<'a> {
    pub(crate) key: u128,
    pub(crate) time: f64,
    pub(crate) body: Body<'a>,
}

impl Record<'_> {
    /// The record's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (kind, body_len) = match self.body {
            Body::Entry { arguments, file, version, .. } => {
                (if version.is_some() { 5u8 } else { 1 }, 12 + arguments.len() + file.len() + version_len(version))
            }
            Body::Compact { arguments, payload, version, .. } => {
                (if version.is_some() { 6 } else { 4 }, 28 + arguments.len() + payload.len() + version_len(version))
            }
            Body::Removal { .. } => (2, 16),
            Body::Access => (3, 0),
        };
        let len = HEADER + body_len + CHECK;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[kind, 0, 0, 0]);
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&(xxh3_64(&out) as u32).to_le_bytes());
        match self.body {
            Body::Entry { duration, version, arguments, file } => {
                out.extend(version.map(u64::to_le_bytes).into_iter().flatten());
                out.extend_from_slice(&duration.to_le_bytes());
                out.extend_from_slice(&(arguments.len() as u32).to_le_bytes());
                out.extend_from_slice(arguments.as_bytes());
                out.extend_from_slice(file);
            }
            Body::Compact { duration, version, arguments, structure, payload } => {
                out.extend(version.map(u64::to_le_bytes).into_iter().flatten());
                out.extend_from_slice(&duration.to_le_bytes());
                out.extend_from_slice(&(arguments.len() as u32).to_le_bytes());
                out.extend_from_slice(arguments.as_bytes());
                out.extend_from_slice(&structure.to_le_bytes());
                out.extend_from_slice(payload);
            }
            Body::Removal { pack, offset } => {
                out.extend_from_slice(&pack.to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
            }
            Body::Access => {}
        }
        out.extend_from_slice(&xxh3_64(&out).to_le_bytes());
        out
    }
}

/// The bytes of a version in an entry's body.
fn version_len(version: Option<u64>) -> usize {
    if version.is_some() {
        8
    } else {
        0
    }
}

/// What is at some offset of a pack's bytes.
#[derive(Debug, PartialEq)]
pub(crate) enum Found<'a> {
    /// A whole record of this many bytes.
    Record(Record<'a>, usize),
    /// A record whose header holds, of this many bytes, damaged: skipped whole.
    Damaged(usize),
    /// A record not written whole yet (or whose writer was killed while writing it).
    Incomplete,
    /// No record header: damage; the next record is to be looked for.
    Garbage,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// What starts at the beginning of `bytes`.
pub(crate) fn read(bytes: &[u8]) -> Found<'_> {
    if bytes.len() < HEADER {
        return if MAGIC.starts_with(&bytes[..bytes.len().min(4)]) { Found::Incomplete } else { Found::Garbage };
    }
    let head_check = u64::from(xxh3_64(&bytes[..36]) as u32);
    if bytes[..4] != MAGIC || !checksum_ok(head_check, u64::from(u32_at(bytes, 36))) {
        return Found::Garbage;
    }
    let len = u32_at(bytes, 8) as usize;
    if !(HEADER + CHECK..=MAX_RECORD).contains(&len) {
        return Found::Garbage;
    }
    let Some(record) = bytes.get(..len) else { return Found::Incomplete };
    if !checksum_ok(xxh3_64(&record[..len - CHECK]), u64_at(record, len - CHECK)) {
        return Found::Damaged(len);
    }
    match body(bytes[4], &record[HEADER..len - CHECK]) {
        Some(body) => {
            let key = u128::from_le_bytes(record[12..28].try_into().expect("16 bytes"));
            let time = f64::from_le_bytes(record[28..36].try_into().expect("8 bytes"));
            Found::Record(Record { key, time, body }, len)
        }
        None => Found::Damaged(len),
    }
}

/// An entry's first parts, if well formed: duration, arguments, and what follows them.
fn entry(body: &[u8]) -> Option<(f64, &str, &[u8])> {
    let duration = f64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    let arguments_len = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?) as usize;
    let rest = &body[12..];
    let arguments = std::str::from_utf8(rest.get(..arguments_len)?).ok()?;
    Some((duration, arguments, &rest[arguments_len..]))
}

/// The body of a record of `kind`, if it is well formed.
fn body(kind: u8, body: &[u8]) -> Option<Body<'_>> {
    let (version, rest) = match kind {
        5 | 6 => (Some(u64::from_le_bytes(body.get(..8)?.try_into().ok()?)), &body[8..]),
        _ => (None, body),
    };
    match kind {
        1 | 5 => entry(rest).map(|(duration, arguments, file)| Body::Entry { duration, version, arguments, file }),
        4 | 6 => {
            let (duration, arguments, rest) = entry(rest)?;
            let structure = u128::from_le_bytes(rest.get(..16)?.try_into().ok()?);
            Some(Body::Compact { duration, version, arguments, structure, payload: &rest[16..] })
        }
        2 if body.len() == 16 => Some(Body::Removal { pack: u64_at(body, 0), offset: u64_at(body, 8) }),
        3 if body.is_empty() => Some(Body::Access),
        _ => None,
    }
}

/// Every whole record in `bytes` with its offset and length, and how far they reach: a
/// record being written at the end is left for later, damage is skipped.
pub(crate) fn scan(bytes: &[u8]) -> (Vec<(usize, Record<'_>, usize)>, usize) {
    scan_noting_damage(bytes, |_| {})
}

/// Damaged bytes of a pack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Damage {
    pub(crate) offset: usize,
    pub(crate) len: usize,
    /// The key of the damaged record, if its header holds.
    pub(crate) key: Option<u128>,
}

/// [`scan`], telling `damaged` of each damaged stretch of bytes.
pub(crate) fn scan_noting_damage(
    bytes: &[u8],
    mut damaged: impl FnMut(Damage),
) -> (Vec<(usize, Record<'_>, usize)>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    let mut reached = 0;
    while at < bytes.len() {
        match read(&bytes[at..]) {
            Found::Record(record, len) => {
                records.push((at, record, len));
                at += len;
                reached = at;
            }
            Found::Damaged(len) => {
                let key = u128::from_le_bytes(bytes[at + 12..at + 28].try_into().expect("16 bytes"));
                damaged(Damage { offset: at, len, key: Some(key) });
                at += len;
                reached = at;
            }
            Found::Incomplete => break,
            Found::Garbage => {
                let next = next_record(&bytes[at + 1..]);
                let len = next.map_or(bytes.len() - at, |next| 1 + next);
                damaged(Damage { offset: at, len, key: None });
                match next {
                    Some(_) => {
                        at += len;
                        reached = at;
                    }
                    None => break,
                }
            }
        }
    }
    (records, reached)
}

/// The offset of the first whole record in `bytes`, if any.
fn next_record(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = bytes[from..].windows(4).position(|w| w == MAGIC) {
        let at = from + found;
        if let Found::Record(..) = read(&bytes[at..]) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: u128, file: &[u8]) -> Vec<u8> {
        Record { key, time: 1.5, body: Body::Entry { duration: 0.25, version: None, arguments: "f(1)", file } }.encode()
    }

    #[test]
    fn records_read_back() {
        let records = [
            Record {
                key: 7,
                time: 2.0,
                body: Body::Entry { duration: 0.5, version: None, arguments: "α(1)", file: b"abc" },
            },
            Record { key: u128::MAX, time: 3.0, body: Body::Removal { pack: 9, offset: 40 } },
            Record { key: 1, time: 4.0, body: Body::Access },
            Record {
                key: 9,
                time: 4.5,
                body: Body::Entry { duration: 1.0, version: Some(3), arguments: "h(2)", file: b"d" },
            },
            Record {
                key: 2,
                time: 5.0,
                body: Body::Compact {
                    duration: 0.1,
                    version: Some(u64::MAX - 1),
                    arguments: "g()",
                    structure: u128::MAX - 3,
                    payload: b"xyz",
                },
            },
            Record {
                key: 3,
                time: 6.0,
                body: Body::Compact { duration: 0.1, version: None, arguments: "", structure: 0, payload: b"" },
            },
        ];
        let bytes: Vec<u8> = records.iter().flat_map(|r| r.encode()).collect();
        let (found, reached) = scan(&bytes);
        assert_eq!(reached, bytes.len());
        assert_eq!(found.iter().map(|(_, r, _)| *r).collect::<Vec<_>>(), records);
        assert_eq!((found[1].0, found[0].2), (records[0].encode().len(), records[0].encode().len()));
        // A compact entry too short for its structure digest is damaged, not read.
        let short =
            Record { key: 4, time: 0.0, body: Body::Entry { duration: 0.0, version: None, arguments: "", file: b"" } };
        let mut bytes = short.encode();
        bytes[4] = 4;
        let len = bytes.len();
        let check = xxh3_64(&bytes[..36]) as u32;
        bytes[36..40].copy_from_slice(&check.to_le_bytes());
        let check = xxh3_64(&bytes[..len - 8]);
        bytes[len - 8..].copy_from_slice(&check.to_le_bytes());
        assert_eq!(read(&bytes), Found::Damaged(len));
    }

    #[test]
    fn a_record_being_written_is_left_for_later() {
        let first = entry(1, b"value");
        let second = entry(2, b"other");
        for cut in 1..second.len() {
            let bytes = [&first[..], &second[..cut]].concat();
            let (found, reached) = scan(&bytes);
            assert_eq!((found.len(), reached), (1, first.len()), "cut at {cut}");
        }
    }

    #[test]
    fn damage_is_skipped_and_never_read_as_a_record() {
        let records: Vec<Vec<u8>> = (0..3).map(|k| entry(k, &[k as u8; 50])).collect();
        let bytes = records.concat();
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                let hit = at / records[0].len();
                let keys: Vec<u128> = scan(&damaged).0.iter().map(|(_, r, _)| r.key).collect();
                let expected: Vec<u128> = (0..3).filter(|k| *k != hit as u128).collect();
                assert_eq!(keys, expected, "flip {flip:#x} at {at}");
            }
        }
    }

    #[test]
    fn a_record_inside_a_value_is_never_taken_for_one() {
        // A value whose bytes hold a whole record of another key, in a record being written.
        let inner = entry(99, b"forged");
        let outer = entry(1, &inner);
        let (found, _) = scan(&outer[..outer.len() - 1]);
        assert!(found.is_empty(), "the outer record is incomplete: nothing is read inside it");
        let mut damaged = outer.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(scan(&damaged).0.is_empty(), "a damaged record is skipped whole");
    }

    #[test]
    fn forged_lengths_and_kinds_are_refused() {
        let mut bytes = entry(1, b"x");
        bytes[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&bytes), Found::Garbage, "the header check fails");
        let mut kind = Record { key: 1, time: 0.0, body: Body::Access }.encode();
        kind[4] = 9;
        assert_eq!(read(&kind), Found::Garbage);
        assert_eq!(read(b"JB"), Found::Incomplete);
        assert_eq!(read(b"xx"), Found::Garbage);
        assert_eq!(scan(&[0u8; 1000]).0.len(), 0);
    }
}
