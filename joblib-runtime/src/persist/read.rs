//! Reading a value from a joblib file, into memory or mapped.

use std::any::type_name;
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::chunks;
use super::format::{
    checksum_ok, decode_index, ArrayRecord, FormatError, Frames, Header, Index, ALIGN, HEADER_LEN,
    VERSION_OUT_OF_LINE_VECTORS, VERSION_POSTCARD,
};
use super::{read_up_to, value, verified};
use crate::array::{with_source, AlignedBuf, ArraySource, Backing, DType, SharedBytes};
use crate::error::{Error, Result};
use crate::hashing::structure_digest;

pub(super) fn format_error(path: &Path, err: FormatError) -> Error {
    match err {
        FormatError::BadMagic => Error::BadMagic { path: path.to_owned() },
        FormatError::Version(found) => {
            Error::UnsupportedVersion { path: path.to_owned(), found, supported: super::format::VERSION }
        }
        FormatError::Corrupt(what) => Error::corrupt(path, what),
    }
}

/// Checks the stored index against the header's checksum.
pub(super) fn check_index(path: &Path, header: &Header, stored: &[u8]) -> Result<()> {
    index_check_ok(path, header, xxh3_64(stored))
}

/// Checks the checksum of the stored index, `computed`, against the header's.
fn index_check_ok(path: &Path, header: &Header, computed: u64) -> Result<()> {
    if !checksum_ok(computed, header.index_check) {
        return Err(Error::corrupt(path, "index checksum mismatch"));
    }
    Ok(())
}

/// The index as stored, then as decoded.
enum IndexBytes {
    /// Read into a buffer that large reads fill with few page faults (huge pages).
    Stored(AlignedBuf),
    /// Decompressed.
    Decoded(Vec<u8>),
}

impl IndexBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            IndexBytes::Stored(buf) => buf.as_bytes(),
            IndexBytes::Decoded(raw) => raw,
        }
    }
}

/// Checks the stored index against its checksum, computed as it was read, and decodes it when
/// compressed.
fn index_bytes(path: &Path, header: &Header, stored: AlignedBuf, computed: u64) -> Result<IndexBytes> {
    index_check_ok(path, header, computed)?;
    if !header.compressed() {
        return Ok(IndexBytes::Stored(stored));
    }
    let mut raw = Vec::new();
    let decoder = zstd::stream::read::Decoder::new(stored.as_bytes()).map_err(|e| Error::io(path, e))?;
    decoder
        .take(header.index_raw_len.saturating_add(1))
        .read_to_end(&mut raw)
        .map_err(|e| Error::corrupt(path, format!("the compressed index is damaged (zstd: {e})")))?;
    if raw.len() as u64 != header.index_raw_len {
        return Err(Error::corrupt(path, "compressed index has the wrong length"));
    }
    Ok(IndexBytes::Decoded(raw))
}

/// A buffer for `record`'s bytes, or an error if this machine cannot hold them.
fn buffer_for(path: &Path, record: &ArrayRecord) -> Result<AlignedBuf> {
    usize::try_from(record.len).ok().and_then(AlignedBuf::try_zeroed).ok_or_else(|| {
        Error::Resources(format!("{}: an array of {} bytes does not fit in memory", path.display(), record.len))
    })
}

/// Checks `buf` against the checksum `check` of array `i`, computed beforehand or now.
fn checked_array(
    path: &Path,
    i: usize,
    record: &ArrayRecord,
    buf: AlignedBuf,
    check: Option<u64>,
) -> Result<(DType, SharedBytes)> {
    if !checksum_ok(check.unwrap_or_else(|| xxh3_64(buf.as_bytes())), record.check) {
        return Err(Error::corrupt(path, format!("array {i} checksum mismatch")));
    }
    let range = 0..buf.as_bytes().len();
    Ok((record.dtype, SharedBytes { backing: Arc::new(Backing::Buffer(buf)), range }))
}

/// Bytes read at a time while a second thread checksums what was read before.
const READ_PIECE: usize = 16 << 20;

/// Fills `buf` from `file` and returns the xxh3-64 of its bytes, hashing each piece on a
/// second thread while the next one is read.
fn read_checksummed(file: &mut File, buf: &mut [u8]) -> io::Result<u64> {
    if buf.len() <= READ_PIECE {
        file.read_exact(buf)?;
        return Ok(xxh3_64(buf));
    }
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::channel::<&[u8]>();
        let hasher = scope.spawn(move || {
            let mut state = xxhash_rust::xxh3::Xxh3Default::new();
            for piece in receive {
                state.update(piece);
            }
            state.digest()
        });
        for piece in buf.chunks_mut(READ_PIECE) {
            file.read_exact(piece)?;
            // The hasher only stops receiving if it panicked, which `join` reports below.
            let _ = send.send(piece);
        }
        drop(send);
        Ok(hasher.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Reads the body of an uncompressed file from its start: every array into its own aligned
/// buffer, and the padding around them, which must be zeros.
fn read_plain_arrays(
    path: &Path,
    file: &mut File,
    header: &Header,
    records: &[ArrayRecord],
) -> Result<Vec<(DType, SharedBytes)>> {
    let io_err = |e| Error::io(path, e);
    file.seek(SeekFrom::Start(HEADER_LEN as u64)).map_err(io_err)?;
    let mut pos = HEADER_LEN as u64;
    let skip_padding = |file: &mut File, pos: &mut u64, to: u64| -> Result<()> {
        let mut padding = [0u8; ALIGN as usize];
        let padding = &mut padding[..(to - *pos) as usize];
        file.read_exact(padding).map_err(io_err)?;
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::corrupt(path, format!("padding before byte {to} is not zero")));
        }
        *pos = to;
        Ok(())
    };
    let mut arrays = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        skip_padding(file, &mut pos, record.offset)?;
        let mut buf = buffer_for(path, record)?;
        let check = read_checksummed(file, buf.as_bytes_mut()).map_err(io_err)?;
        pos = record.end();
        arrays.push(checked_array(path, i, record, buf, Some(check))?);
    }
    skip_padding(file, &mut pos, header.index_offset)?;
    Ok(arrays)
}

/// Reads and decompresses the arrays of a compressed file, whose frames follow one another
/// from the end of the header.
fn read_compressed_arrays(
    path: &Path,
    file: &mut File,
    records: &[ArrayRecord],
    frames: &Frames,
) -> Result<Vec<(DType, SharedBytes)>> {
    file.seek(SeekFrom::Start(HEADER_LEN as u64)).map_err(|e| Error::io(path, e))?;
    let mut input = io::BufReader::new(file);
    let mut lens = frames.lens.as_slice();
    let chunk = frames.chunk as usize;
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let (mine, rest) = lens.split_at(record.len.div_ceil(frames.chunk) as usize);
            lens = rest;
            let mut buf = buffer_for(path, record)?;
            chunks::decompress(&mut input, mine, chunk, record.dtype.size(), buf.as_bytes_mut())
                .map_err(|e| Error::corrupt(path, format!("array {i}: {e}")))?;
            checked_array(path, i, record, buf, None)
        })
        .collect()
}

/// The length of the file `metadata` describes; a folder or an empty file is an error that
/// says so.
pub(super) fn check_file(path: &Path, metadata: &std::fs::Metadata) -> Result<u64> {
    if metadata.is_dir() {
        let folder = io::Error::new(io::ErrorKind::IsADirectory, "a folder, not a joblib file");
        return Err(Error::io(path, folder));
    }
    if metadata.len() == 0 {
        return Err(Error::corrupt(path, "the file is empty (0 bytes)"));
    }
    Ok(metadata.len())
}

/// Reads the whole value of `path` into memory, checking every checksum.
pub(crate) fn load<T: Serialize + DeserializeOwned>(path: &Path) -> Result<T> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    read_checked(path, &mut file, |header, index, arrays| decode_value(path, header.version, index, arrays, true))
}

/// Checks every checksum of the joblib file `file` (at `path`): its header, its index (which
/// holds the value's encoding) and each array, without decoding the value; the file's length.
pub(crate) fn verify(path: &Path, mut file: File) -> Result<u64> {
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    read_checked(path, &mut file, |_, _, _| Ok(len))
}

/// Reads the header, index and arrays of `file` (at `path`), checking every checksum, and
/// gives them to `then`.
fn read_checked<R>(
    path: &Path,
    file: &mut File,
    then: impl FnOnce(&Header, &Index<'_>, Vec<(DType, SharedBytes)>) -> Result<R>,
) -> Result<R> {
    let io_err = |e| Error::io(path, e);
    let file_len = check_file(path, &file.metadata().map_err(io_err)?)?;
    let mut head = [0u8; HEADER_LEN];
    let n = read_up_to(file, &mut head).map_err(io_err)?;
    let header = Header::decode(&head[..n], file_len).map_err(|e| format_error(path, e))?;

    // (Its length was checked against the file's.)
    let mut stored = AlignedBuf::try_zeroed(header.index_len as usize).ok_or_else(|| {
        Error::Resources(format!("{}: an index of {} bytes does not fit in memory", path.display(), header.index_len))
    })?;
    file.seek(SeekFrom::Start(header.index_offset)).map_err(io_err)?;
    // A large payload (a `Vec` of 100 MiB) is checksummed as it is read, as arrays are.
    let computed = read_checksummed(file, stored.as_bytes_mut()).map_err(io_err)?;
    let raw = index_bytes(path, &header, stored, computed)?;
    let stored_body_len = header.compressed().then(|| header.index_offset - HEADER_LEN as u64);
    let index = decode_index(raw.bytes(), header.body_len, stored_body_len).map_err(|e| format_error(path, e))?;

    let arrays = match &index.frames {
        Some(frames) => read_compressed_arrays(path, file, &index.arrays, frames)?,
        None => read_plain_arrays(path, file, &header, &index.arrays)?,
    };
    then(&header, &index, arrays)
}

/// Whether a mapped load checks the arrays' checksums.
#[derive(Clone, Copy)]
pub(crate) enum ArrayChecks<'a> {
    /// Header and index only: the arrays' bytes are not read.
    Skip,
    /// Every array's checksum, the first time this process maps this version of the file,
    /// unless the file still has the stamp it had when it was written, which this gives (asked
    /// only for a file with arrays not verified yet).
    FirstMap(&'a dyn Fn() -> Option<verified::FileStamp>),
}

/// The arrays of one file.
struct TableSource {
    arrays: Vec<(DType, SharedBytes)>,
    /// The checksums of the arrays when they were not checked (a mapped file): vectors taken
    /// out of line are checked against them.
    unchecked: Option<Vec<u64>>,
    /// Why the last request failed (postcard keeps only a generic message).
    failure: Option<String>,
    /// A vector whose bytes do not match their checksum.
    damaged: Option<String>,
}

impl TableSource {
    /// The bytes of array `index`. They may be asked for more than once (serde tries each
    /// variant of an untagged enum in turn); arrays are immutable, so sharing them is safe.
    fn lookup(&mut self, index: u64, dtype: DType) -> Result<SharedBytes, String> {
        let count = self.arrays.len();
        let Some((stored, bytes)) = usize::try_from(index).ok().and_then(|i| self.arrays.get(i)) else {
            return Err(format!("array {index} does not exist (the file has {count})"));
        };
        if *stored != dtype {
            return Err(format!("array {index} holds {stored:?} elements, not {dtype:?}"));
        }
        Ok(bytes.clone())
    }
}

impl ArraySource for TableSource {
    fn take(&mut self, index: u64, dtype: DType) -> Result<SharedBytes, String> {
        self.lookup(index, dtype).inspect_err(|e| self.failure = Some(e.clone()))
    }

    fn take_vector(&mut self, index: u64, dtype: DType) -> Result<SharedBytes, String> {
        let bytes = self.take(index, dtype)?;
        let check = self.unchecked.as_ref().and_then(|checks| checks.get(index as usize));
        if check.is_some_and(|&check| !checksum_ok(xxh3_64(bytes.bytes()), check)) {
            let damaged = format!("array {index} checksum mismatch");
            self.damaged = Some(damaged.clone());
            return Err(damaged);
        }
        Ok(bytes)
    }
}

/// Decodes the postcard payload of a format version 1 file, with postcard's errors in words.
fn decode_postcard<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes of the stored value are left over", rest.len())),
        Err(postcard::Error::DeserializeUnexpectedEnd) => {
            Err("the stored value ends before the type does (it was written from another type)".into())
        }
        Err(postcard::Error::WontImplement) => Err("the type needs a self-describing format (an untagged or \
             internally tagged enum, #[serde(flatten)], or a type such as serde_json::Value), which files of \
             format version 1 do not have: dump the value again with this version"
            .into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The value of a joblib file without arrays, from what
/// [`format::compact_of`](super::format::compact_of) took of it (named `path` in messages).
pub(crate) fn decode_compact<T: Serialize + DeserializeOwned>(
    path: &Path,
    structure: u128,
    payload: &[u8],
) -> Result<T> {
    let index = Index { structure, arrays: Vec::new(), frames: None, payload };
    decode_value(path, super::format::VERSION_INLINE_VECTORS, &index, Vec::new(), true)
}

/// Decodes the payload with `arrays` as its array table and checks the result has the stored
/// structure.
pub(super) fn decode_value<T: Serialize + DeserializeOwned>(
    path: &Path,
    version: u32,
    index: &Index<'_>,
    arrays: Vec<(DType, SharedBytes)>,
    arrays_checked: bool,
) -> Result<T> {
    let mismatch = |what: String| Error::TypeMismatch { path: path.to_owned(), requested: type_name::<T>(), what };
    // Only a version 3 file has vectors out of line: a hit on another pays nothing for them.
    let has_vectors = version >= VERSION_OUT_OF_LINE_VECTORS;
    let unchecked = (!arrays_checked && has_vectors).then(|| index.arrays.iter().map(|record| record.check).collect());
    let source = Rc::new(RefCell::new(TableSource { arrays, unchecked, failure: None, damaged: None }));
    let decoded = with_source(source.clone(), || match version {
        VERSION_POSTCARD => decode_postcard(index.payload),
        _ => value::from_bytes::<T>(index.payload).map_err(|e| e.0),
    });
    if let Some(damaged) = source.borrow_mut().damaged.take() {
        return Err(Error::corrupt(path, damaged));
    }
    let value = decoded.map_err(|e| {
        let reason = source.borrow_mut().failure.take().unwrap_or(e);
        mismatch(format!("the stored value does not decode as this type: {reason}"))
    })?;
    let structure = structure_digest(&value).map_err(|e| mismatch(e.to_string()))?;
    if structure != index.structure {
        return Err(mismatch("its fields, variants or element types differ".to_string()));
    }
    Ok(value)
}
