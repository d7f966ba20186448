//! The joblib file format (version 3): the fixed header, the index and their validation.
//!
//! ```text
//! offset 0   header, 64 bytes, little-endian:
//!            0  magic          8 bytes  89 4A 4F 42 4C 49 42 0A  ("\x89JOBLIB\n")
//!            8  version        u32      3, or 2 when no vector is out of line (1 is still read)
//!           12  flags          u32      bit 0: body and index are zstd frames
//!           16  body_len       u64      decoded length of the body
//!           24  index_offset   u64      where the index starts in the file
//!           32  index_len      u64      stored length of the index
//!           40  index_raw_len  u64      decoded length of the index
//!           48  index_check    u64      xxh3-64 of the stored index bytes
//!           56  header_check   u64      xxh3-64 of header bytes 0..56
//! offset 64  body: every array's bytes, each at a 64-byte aligned offset, zero padding between;
//!            compressed: each array cut into chunks, each chunk byte-shuffled when its
//!            elements are wider than a byte and stored as an independent zstd frame, frames
//!            back to back with no padding
//! then       index (compressed: one zstd frame):
//!            structure digest (u128), array count (u64), one 32-byte record per array
//!            (offset u64, length u64, dtype u8, 7 zero bytes, xxh3-64 of the bytes u64),
//!            compressed only: chunk size (u64), then the stored length of every frame (u64),
//!            then the payload: the encoding of the value (versions 2 and 3: the
//!            self-describing encoding of `persist::value`; version 1: postcard), in which each
//!            array is its shape and its record number, and so is each large `Vec` of numbers
//!            in version 3 (its element type and length, then its record number)
//! ```
//!
//! Offsets of arrays count from the start of the file as if the body were stored as is, so an
//! uncompressed file can be mapped and its arrays used in place. Compressed chunks are
//! independent so that they are compressed and decompressed on every core at once.

use xxhash_rust::xxh3::xxh3_64;

use crate::array::DType;

/// The first bytes of every joblib file. The high first byte and the newline catch files
/// mangled by text-mode transfers, as PNG's signature does.
pub(crate) const MAGIC: [u8; 8] = *b"\x89JOBLIB\n";
/// The format version this build writes and the newest it reads: 3 when the payload stores a
/// large `Vec` of numbers out of line, in the body as an array.
pub(crate) const VERSION: u32 = VERSION_OUT_OF_LINE_VECTORS;
/// The first version whose payload may store vectors out of line.
pub(crate) const VERSION_OUT_OF_LINE_VECTORS: u32 = 3;
/// The version of a file whose vectors are all in its payload, which this build writes for
/// every file without out-of-line vectors (builds that read up to version 2 read them).
pub(crate) const VERSION_INLINE_VECTORS: u32 = 2;
/// The first format version, whose payload is postcard (not self-describing); still read.
pub(crate) const VERSION_POSTCARD: u32 = 1;
/// Length of the fixed header, which is also where the body starts.
pub(crate) const HEADER_LEN: usize = 64;
/// Alignment of every array's bytes in the (decoded) body.
pub(crate) const ALIGN: u64 = 64;
/// Header flag: body and index are zstd frames.
pub(crate) const FLAG_ZSTD: u32 = 1;

/// A compressed index decodes to at most this many bytes per stored byte, beyond
/// [`INDEX_RAW_FREE`]: the writer stores a value whose index would compress better
/// uncompressed, so that a forged file cannot make a reader spend more than a small multiple
/// of its own size on its index (zstd alone allows 32 768 to 1).
pub(crate) const INDEX_RATIO: u64 = 256;
/// The decoded length any compressed index may have, whatever its stored length.
pub(crate) const INDEX_RAW_FREE: u64 = 1 << 20;

/// Whether a compressed index of `stored` bytes may decode to `raw` bytes.
pub(crate) fn index_ratio_ok(raw: u64, stored: u64) -> bool {
    raw <= INDEX_RAW_FREE.max(stored.saturating_mul(INDEX_RATIO))
}

const RECORD_LEN: usize = 32;
const INDEX_FIXED_LEN: usize = 24;

/// What went wrong while reading a header or index, before a path is attached to it.
#[derive(Debug, PartialEq)]
pub(crate) enum FormatError {
    BadMagic,
    Version(u32),
    Corrupt(String),
}

/// Whether a checksum computed from the data matches the stored one. Fuzzing builds accept any
/// checksum, so that the fuzzer reaches the checks behind them.
pub(crate) fn checksum_ok(computed: u64, stored: u64) -> bool {
    cfg!(fuzzing) || computed == stored
}

fn corrupt<T>(what: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError::Corrupt(what.into()))
}

/// The fixed header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Header {
    pub(crate) version: u32,
    pub(crate) flags: u32,
    pub(crate) body_len: u64,
    pub(crate) index_offset: u64,
    pub(crate) index_len: u64,
    pub(crate) index_raw_len: u64,
    pub(crate) index_check: u64,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

impl Header {
    pub(crate) fn compressed(&self) -> bool {
        self.flags & FLAG_ZSTD != 0
    }

    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[12..16].copy_from_slice(&self.flags.to_le_bytes());
        let words = [self.body_len, self.index_offset, self.index_len, self.index_raw_len, self.index_check];
        for (i, word) in words.iter().enumerate() {
            out[16 + 8 * i..24 + 8 * i].copy_from_slice(&word.to_le_bytes());
        }
        let check = xxh3_64(&out[..56]);
        out[56..64].copy_from_slice(&check.to_le_bytes());
        out
    }

    /// Reads and checks the header of a file of `file_len` bytes whose first bytes are `bytes`.
    pub(crate) fn decode(bytes: &[u8], file_len: u64) -> Result<Header, FormatError> {
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            // A file shorter than the magic that starts like it is a truncated joblib file.
            if !bytes.is_empty() && MAGIC.starts_with(bytes) {
                return corrupt(format!("truncated to {} bytes", bytes.len()));
            }
            return Err(FormatError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return corrupt(format!("truncated to {} bytes, the header alone is {HEADER_LEN}", bytes.len()));
        }
        // The checksum first: a damaged version field is damage, not a file from the future.
        if !checksum_ok(xxh3_64(&bytes[..56]), u64_at(bytes, 56)) {
            return corrupt("header checksum mismatch");
        }
        let version = u32_at(bytes, 8);
        if version > VERSION {
            return Err(FormatError::Version(version));
        }
        if version == 0 {
            return corrupt("format version 0 does not exist");
        }
        let header = Header {
            version,
            flags: u32_at(bytes, 12),
            body_len: u64_at(bytes, 16),
            index_offset: u64_at(bytes, 24),
            index_len: u64_at(bytes, 32),
            index_raw_len: u64_at(bytes, 40),
            index_check: u64_at(bytes, 48),
        };
        if header.flags & !FLAG_ZSTD != 0 {
            return corrupt(format!("unknown flags {:#x}", header.flags));
        }
        let index_end = header.index_offset.checked_add(header.index_len);
        if index_end != Some(file_len) {
            return corrupt(format!(
                "the index should end at byte {} but the file has {file_len} bytes (truncated or appended to)",
                index_end.map_or("(overflow)".to_string(), |e| e.to_string())
            ));
        }
        let body_end = (HEADER_LEN as u64).saturating_add(header.body_len);
        if header.compressed() && !index_ratio_ok(header.index_raw_len, header.index_len) {
            return corrupt(format!(
                "the index claims to decode {} bytes from {}: more than any file this library writes",
                header.index_raw_len, header.index_len
            ));
        }
        let body_ok = if header.compressed() {
            header.index_offset >= HEADER_LEN as u64
        } else {
            header.index_offset == body_end && header.index_raw_len == header.index_len
        };
        if !body_ok {
            return corrupt("body and index lengths disagree");
        }
        Ok(header)
    }
}

/// Where one array's bytes are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ArrayRecord {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) dtype: DType,
    pub(crate) check: u64,
}

impl ArrayRecord {
    pub(crate) fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// How the arrays of a compressed file are cut into zstd frames.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Frames {
    /// Bytes of an array per frame (the last frame of an array may hold fewer).
    pub(crate) chunk: u64,
    /// The stored length of every frame, array after array.
    pub(crate) lens: Vec<u64>,
}

/// The largest chunk a file may declare.
const MAX_CHUNK: u64 = 1 << 30;
/// The most bytes one stored byte of a zstd frame can decode to: a block decodes to at most
/// 128 KiB and takes at least 4 bytes (a 3-byte header and one byte repeated). A file whose
/// arrays are longer than their frames can hold is refused before anything is allocated.
const MAX_ZSTD_RATIO: u64 = (128 << 10) / 4;

/// The decoded index: what the value is and where its arrays are.
#[derive(Debug, PartialEq)]
pub(crate) struct Index<'a> {
    pub(crate) structure: u128,
    pub(crate) arrays: Vec<ArrayRecord>,
    /// Compressed files only.
    pub(crate) frames: Option<Frames>,
    pub(crate) payload: &'a [u8],
}

/// The bytes of a file that [`compact_of`] leaves out: its header and its index's fixed part.
pub(crate) const COMPACTED: usize = HEADER_LEN + INDEX_FIXED_LEN;

/// What a joblib file without arrays holds besides its header and index (which can be made
/// again from it: [`file_of_compact`]): its structure digest and payload; `None` for a file
/// with arrays or compressed, or one that does not read back.
pub(crate) fn compact_of(file: &[u8]) -> Option<(u128, &[u8])> {
    let header = Header::decode(file.get(..HEADER_LEN)?, file.len() as u64).ok()?;
    let plain = !header.compressed() && header.version == VERSION_INLINE_VECTORS && header.body_len == 0;
    let index = file.get(header.index_offset as usize..).filter(|_| plain)?;
    let decoded = decode_index(index, 0, None).ok()?;
    let whole = decoded.arrays.is_empty() && header.index_offset == HEADER_LEN as u64;
    whole.then_some((decoded.structure, decoded.payload))
}

/// The joblib file that [`compact_of`] took `structure` and `payload` from.
pub(crate) fn file_of_compact(structure: u128, payload: &[u8]) -> Vec<u8> {
    let mut index = encode_index(structure, &[], None, payload);
    let header = Header {
        version: VERSION_INLINE_VECTORS,
        flags: 0,
        body_len: 0,
        index_offset: HEADER_LEN as u64,
        index_len: index.len() as u64,
        index_raw_len: index.len() as u64,
        index_check: xxh3_64(&index),
    };
    let mut file = header.encode().to_vec();
    file.append(&mut index);
    file
}

/// Encodes an index with `payload` as its last part.
pub(crate) fn encode_index(
    structure: u128,
    arrays: &[ArrayRecord],
    frames: Option<&Frames>,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(INDEX_FIXED_LEN + RECORD_LEN * arrays.len() + payload.len());
    out.extend_from_slice(&structure.to_le_bytes());
    out.extend_from_slice(&(arrays.len() as u64).to_le_bytes());
    for record in arrays {
        out.extend_from_slice(&record.offset.to_le_bytes());
        out.extend_from_slice(&record.len.to_le_bytes());
        out.push(record.dtype.code());
        out.extend_from_slice(&[0; 7]);
        out.extend_from_slice(&record.check.to_le_bytes());
    }
    if let Some(frames) = frames {
        out.extend_from_slice(&frames.chunk.to_le_bytes());
        for len in &frames.lens {
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Decodes an index and checks every array record against a body of `body_len` bytes: records
/// in order, aligned, inside the body, whole elements, and padding shorter than the alignment.
/// For a compressed file, `stored_body_len` is the length of its frames together.
pub(crate) fn decode_index(
    bytes: &[u8],
    body_len: u64,
    stored_body_len: Option<u64>,
) -> Result<Index<'_>, FormatError> {
    if bytes.len() < INDEX_FIXED_LEN {
        return corrupt("index too short");
    }
    let structure = u128::from_le_bytes(bytes[..16].try_into().unwrap_or_default());
    let count = u64_at(bytes, 16);
    let records_len = count.checked_mul(RECORD_LEN as u64).filter(|&n| n <= (bytes.len() - INDEX_FIXED_LEN) as u64);
    let Some(records_len) = records_len else {
        return corrupt(format!("the index lists {count} arrays, more than it has room for"));
    };
    let (records, payload) = bytes[INDEX_FIXED_LEN..].split_at(records_len as usize);
    let body_end = (HEADER_LEN as u64).saturating_add(body_len);
    let mut previous_end = HEADER_LEN as u64;
    let mut arrays = Vec::with_capacity(count as usize);
    for (i, record) in records.chunks_exact(RECORD_LEN).enumerate() {
        let Some(dtype) = DType::from_code(record[16]) else {
            return corrupt(format!("array {i} has unknown element type code {}", record[16]));
        };
        let record =
            ArrayRecord { offset: u64_at(record, 0), len: u64_at(record, 8), dtype, check: u64_at(record, 24) };
        if !record.offset.is_multiple_of(ALIGN) {
            return corrupt(format!("array {i} starts at byte {}, which is not {ALIGN}-byte aligned", record.offset));
        }
        if record.offset < previous_end || record.offset - previous_end >= ALIGN {
            return corrupt(format!("array {i} at byte {} overlaps or leaves a gap", record.offset));
        }
        if record.offset.checked_add(record.len).is_none_or(|end| end > body_end) {
            return corrupt(format!("array {i} ({} bytes at byte {}) runs past the body", record.len, record.offset));
        }
        if !record.len.is_multiple_of(dtype.size() as u64) {
            return corrupt(format!("array {i} is not a whole number of {dtype:?} elements"));
        }
        previous_end = record.end();
        arrays.push(record);
    }
    if body_end - previous_end >= ALIGN {
        return corrupt("the body is longer than its arrays");
    }
    let (frames, payload) = match stored_body_len {
        None => (None, payload),
        Some(stored) => {
            let (frames, payload) = decode_frames(payload, &arrays, stored)?;
            (Some(frames), payload)
        }
    };
    Ok(Index { structure, arrays, frames, payload })
}

/// Reads the frame table of a compressed file: a chunk size and as many frame lengths as the
/// arrays need, adding up to the stored body.
fn decode_frames<'a>(bytes: &'a [u8], arrays: &[ArrayRecord], stored: u64) -> Result<(Frames, &'a [u8]), FormatError> {
    if bytes.len() < 8 {
        return corrupt("index too short for its frame table");
    }
    let chunk = u64_at(bytes, 0);
    if chunk == 0 || chunk > MAX_CHUNK {
        return corrupt(format!("chunk size {chunk} is out of range"));
    }
    let count: u64 = arrays.iter().map(|a| a.len.div_ceil(chunk)).sum();
    let table = count.checked_mul(8).filter(|&n| n <= (bytes.len() - 8) as u64);
    let Some(table) = table else {
        return corrupt(format!("the index lists {count} frames, more than it has room for"));
    };
    let (table, payload) = bytes[8..].split_at(table as usize);
    let lens: Vec<u64> = table.chunks_exact(8).map(|b| u64_at(b, 0)).collect();
    if lens.iter().try_fold(0u64, |sum, &len| sum.checked_add(len)) != Some(stored) {
        return corrupt("the frame lengths do not add up to the stored body");
    }
    let mut frames = lens.as_slice();
    for (i, array) in arrays.iter().enumerate() {
        let (mine, rest) = frames.split_at(array.len.div_ceil(chunk) as usize);
        frames = rest;
        let room = mine.iter().fold(0u64, |room, &len| room.saturating_add(len.saturating_mul(MAX_ZSTD_RATIO)));
        if array.len > room {
            return corrupt(format!(
                "array {i} declares {} bytes, more than its {} compressed bytes can hold",
                array.len,
                mine.iter().sum::<u64>()
            ));
        }
    }
    Ok((Frames { chunk, lens }, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(file_len: u64) -> Header {
        Header {
            version: VERSION,
            flags: 0,
            body_len: 64,
            index_offset: 128,
            index_len: file_len - 128,
            index_raw_len: file_len - 128,
            index_check: 9,
        }
    }

    #[test]
    fn a_file_without_arrays_is_made_again_from_its_compact_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jbl");
        let value = (7u64, "seven".to_string(), vec![1.5f32; 3]);
        crate::persist::dump(&value, &path).unwrap();
        let file = std::fs::read(&path).unwrap();
        let (structure, payload) = compact_of(&file).expect("no arrays: compact");
        assert!(payload.len() + COMPACTED == file.len(), "only header and index's fixed part go");
        assert_eq!(file_of_compact(structure, payload), file, "the same bytes");
        // Files with arrays, compressed ones and damaged ones have none.
        crate::persist::dump(&crate::Array::from(vec![1u8; 10]), &path).unwrap();
        assert!(compact_of(&std::fs::read(&path).unwrap()).is_none(), "an array");
        crate::persist::dump_with(&value, &path, crate::Compress::Zstd(3)).unwrap();
        assert!(compact_of(&std::fs::read(&path).unwrap()).is_none(), "compressed");
        let mut damaged = file.clone();
        damaged[20] ^= 1;
        assert!(compact_of(&damaged).is_none() && compact_of(&file[..40]).is_none());
    }

    #[test]
    fn header_round_trips() {
        let h = header(200);
        assert_eq!(Header::decode(&h.encode(), 200), Ok(h));
    }

    #[test]
    fn header_rejects_every_single_flipped_byte() {
        let bytes = header(200).encode();
        for i in 0..HEADER_LEN {
            let mut bad = bytes;
            bad[i] ^= 0x10;
            assert!(Header::decode(&bad, 200).is_err(), "byte {i}");
        }
    }

    #[test]
    fn header_rejects_wrong_length_and_future_version() {
        let bytes = header(200).encode();
        assert!(matches!(Header::decode(&bytes, 199), Err(FormatError::Corrupt(_))));
        assert!(matches!(Header::decode(&bytes[..30], 200), Err(FormatError::Corrupt(_))));
        assert!(matches!(Header::decode(&bytes[..3], 200), Err(FormatError::Corrupt(_))));
        assert_eq!(Header::decode(b"PK\x03\x04 zip file", 200), Err(FormatError::BadMagic));
        let future = Header { version: VERSION + 1, ..header(200) }.encode();
        assert_eq!(Header::decode(&future, 200), Err(FormatError::Version(VERSION + 1)));
        let old = Header { version: VERSION_POSTCARD, ..header(200) }.encode();
        assert_eq!(Header::decode(&old, 200).map(|h| h.version), Ok(VERSION_POSTCARD));
        let mut flipped = bytes;
        flipped[11] ^= 0x80;
        assert!(matches!(Header::decode(&flipped, 200), Err(FormatError::Corrupt(c)) if c.contains("checksum")));
    }

    #[test]
    fn index_round_trips_and_checks_records() {
        let records = [
            ArrayRecord { offset: 64, len: 24, dtype: DType::F64, check: 1 },
            ArrayRecord { offset: 128, len: 3, dtype: DType::U8, check: 2 },
        ];
        let bytes = encode_index(7, &records, None, b"payload");
        let index = decode_index(&bytes, 67, None).unwrap();
        assert_eq!(index, Index { structure: 7, arrays: records.to_vec(), frames: None, payload: b"payload" });
        assert!(decode_index(&bytes, 66, None).is_err(), "second array runs past the body");
        assert!(decode_index(&bytes, 200, None).is_err(), "body longer than its arrays");

        let misaligned = [ArrayRecord { offset: 72, ..records[0] }];
        assert!(decode_index(&encode_index(7, &misaligned, None, b""), 100, None).is_err());
        let partial = [ArrayRecord { len: 12, ..records[0] }];
        assert!(decode_index(&encode_index(7, &partial, None, b""), 12, None).is_err());
        let overlapping = [records[0], ArrayRecord { offset: 64, ..records[1] }];
        assert!(decode_index(&encode_index(7, &overlapping, None, b""), 67, None).is_err());
        let huge = [ArrayRecord { offset: 64, len: u64::MAX - 10, dtype: DType::U8, check: 0 }];
        assert!(decode_index(&encode_index(7, &huge, None, b""), u64::MAX - 100, None).is_err());
    }

    #[test]
    fn index_rejects_a_lying_count() {
        let mut bytes = encode_index(7, &[], None, b"");
        bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_index(&bytes, 0, None).is_err());
        assert!(decode_index(&bytes[..10], 0, None).is_err());
    }

    #[test]
    fn frame_table_round_trips_and_must_add_up() {
        let records = [ArrayRecord { offset: 64, len: 10, dtype: DType::U8, check: 1 }];
        let frames = Frames { chunk: 4, lens: vec![20, 21, 22] };
        let bytes = encode_index(7, &records, Some(&frames), b"p");
        let index = decode_index(&bytes, 10, Some(63)).unwrap();
        assert_eq!((index.frames, index.payload), (Some(frames.clone()), &b"p"[..]));
        assert!(decode_index(&bytes, 10, Some(64)).is_err(), "lengths do not add up");
        let zero_chunk = Frames { chunk: 0, lens: vec![] };
        assert!(decode_index(&encode_index(7, &records, Some(&zero_chunk), b""), 10, Some(0)).is_err());
        let unbelievable = [ArrayRecord { offset: 64, len: 1 << 32, dtype: DType::U8, check: 1 }];
        let frames = Frames { chunk: 1 << 30, lens: vec![9, 9, 9, 9] };
        let err = decode_index(&encode_index(7, &unbelievable, Some(&frames), b""), 1 << 32, Some(36)).unwrap_err();
        assert!(matches!(err, FormatError::Corrupt(what) if what.contains("more than its 36 compressed bytes")));
        let too_few = Frames { chunk: 4, lens: vec![63] };
        assert!(decode_index(&encode_index(7, &records, Some(&too_few), b""), 10, Some(63)).is_err());
    }
}
