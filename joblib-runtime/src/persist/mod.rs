//! Persistence of any serde value: [`dump`], [`dump_with`], [`load`], [`load_mmap`].
//!
//! A joblib file holds one value. Every [`Array`](crate::Array) inside it is stored out of line
//! at a 64-byte aligned offset, so [`load_mmap`] can map the file and hand out arrays that
//! point into the mapping: a mapped load costs microseconds whatever the arrays' size, and
//! touches no array byte until it is read. The rest of the value is stored in a tagged,
//! self-describing encoding, so every serde shape round-trips (internally tagged and untagged
//! enums, `flatten`, `skip_serializing_if`, `serde_json::Value`). Loading never runs code from
//! the file: the only thing a file can make happen is the construction of the type the caller
//! asked for.
//!
//! Files are written to a temporary file in the same folder and renamed into place, so a crash
//! never leaves a half-written file under the final name. Header, index and every array carry
//! an xxh3 checksum; see [`format`](mod@format) for the layout.
//!
//! The files, one line each:
//!
//! - `format.rs`: the file format: header, index, their checks;
//! - `write.rs`: writing a value: its arrays in the body, the rest in the index;
//! - `read.rs`: reading a file into memory, every checksum checked;
//! - `checked_file.rs`: a file held whole (mapped or read), checked once, decoded any number of times;
//! - `value/`: the self-describing encoding of everything but the arrays;
//! - `chunks.rs` and `shuffle.rs`: compression in independent, byte-shuffled zstd frames;
//! - `spill.rs`: a file kept in memory while it is small, else written aside;
//! - `atomic.rs`: files written aside and renamed into place;
//! - `writer_id.rs`: who wrote a file (process, start time, host), for temporary names and sweeping;
//! - `mapped_counter.rs`: a counter in a file mapped shared by the processes of a host;
//! - `verified.rs`: the files whose arrays this process has verified;
//! - `npy.rs`: numpy's `.npy` files.

mod atomic;
pub(crate) use atomic::AtomicFile;
pub(crate) use checked_file::{load_mmap as load_mmap_checked, CheckedFile, OpenAs};
pub(crate) use mapped_counter::{tallied, MappedCounter, Tally};
pub(crate) use read::{decode_compact, verify as verify_file, ArrayChecks};
pub(crate) use spill::Spilled;
pub(crate) use verified::FileStamp;
pub(crate) use write::dump_or_keep;
pub(crate) use writer_id::{is_abandoned, is_gone, is_temp_name, is_this_process, writer_tag, FOREIGN_STALE_AFTER};
mod checked_file;
mod chunks;
pub mod format;
mod mapped_counter;
pub mod npy;
mod read;
mod shuffle;
mod spill;
pub(crate) mod value;
mod verified;
mod write;
mod writer_id;

use std::io::{self, Read};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Result;

/// Reads as many bytes as fit in `buf` or as the file has.
pub(crate) fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// How [`dump_with`], [`Memory::compress`](crate::Memory::compress) and `#[cached(compress)]`
/// compress a file. A level means one thing everywhere, joblib's: 0 stores uncompressed.
///
/// ```
/// use joblib::Compress;
/// assert_eq!(Compress::default(), Compress::None);
/// assert_eq!(Compress::from(3), Compress::Zstd(3));
/// assert_eq!(Compress::from(0), Compress::None);
/// assert_eq!(Compress::from(true), Compress::Zstd(3));   // joblib's compress=True
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compress {
    /// Stored as is: the fastest to write and read, and mappable by [`load_mmap`].
    #[default]
    None,
    /// zstd at this level (1 = fastest to 22 = smallest; higher levels are clamped to 22; 0,
    /// as joblib's `compress=0`, stores uncompressed). Arrays are cut into 4 MiB chunks, byte-shuffled (as in Blosc)
    /// and compressed as independent frames, so compression and decompression run on every
    /// CPU. Compressed files cannot be
    /// mapped: [`load_mmap`] loads them into memory.
    Zstd(i32),
}

impl Compress {
    /// The zstd level to use, if any.
    fn zstd_level(self) -> Option<i32> {
        match self {
            Compress::None | Compress::Zstd(0) => None,
            Compress::Zstd(level) => {
                let range = zstd::compression_level_range();
                Some(level.clamp(*range.start(), *range.end()))
            }
        }
    }
}

impl From<u32> for Compress {
    /// zstd at `level` (0: uncompressed; above 22: 22).
    fn from(level: u32) -> Compress {
        match level {
            0 => Compress::None,
            level => Compress::Zstd(level.min(22) as i32),
        }
    }
}

impl From<bool> for Compress {
    /// `true`: zstd level 3 (joblib's `compress=True`); `false`: uncompressed.
    fn from(compress: bool) -> Compress {
        Compress::from(if compress { 3 } else { 0 })
    }
}

/// Writes `value` to the file at `path`, replacing it atomically.
///
/// ```
/// use joblib::Array;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Run { name: String, losses: Array<f64> }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("run.jbl");
/// let run = Run { name: "baseline".into(), losses: Array::from(vec![0.9, 0.5, 0.2]) };
/// joblib::dump(&run, &path)?;
/// let back: Run = joblib::load(&path)?;
/// assert_eq!(back, run);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io) if the folder cannot be written (the old file, if any, is
/// left as it was), [`Error::Serialize`](crate::Error::Serialize) if the value's `Serialize`
/// implementation fails.
pub fn dump<T: Serialize + ?Sized>(value: &T, path: impl AsRef<Path>) -> Result<()> {
    write::dump(value, path.as_ref(), Compress::None)
}

/// Like [`dump`], compressed as `compress` says.
///
/// ```
/// use joblib::{Array, Compress};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("ramp.jbl");
/// let ramp = Array::from((0..100_000).map(f64::from).collect::<Vec<_>>());
/// joblib::dump_with(&ramp, &path, Compress::Zstd(3))?;
/// assert!(std::fs::metadata(&path)?.len() < 800_000 / 4);
/// assert_eq!(joblib::load::<Array<f64>>(&path)?, ramp);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`dump`].
pub fn dump_with<T: Serialize + ?Sized>(value: &T, path: impl AsRef<Path>, compress: Compress) -> Result<()> {
    write::dump(value, path.as_ref(), compress)
}

/// Reads the value stored at `path` into memory, checking every checksum.
///
/// `T` must be the type that was dumped, or one with the same structure (same field and
/// variant names and element types); anything else is an
/// [`Error::TypeMismatch`](crate::Error::TypeMismatch), never a garbled value.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("pair.jbl");
/// joblib::dump(&(3u32, String::from("x")), &path)?;
/// let pair: (u32, String) = joblib::load(&path)?;
/// assert_eq!(pair, (3, "x".to_string()));
/// assert!(joblib::load::<Vec<f32>>(&path).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io), [`Error::BadMagic`](crate::Error::BadMagic),
/// [`Error::UnsupportedVersion`](crate::Error::UnsupportedVersion),
/// [`Error::Corrupt`](crate::Error::Corrupt) (a truncated or damaged file) or
/// [`Error::TypeMismatch`](crate::Error::TypeMismatch).
pub fn load<T: Serialize + DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
    read::load(path.as_ref())
}

/// Reads the value stored at `path` with every [`Array`](crate::Array) inside it mapped from
/// the file instead of read: the call costs the same for a kilobyte or a terabyte, and pages
/// are read from disk only when the array is used.
///
/// Header and index are checked as by [`load`]; array checksums are not, because that would
/// read every byte (use [`load`] to verify a file). The mapping stays valid while any array of
/// the value is alive, also if the file is deleted or replaced by another `dump`; modifying or
/// truncating the file in place by other means while it is mapped is not supported. Compressed
/// files cannot be mapped and are loaded as by [`load`].
///
/// ```
/// use joblib::Array;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("big.jbl");
/// joblib::dump(&Array::from(vec![1.5f64; 1 << 20]), &path)?;
/// let mapped: Array<f64> = joblib::load_mmap(&path)?;
/// assert!(mapped.is_mapped());
/// assert_eq!(mapped[12345], 1.5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`load`].
pub fn load_mmap<T: Serialize + DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
    checked_file::load_mmap(path.as_ref(), read::ArrayChecks::Skip)
}
