//! numpy's `.npy` files, so that numpy can open what Rust wrote and the other way round.
//!
//! Reads format versions 1.0, 2.0 and 3.0 in C order, little- or big-endian (big-endian data
//! is byte-swapped into memory), for `bool`, `i8` to `i64`, `u8` to `u64`, `f32` and `f64`.
//! Writes version 1.0 with the header padded so that the data starts at a multiple of 64 bytes,
//! byte for byte as numpy does. Fortran-order files are refused with an
//! error that says so.
//!
//! ```
//! use joblib::{npy, Array};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("grid.npy");
//! let grid = Array::from_shape_vec([2, 3], vec![1i32, 2, 3, 4, 5, 6])?;
//! npy::save(&grid, &path)?;
//! assert_eq!(npy::load::<i32>(&path)?, grid);
//! assert!(npy::load_mmap::<i32>(&path)?.is_mapped());
//! assert!(npy::load::<f64>(&path).is_err(), "the file holds i32");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use super::atomic::AtomicFile;
use super::read_up_to;
use crate::array::{AlignedBuf, Array, Backing, DType, Element, FileOrigin, SharedBytes};
use crate::error::{Error, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Where the data of a file we write starts: a multiple of this.
const DATA_ALIGN: usize = 64;
/// The digits numpy leaves room for in the header for the first axis to grow in place
/// (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_DIGITS: usize = 21;
/// numpy's limit on the number of axes (`NPY_MAXDIMS`).
const MAX_AXES: usize = 64;

/// Writes `array` to `path` as a `.npy` file (written aside and renamed into place).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// joblib::npy::save(&joblib::Array::from(vec![true, false]), dir.path().join("mask.npy"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written; [`Error::Npy`] if the array has more than 64
/// axes, which numpy cannot represent.
pub fn save<T: Element>(array: &Array<T>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if array.ndim() > MAX_AXES {
        return Err(Error::npy(path, format!("{} axes; numpy arrays have at most {MAX_AXES}", array.ndim())));
    }
    let target = AtomicFile::create(path)?;
    let mut out = std::io::BufWriter::new(target.file());
    out.write_all(&header_bytes(T::DTYPE, array.shape()))
        .and_then(|()| out.write_all(array.as_bytes()))
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(path, e))?;
    drop(out);
    target.commit()
}

/// Reads the `.npy` file at `path` into memory.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.npy");
/// joblib::npy::save(&joblib::Array::from(vec![1.0f32, 2.0]), &path)?;
/// assert_eq!(&joblib::npy::load::<f32>(&path)?[..], &[1.0, 2.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`] if it cannot be read; [`Error::Npy`] if it is not a valid `.npy` file, is in
/// Fortran order, holds another element type than `T`, or its header disagrees with its size.
pub fn load<T: Element>(path: impl AsRef<Path>) -> Result<Array<T>> {
    let path = path.as_ref();
    let io_err = |e| Error::io(path, e);
    let mut file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let mut prelude = [0u8; 12];
    let n = read_up_to(&mut file, &mut prelude).map_err(io_err)?;
    let (prelude_len, header_len) = header_extent(path, &prelude[..n], file_len)?;
    let mut head = vec![0u8; prelude_len + header_len];
    file.seek(SeekFrom::Start(0)).and_then(|_| file.read_exact(&mut head)).map_err(io_err)?;
    let header = parse_header::<T>(path, &head, file_len)?;

    let data_len = (file_len - header.data_offset as u64) as usize;
    let mut buf = AlignedBuf::try_zeroed(data_len)
        .ok_or_else(|| Error::npy(path, format!("{data_len} bytes of data do not fit in memory")))?;
    file.read_exact(buf.as_bytes_mut()).map_err(io_err)?;
    if header.big_endian {
        for element in buf.as_bytes_mut().chunks_exact_mut(T::DTYPE.size()) {
            element.reverse();
        }
    }
    let bytes = SharedBytes { backing: Arc::new(Backing::Buffer(buf)), range: 0..data_len };
    Array::from_shared(header.shape, bytes).map_err(|what| Error::npy(path, what))
}

/// Maps the `.npy` file at `path`: the array's elements stay in the file and are read when
/// used. Files that cannot be viewed in place (big-endian data, data not aligned for `T`,
/// `bool` elements, which must be checked) are read into memory as by [`load`].
///
/// The mapping stays valid while the array (or a clone of it) is alive, also if the file is
/// deleted or replaced by [`save`], which writes a new file and renames it over the old one.
/// Modifying or truncating the file **in place** while it is mapped is not supported: numpy
/// does exactly that with `np.load(path, mmap_mode="r+")` and `np.memmap`, so do not write a
/// file from numpy in place while Rust maps it (the array would change under Rust's feet, and
/// a truncation ends the program with `SIGBUS` when a vanished page is read). Use [`load`] for
/// files another program may rewrite.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.npy");
/// joblib::npy::save(&joblib::Array::from(vec![7u64; 1000]), &path)?;
/// let a = joblib::npy::load_mmap::<u64>(&path)?;
/// assert!(a.is_mapped());
/// assert_eq!(a[999], 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`load`].
pub fn load_mmap<T: Element>(path: impl AsRef<Path>) -> Result<Array<T>> {
    let path = path.as_ref();
    let io_err = |e| Error::io(path, e);
    let file = File::open(path).map_err(io_err)?;
    let metadata = file.metadata().map_err(io_err)?;
    if metadata.len() == 0 {
        return load(path); // nothing to map; `load` reports the empty file
    }
    // SAFETY: the mapping is sound while the file is not modified or truncated in place, which
    // `save` never does (it renames a new file over the old one) and `load_mmap`'s
    // documentation rules out for other writers. All reads are bounds-checked against the
    // mapping's length.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
    let backing = Arc::new(Backing::Map(map, Some(FileOrigin::of(path, &metadata))));
    let bytes = backing.bytes();
    let (prelude_len, header_len) = header_extent(path, bytes, bytes.len() as u64)?;
    let header = parse_header::<T>(path, &bytes[..prelude_len + header_len], bytes.len() as u64)?;
    let range = header.data_offset..bytes.len();
    if header.big_endian || T::view(&bytes[range.clone()]).is_none() {
        drop(backing);
        return load(path);
    }
    Array::from_shared(header.shape, SharedBytes { backing, range }).map_err(|what| Error::npy(path, what))
}

/// The `.npy` header for an array of `dtype` and `shape`, padded with spaces so that the data
/// that follows starts at a multiple of 64 bytes.
fn header_bytes(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", dtype.npy_descr());
    // As numpy: room for the first axis to grow to 21 digits in place, then padding to the
    // alignment. Version 1: a 2-byte header length, which 64 axes never come near.
    let growth = dims.first().map_or(0, |first| GROWTH_AXIS_DIGITS.saturating_sub(first.len()));
    let total = (10 + dict.len() + growth + 1).next_multiple_of(DATA_ALIGN);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// The length of the fixed prelude and of the header text, checked against the file length.
fn header_extent(path: &Path, prelude: &[u8], file_len: u64) -> Result<(usize, usize)> {
    if prelude.len() < 10 || &prelude[..6] != MAGIC {
        return Err(Error::npy(path, "no .npy magic number (\\x93NUMPY)"));
    }
    let (prelude_len, header_len) = match prelude[6] {
        1 => (10, usize::from(u16::from_le_bytes([prelude[8], prelude[9]]))),
        2 | 3 if prelude.len() >= 12 => {
            (12, u32::from_le_bytes([prelude[8], prelude[9], prelude[10], prelude[11]]) as usize)
        }
        2 | 3 => return Err(Error::npy(path, "truncated header")),
        major => return Err(Error::npy(path, format!("format version {major}.{} is not supported", prelude[7]))),
    };
    if (prelude_len + header_len) as u64 > file_len {
        return Err(Error::npy(path, format!("the header claims {header_len} bytes, more than the file has")));
    }
    Ok((prelude_len, header_len))
}

/// What a `.npy` header says.
struct NpyHeader {
    shape: Vec<usize>,
    big_endian: bool,
    data_offset: usize,
}

/// Parses the header in `head` (prelude and header text) and checks it describes `T` elements
/// filling exactly the rest of a file of `file_len` bytes.
fn parse_header<T: Element>(path: &Path, head: &[u8], file_len: u64) -> Result<NpyHeader> {
    let bad = |what: String| Error::npy(path, what);
    let prelude_len = if head[6] == 1 { 10 } else { 12 };
    let text = std::str::from_utf8(&head[prelude_len..]).map_err(|_| bad("the header is not text".into()))?;
    let dict = dict::parse(text).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if dict.fortran_order {
        return Err(bad("Fortran-order arrays are not supported; save with np.ascontiguousarray".into()));
    }
    let (dtype, big_endian) = parse_descr(&dict.descr).map_err(bad)?;
    if dtype != T::DTYPE {
        return Err(bad(format!("holds '{}' elements ({dtype:?}), not {:?}", dict.descr, T::DTYPE)));
    }
    let data_len = file_len - head.len() as u64;
    let expected = dict.shape.iter().try_fold(dtype.size() as u64, |n, &d| n.checked_mul(d));
    if expected != Some(data_len) {
        return Err(bad(format!("the header's shape {:?} does not match the {data_len} bytes of data", dict.shape)));
    }
    let shape = dict.shape.iter().map(|&d| d as usize).collect();
    Ok(NpyHeader { shape, big_endian: big_endian && dtype.size() > 1, data_offset: head.len() })
}

/// The element type and byte order of a numpy type string such as `<f8` or `|b1`, or what is
/// wrong with it.
fn parse_descr(descr: &str) -> std::result::Result<(DType, bool), String> {
    let supported = "the supported ones are b1, i1 to i8, u1 to u8, f4 and f8";
    let mut chars = descr.chars();
    let big_endian = match chars.next() {
        Some('<' | '|' | '=') => false,
        Some('>') => true,
        _ => {
            return Err(format!(
                "dtype '{descr}' has no byte order: numpy writes '<' (little-endian), '>' (big-endian) \
                 or '|' (single bytes) first, as in '<{descr}'"
            ))
        }
    };
    let kind = chars.next();
    let size = chars.as_str().parse::<usize>().ok();
    match (kind, size) {
        (Some(kind), Some(size)) => DType::from_kind_size(kind, size)
            .map(|dtype| (dtype, big_endian))
            .ok_or_else(|| format!("unsupported dtype '{descr}': {supported}")),
        _ => Err(format!("unreadable dtype '{descr}': {supported}")),
    }
}

/// A parser for the one Python literal a `.npy` header holds:
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }`.
mod dict {
    pub(super) struct Dict {
        pub(super) descr: String,
        pub(super) fortran_order: bool,
        pub(super) shape: Vec<u64>,
    }

    struct Cursor<'a>(&'a str);

    impl<'a> Cursor<'a> {
        fn skip_space(&mut self) {
            self.0 = self.0.trim_start();
        }
        fn eat(&mut self, token: &str) -> bool {
            self.skip_space();
            match self.0.strip_prefix(token) {
                Some(rest) => {
                    self.0 = rest;
                    true
                }
                None => false,
            }
        }
        fn expect(&mut self, token: &str) -> Result<(), String> {
            if self.eat(token) {
                Ok(())
            } else {
                Err(format!("expected `{token}` at `{}`", self.0.chars().take(20).collect::<String>()))
            }
        }
        fn string(&mut self) -> Result<&'a str, String> {
            self.skip_space();
            let quote = self.0.chars().next().filter(|&c| c == '\'' || c == '"').ok_or("expected a string")?;
            let rest = &self.0[1..];
            let end = rest.find(quote).ok_or("unterminated string")?;
            self.0 = &rest[end + 1..];
            Ok(&rest[..end])
        }
        fn integer(&mut self) -> Result<u64, String> {
            self.skip_space();
            let digits = self.0.find(|c: char| !c.is_ascii_digit()).unwrap_or(self.0.len());
            let value = self.0[..digits].parse().map_err(|_| "expected a non-negative integer".to_string())?;
            self.0 = &self.0[digits..];
            // numpy 1.x on some platforms wrote `3L`.
            self.eat("L");
            Ok(value)
        }
        fn tuple(&mut self) -> Result<Vec<u64>, String> {
            self.expect("(")?;
            let mut items = Vec::new();
            while !self.eat(")") {
                items.push(self.integer()?);
                if !self.eat(",") {
                    self.expect(")")?;
                    break;
                }
            }
            Ok(items)
        }
    }

    pub(super) fn parse(text: &str) -> Result<Dict, String> {
        let mut cursor = Cursor(text);
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        cursor.expect("{")?;
        while !cursor.eat("}") {
            let key = cursor.string()?;
            cursor.expect(":")?;
            let duplicate = match key {
                "descr" => descr.replace(cursor.string()?.to_string()).is_some(),
                "fortran_order" => {
                    let value = if cursor.eat("True") {
                        true
                    } else {
                        cursor.expect("False")?;
                        false
                    };
                    fortran_order.replace(value).is_some()
                }
                "shape" => shape.replace(cursor.tuple()?).is_some(),
                other => return Err(format!("unexpected key '{other}'")),
            };
            if duplicate {
                return Err(format!("key '{key}' appears twice"));
            }
            if !cursor.eat(",") {
                cursor.expect("}")?;
                break;
            }
        }
        if !cursor.0.trim().is_empty() {
            return Err("text after the dictionary".into());
        }
        Ok(Dict {
            descr: descr.ok_or("no 'descr'")?,
            fortran_order: fortran_order.ok_or("no 'fortran_order'")?,
            shape: shape.ok_or("no 'shape'")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_parses_back() {
        for shape in [vec![], vec![5], vec![2, 3], vec![usize::MAX; MAX_AXES]] {
            let bytes = header_bytes(DType::F64, &shape);
            assert_eq!(bytes.len() % DATA_ALIGN, 0);
            assert_eq!(*bytes.last().unwrap(), b'\n');
            if shape.contains(&usize::MAX) {
                assert!(bytes.len() < usize::from(u16::MAX), "the widest header fits version 1");
                continue;
            }
            let elements: usize = shape.iter().product();
            let file_len = (bytes.len() + 8 * elements) as u64;
            let (p, h) = header_extent(Path::new("x"), &bytes, file_len).unwrap();
            assert_eq!(p + h, bytes.len());
            let header = parse_header::<f64>(Path::new("x"), &bytes, file_len).unwrap();
            assert_eq!(header.shape, shape);
        }
    }

    #[test]
    fn dict_parser_accepts_numpy_spellings() {
        let d = dict::parse("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }   ").unwrap();
        assert_eq!((d.descr.as_str(), d.fortran_order, d.shape), ("<i4", false, vec![3]));
        let d = dict::parse("{\"shape\":(2L, 3L),\"descr\":\"|b1\",\"fortran_order\":True}").unwrap();
        assert_eq!((d.descr.as_str(), d.fortran_order, d.shape), ("|b1", true, vec![2, 3]));
        assert_eq!(
            dict::parse("{'descr': '<f8', 'fortran_order': False, 'shape': ()}").unwrap().shape,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn dict_parser_rejects_hostile_headers() {
        for text in [
            "",
            "{",
            "{'descr': '<f8'}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,)}",
            "{'descr': '<f8, 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk",
        ] {
            assert!(dict::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn descr_mapping() {
        assert_eq!(parse_descr("<f8"), Ok((DType::F64, false)));
        assert_eq!(parse_descr(">i2"), Ok((DType::I16, true)));
        assert_eq!(parse_descr("|u1"), Ok((DType::U8, false)));
        for bad in ["<c16", "O", "<U10", "", "<", "<f"] {
            assert!(parse_descr(bad).is_err(), "{bad}");
        }
        assert!(parse_descr("f8").unwrap_err().contains("no byte order"));
    }
}
