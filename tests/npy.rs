//! `.npy` interop, against files written by real numpy (`tests/fixtures/npy`, made by
//! `make_fixtures.py` there).

use std::path::{Path, PathBuf};

use joblib::{npy, Array, Element, Error};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy").join(name)
}

fn check<T: Element>(name: &str, shape: &[usize], data: &[T]) {
    for array in [npy::load::<T>(fixture(name)).unwrap(), npy::load_mmap::<T>(fixture(name)).unwrap()] {
        assert_eq!(array.shape(), shape, "{name}");
        assert_eq!(&array[..], data, "{name}");
    }
}

#[test]
fn reads_what_numpy_wrote() {
    check("f64_2x3.npy", &[2, 3], &[0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
    check("f32_4.npy", &[4], &[1.5f32, -2.0, f32::INFINITY, 0.0]);
    check("i1_5.npy", &[5], &[0i8, 1, 2, 100, 127]);
    check("i2_5.npy", &[5], &[0i16, 1, 2, 100, 127]);
    check("i4_5.npy", &[5], &[0i32, 1, 2, 100, 127]);
    check("i8_5.npy", &[5], &[0i64, 1, 2, 100, 127]);
    check("u1_5.npy", &[5], &[0u8, 1, 2, 100, 127]);
    check("u2_5.npy", &[5], &[0u16, 1, 2, 100, 127]);
    check("u4_5.npy", &[5], &[0u32, 1, 2, 100, 127]);
    check("u8_5.npy", &[5], &[0u64, 1, 2, 100, 127]);
    check("i8_neg.npy", &[3], &[-1i64, -(1 << 62), 1 << 62]);
    check("bool_2x2.npy", &[2, 2], &[true, false, false, true]);
    check("f64_scalar.npy", &[], &[3.25]);
    check("f64_empty_0x4.npy", &[0, 4], &[] as &[f64]);
    check("f32_v2.npy", &[7], &[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    check("f32_v3.npy", &[3], &[0.0f32, 1.0, 2.0]);
}

#[test]
fn numpy_files_map_without_a_copy_where_possible() {
    assert!(npy::load_mmap::<f64>(fixture("f64_2x3.npy")).unwrap().is_mapped());
    assert!(!npy::load::<f64>(fixture("f64_2x3.npy")).unwrap().is_mapped());
    assert!(!npy::load_mmap::<bool>(fixture("bool_2x2.npy")).unwrap().is_mapped(), "bools are checked");
}

#[test]
fn big_endian_data_is_swapped_into_memory() {
    check("f64_big_endian.npy", &[3], &[1.0, 2.5, -3.0]);
    assert!(!npy::load_mmap::<f64>(fixture("f64_big_endian.npy")).unwrap().is_mapped());
}

#[test]
fn what_we_write_is_byte_for_byte_what_numpy_writes() {
    let dir = tempfile::tempdir().unwrap();
    type Writer = Box<dyn Fn(&Path)>;
    let cases: [(&str, Writer); 8] = [
        (
            "u1_64_axes.npy",
            Box::new(|p| npy::save(&Array::from_shape_vec(vec![1usize; 64], vec![9u8]).unwrap(), p).unwrap()),
        ),
        (
            "u1_2x1x20.npy",
            Box::new(|p| {
                let mut shape = vec![2usize];
                shape.extend([1; 20]);
                npy::save(&Array::from_shape_vec(shape, vec![0u8, 1]).unwrap(), p).unwrap()
            }),
        ),
        (
            "f64_shape_10000x1.npy",
            Box::new(|p| npy::save(&Array::from_shape_vec([10000, 1], vec![0.0f64; 10000]).unwrap(), p).unwrap()),
        ),
        ("f64_2x3.npy", Box::new(|p| npy::save(&npy::load::<f64>(fixture("f64_2x3.npy")).unwrap(), p).unwrap())),
        ("i2_5.npy", Box::new(|p| npy::save(&Array::from(vec![0i16, 1, 2, 100, 127]), p).unwrap())),
        ("bool_2x2.npy", Box::new(|p| npy::save(&npy::load::<bool>(fixture("bool_2x2.npy")).unwrap(), p).unwrap())),
        ("f64_scalar.npy", Box::new(|p| npy::save(&Array::from_shape_vec(vec![], vec![3.25]).unwrap(), p).unwrap())),
        (
            "f64_empty_0x4.npy",
            Box::new(|p| npy::save(&Array::<f64>::from_shape_vec([0, 4], vec![]).unwrap(), p).unwrap()),
        ),
    ];
    for (name, write) in cases {
        let ours = dir.path().join(name);
        write(&ours);
        assert_eq!(std::fs::read(&ours).unwrap(), std::fs::read(fixture(name)).unwrap(), "{name}");
    }
}

#[test]
fn round_trips_every_element_type() {
    let dir = tempfile::tempdir().unwrap();
    fn round_trip<T: Element>(dir: &Path, data: Vec<T>) {
        let path = dir.join("x.npy");
        let array = Array::from_shape_vec([2, data.len() / 2], data).unwrap();
        npy::save(&array, &path).unwrap();
        assert_eq!(npy::load::<T>(&path).unwrap(), array);
        assert_eq!(npy::load_mmap::<T>(&path).unwrap(), array);
    }
    round_trip(dir.path(), vec![1.5f32, -2.0]);
    round_trip(dir.path(), vec![f64::MIN, f64::MAX, 0.0, -0.0]);
    round_trip(dir.path(), vec![i8::MIN, i8::MAX]);
    round_trip(dir.path(), vec![i16::MIN, i16::MAX]);
    round_trip(dir.path(), vec![i32::MIN, i32::MAX]);
    round_trip(dir.path(), vec![i64::MIN, i64::MAX]);
    round_trip(dir.path(), vec![u8::MIN, u8::MAX]);
    round_trip(dir.path(), vec![u16::MIN, u16::MAX]);
    round_trip(dir.path(), vec![u32::MIN, u32::MAX]);
    round_trip(dir.path(), vec![u64::MIN, u64::MAX]);
    round_trip(dir.path(), vec![true, false]);
}

#[test]
fn more_axes_than_numpy_allows_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.npy");
    npy::save(&Array::from_shape_vec(vec![1usize; 64], vec![9u8]).unwrap(), &path).unwrap();
    assert_eq!(npy::load::<u8>(&path).unwrap().ndim(), 64);
    let err = npy::save(&Array::from_shape_vec(vec![1usize; 65], vec![9u8]).unwrap(), &path).unwrap_err();
    assert!(err.to_string().contains("at most 64"), "{err}");
}

fn npy_error(result: joblib::Result<Array<f64>>) -> String {
    match result {
        Err(Error::Npy { what, .. }) => what,
        other => panic!("expected an npy error, got {other:?}"),
    }
}

#[test]
fn unsupported_files_are_clear_errors() {
    assert!(npy_error(npy::load::<f64>(fixture("f64_fortran.npy"))).contains("Fortran"));
    assert!(npy_error(npy::load::<f64>(fixture("complex.npy"))).contains("<c16"));
    let wrong = npy::load::<f32>(fixture("f64_2x3.npy")).unwrap_err();
    assert!(wrong.to_string().contains("<f8"), "{wrong}");
    let wrong = npy::load_mmap::<i64>(fixture("u8_5.npy")).unwrap_err();
    assert!(matches!(wrong, Error::Npy { .. }), "{wrong}");
}

/// A copy of a fixture with `edit` applied.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    edit(&mut bytes);
    let path = dir.join(format!("edited-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn replace(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).unwrap();
    bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
}

/// Replaces the `'shape': ...` entry of a fixture's header with `entry`, keeping its length.
fn set_dict(bytes: &mut [u8], entry: &str) {
    let dict = format!("{{'descr': '<f8', 'fortran_order': False, {entry}, }}");
    let end = bytes.iter().position(|&b| b == b'\n').unwrap();
    assert!(10 + dict.len() <= end);
    bytes[10..end].fill(b' ');
    bytes[10..10 + dict.len()].copy_from_slice(dict.as_bytes());
}

#[test]
fn lying_and_damaged_headers_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, PathBuf)> = vec![
        ("shape too large", edited(dir.path(), "f64_2x3.npy", |b| replace(b, "(2, 3)", "(9, 3)"))),
        ("shape too small", edited(dir.path(), "f64_2x3.npy", |b| replace(b, "(2, 3)", "(1, 3)"))),
        (
            "overflowing shape",
            edited(dir.path(), "f64_2x3.npy", |b| set_dict(b, "'shape': (4294967296, 4294967296, 4294967296)")),
        ),
        ("negative shape", edited(dir.path(), "f64_2x3.npy", |b| set_dict(b, "'shape': (-2, -3)"))),
        ("missing shape", edited(dir.path(), "f64_2x3.npy", |b| set_dict(b, "'shap': (2, 3)"))),
        ("truncated data", edited(dir.path(), "f64_2x3.npy", |b| b.truncate(b.len() - 1))),
        ("extra data", edited(dir.path(), "f64_2x3.npy", |b| b.push(0))),
        ("header length past the end", edited(dir.path(), "f64_2x3.npy", |b| b[8..10].copy_from_slice(&[0xff, 0xff]))),
        ("bad magic", edited(dir.path(), "f64_2x3.npy", |b| b[1] = b'X')),
        ("version 9", edited(dir.path(), "f64_2x3.npy", |b| b[6] = 9)),
        ("not text", edited(dir.path(), "f64_2x3.npy", |b| b[20] = 0xff)),
        ("only the magic", edited(dir.path(), "f64_2x3.npy", |b| b.truncate(7))),
        ("empty", edited(dir.path(), "f64_2x3.npy", |b| b.clear())),
        ("v2 cut in its length", edited(dir.path(), "f32_v2.npy", |b| b.truncate(11))),
    ];
    for (what, path) in cases {
        let a = npy::load::<f64>(&path);
        let b = npy::load_mmap::<f64>(&path);
        assert!(matches!(a, Err(Error::Npy { .. })), "{what}: {a:?}");
        assert!(matches!(b, Err(Error::Npy { .. })), "{what}: {b:?}");
    }
    let bad_bool = edited(dir.path(), "bool_2x2.npy", |b| *b.last_mut().unwrap() = 2);
    assert!(npy::load::<bool>(&bad_bool).is_err(), "2 is not a bool");
}

/// A `.npy` file of `header` (the dictionary text) and `data`, made by hand.
fn npy_file(dir: &Path, header: &str, data: &[u8]) -> PathBuf {
    let path = dir.join("hand.npy");
    let mut text = header.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_dtype_without_byte_order_or_of_an_unsupported_kind_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = npy_file(dir.path(), "{'descr': 'f8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
    let err = npy::load::<f64>(&path).unwrap_err().to_string();
    assert!(err.contains("dtype 'f8' has no byte order") && err.contains("'<f8'"), "{err}");
    let path = npy_file(dir.path(), "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", &[0; 16]);
    let err = npy::load::<f64>(&path).unwrap_err().to_string();
    assert!(err.contains("unsupported dtype '<c16'") && err.contains("f4 and f8"), "{err}");
    let path = npy_file(dir.path(), "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
    assert_eq!(npy::load::<f64>(&path).unwrap()[0], 0.0, "positive control: the hand-made file reads");
}
