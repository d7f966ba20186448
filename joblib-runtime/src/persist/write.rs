//! Writing a value to a joblib file.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::Path;
use std::rc::Rc;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::chunks;
use super::format::{
    encode_index, index_ratio_ok, ArrayRecord, Frames, Header, ALIGN, FLAG_ZSTD, HEADER_LEN, VERSION,
    VERSION_INLINE_VECTORS,
};
use super::spill::{Beyond, Spill, Spilled};
use super::{value, Compress};
use crate::array::{with_sink, ArrayOut, ArraySink, DType};
use crate::error::{Error, Result};
use crate::hashing::structure_digest;

/// Arrays at least this large are checksummed on a second thread while they are written.
const PARALLEL_CHECKSUM_MIN: usize = 1 << 20;

/// How array bytes are stored in the body.
enum Storage {
    /// As is, each at its aligned offset.
    Plain,
    /// As zstd frames at this level, whose lengths are listed here.
    Zstd { level: i32, frames: Vec<u64> },
}

/// The [`ArraySink`] of a file being written: appends each array to the body and records
/// where it went.
struct BodySink {
    out: Spill,
    storage: Storage,
    /// Offset in the file of the next body byte, as if the body were stored as is.
    pos: u64,
    records: Vec<ArrayRecord>,
    /// The first write error, kept whole (serde's errors are only text).
    failure: Option<io::Error>,
    /// Whether a vector went to the body (which readers of version 2 do not know).
    vectors: bool,
}

impl BodySink {
    fn append(&mut self, dtype: DType, bytes: &[u8]) -> io::Result<u64> {
        self.out.before_array()?;
        let padding = (ALIGN - self.pos % ALIGN) % ALIGN;
        let offset = self.pos + padding;
        let check = match &mut self.storage {
            Storage::Plain => {
                self.out.write_all(&[0u8; ALIGN as usize][..padding as usize])?;
                write_checksummed(&mut self.out, bytes)?
            }
            Storage::Zstd { level, frames } => {
                let level = *level;
                let out = &mut self.out;
                beside(|| xxh3_64(bytes), || chunks::compress(bytes, dtype.size(), level, out, frames))?
            }
        };
        self.records.push(ArrayRecord { offset, len: bytes.len() as u64, dtype, check });
        self.pos = offset + bytes.len() as u64;
        Ok(self.records.len() as u64 - 1)
    }

    /// Appends an array or a vector, keeping the first write error whole.
    fn stored(&mut self, dtype: DType, bytes: &[u8]) -> Result<u64, String> {
        self.append(dtype, bytes).map_err(|e| {
            let message = e.to_string();
            self.failure.get_or_insert(e);
            message
        })
    }
}

impl ArraySink for BodySink {
    fn write_array(&mut self, array: ArrayOut<'_>) -> Result<u64, String> {
        self.stored(array.dtype, array.bytes)
    }

    fn write_vector(&mut self, dtype: DType, bytes: &[u8]) -> Option<Result<u64, String>> {
        self.vectors = true;
        Some(self.stored(dtype, bytes))
    }
}

/// Runs `check` on another thread while `work` runs on this one, and returns the check's
/// result once the work succeeded.
fn beside(check: impl FnOnce() -> u64 + Send, work: impl FnOnce() -> io::Result<()>) -> io::Result<u64> {
    std::thread::scope(|scope| {
        let check = scope.spawn(check);
        work()?;
        Ok(check.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Writes `bytes` and returns their xxh3-64, computed beside the write for large arrays.
fn write_checksummed(out: &mut dyn Write, bytes: &[u8]) -> io::Result<u64> {
    if bytes.len() < PARALLEL_CHECKSUM_MIN {
        out.write_all(bytes)?;
        return Ok(xxh3_64(bytes));
    }
    beside(|| xxh3_64(bytes), || out.write_all(bytes))
}

/// Writes `value` to `path` as described in [`format`](super::format).
pub(crate) fn dump<T: Serialize + ?Sized>(value: &T, path: &Path, compress: Compress) -> Result<()> {
    match encode(value, Spill::to_file(path), compress)? {
        Some(Spilled::File(target)) => target.commit(),
        _ => unreachable!("a file is never refused and never held in memory"),
    }
}

/// The file of `value`, in memory if it has at most `limit` bytes (uncompressed: compressing
/// so little gains nothing) and, unless `arrays`, no array; else written aside at `path` to
/// be committed (its folder created if missing). The cache packs small results together and
/// stores others in files of their own; an uncompressed file is encoded once either way.
pub(crate) fn dump_or_keep<T: Serialize + ?Sized>(
    value: &T,
    path: &Path,
    compress: Compress,
    limit: usize,
    arrays: bool,
) -> Result<Spilled> {
    let beyond = if compress.zstd_level().is_some() { Beyond::Refuse } else { Beyond::File };
    match encode(value, Spill::in_memory(path, limit, beyond, arrays), Compress::None)? {
        Some(spilled) => Ok(spilled),
        None => {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
            }
            match encode(value, Spill::to_file(path), compress)? {
                Some(spilled) => Ok(spilled),
                None => unreachable!("a file is never refused"),
            }
        }
    }
}

/// The file of `value` (named `path` in messages) written to `out`; `None` if `out` refused
/// to hold it.
fn encode<T: Serialize + ?Sized>(value: &T, out: Spill, compress: Compress) -> Result<Option<Spilled>> {
    let path = &out.path().to_owned();
    let io_err = |e| Error::io(path, e);
    let structure =
        structure_digest(value).map_err(|e| Error::Serialize { path: path.to_owned(), what: e.to_string() })?;
    let mut out = out;
    out.write_all(&[0u8; HEADER_LEN]).map_err(io_err)?;

    let level = compress.zstd_level();
    let storage = match level {
        Some(level) => Storage::Zstd { level, frames: Vec::new() },
        None => Storage::Plain,
    };
    let sink = BodySink { out, storage, pos: HEADER_LEN as u64, records: Vec::new(), failure: None, vectors: false };
    let sink = Rc::new(RefCell::new(sink));
    let payload = with_sink(sink.clone(), || value::to_bytes(value));
    let Ok(sink) = Rc::try_unwrap(sink) else { unreachable!("the sink is shared only while the value is serialized") };
    let BodySink { mut out, storage, pos, records, failure, vectors } = sink.into_inner();
    if out.refused() {
        return Ok(None);
    }
    if let Some(e) = failure {
        return Err(io_err(e));
    }
    let payload = payload.map_err(|e| Error::Serialize { path: path.to_owned(), what: e.to_string() })?;

    // The index as stored, in parts written one after the other (a plain index is its fixed
    // part, then the payload, which is not copied), and its decoded length.
    let (parts, index_raw_len): ([Vec<u8>; 2], usize) = match &storage {
        Storage::Plain => {
            let fixed = encode_index(structure, &records, None, &[]);
            let len = fixed.len() + payload.len();
            ([fixed, payload], len)
        }
        Storage::Zstd { level, frames } => {
            let frames = Frames { chunk: chunks::CHUNK as u64, lens: frames.clone() };
            let index = encode_index(structure, &records, Some(&frames), &payload);
            let compressed = zstd::bulk::compress(&index, *level).map_err(io_err)?;
            if !index_ratio_ok(index.len() as u64, compressed.len() as u64) {
                // More than a reader accepts (see `INDEX_RATIO`): stored uncompressed.
                drop(out);
                return encode(value, Spill::to_file(path), Compress::None);
            }
            ([compressed, Vec::new()], index.len())
        }
    };
    let index_offset = out.position();
    let index_check = || {
        let mut check = xxhash_rust::xxh3::Xxh3Default::new();
        parts.iter().for_each(|part| check.update(part));
        check.digest()
    };
    let index_len: usize = parts.iter().map(Vec::len).sum();
    let write = |out: &mut Spill| parts.iter().try_for_each(|part| out.write_all(part));
    // A large payload (a `Vec` of 100 MiB) is checksummed beside its write, as arrays are.
    let written = if index_len < PARALLEL_CHECKSUM_MIN {
        write(&mut out).map(|()| index_check())
    } else {
        beside(index_check, || write(&mut out))
    };
    let index_check = match written {
        Ok(check) => check,
        Err(e) => return if out.refused() { Ok(None) } else { Err(io_err(e)) },
    };
    let header = Header {
        // Files without out-of-line vectors stay readable by builds that read version 2.
        version: if vectors { VERSION } else { VERSION_INLINE_VECTORS },
        flags: if level.is_some() { FLAG_ZSTD } else { 0 },
        body_len: pos - HEADER_LEN as u64,
        index_offset,
        index_len: index_len as u64,
        index_raw_len: index_raw_len as u64,
        index_check,
    };
    out.finish(&header.encode()).map(Some)
}
