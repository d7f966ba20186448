//! `dump` / `load` / `load_mmap` round trips, mapping and atomic replacement.

use std::collections::BTreeMap;
use std::path::PathBuf;

use joblib::{dump, dump_with, load, load_mmap, Array, Compress, Error};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
struct Results {
    name: String,
    weights: Array<f64>,
    scores: BTreeMap<String, Array<f32>>,
    mask: Array<bool>,
    counts: Array<u8>,
    grid: Option<Array<i64>>,
    notes: Vec<String>,
}

fn results() -> Results {
    Results {
        name: "ridge".into(),
        weights: Array::from_shape_vec([3, 4], (0..12).map(f64::from).collect()).unwrap(),
        scores: [
            ("train".to_string(), Array::from(vec![0.9f32, 0.8])),
            ("test".to_string(), Array::from(vec![0.7f32; 3])),
            ("empty".to_string(), Array::from(Vec::<f32>::new())),
        ]
        .into(),
        mask: Array::from(vec![true, false, true]),
        counts: Array::from(vec![1u8, 2, 3, 4, 5]),
        grid: Some(Array::from_shape_vec(Vec::new(), vec![-7i64]).unwrap()),
        notes: vec!["a".into(), "b".into()],
    }
}

fn temp_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn every_mode_round_trips_a_nested_value() {
    let value = results();
    for compress in [Compress::None, Compress::Zstd(1), Compress::Zstd(3), Compress::Zstd(19)] {
        let (_dir, path) = temp_path("r.jbl");
        dump_with(&value, &path, compress).unwrap();
        assert_eq!(load::<Results>(&path).unwrap(), value, "{compress:?}");
        assert_eq!(load_mmap::<Results>(&path).unwrap(), value, "{compress:?}");
    }
}

#[test]
fn mapped_arrays_point_into_the_file_and_survive_its_replacement() {
    let (_dir, path) = temp_path("m.jbl");
    let value = results();
    dump(&value, &path).unwrap();
    let mapped: Results = load_mmap(&path).unwrap();
    assert!(mapped.weights.is_mapped());
    assert!(mapped.scores["train"].is_mapped());
    assert!(!mapped.mask.is_mapped(), "bool arrays are checked and copied");
    let loaded: Results = load(&path).unwrap();
    assert!(!loaded.weights.is_mapped());

    // The mapping keeps the old bytes alive when the file is replaced or removed.
    let mut other = value.clone();
    other.weights = Array::from(vec![-1.0; 12]);
    dump(&other, &path).unwrap();
    assert_eq!(mapped.weights, value.weights);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(mapped.weights[11], 11.0);
}

#[test]
fn mapped_arrays_are_aligned_in_the_file() {
    let (_dir, path) = temp_path("a.jbl");
    let value = (Array::from(vec![1u8; 3]), Array::from(vec![2.0f64; 5]), Array::from(vec![3u16; 7]));
    dump(&value, &path).unwrap();
    let mapped: (Array<u8>, Array<f64>, Array<u16>) = load_mmap(&path).unwrap();
    for ptr in [mapped.0.as_ptr() as usize, mapped.1.as_ptr() as usize, mapped.2.as_ptr() as usize] {
        assert_eq!(ptr % 64, 0, "array data starts 64-byte aligned");
    }
    assert_eq!(mapped, value);
}

#[test]
fn load_mmap_of_a_compressed_file_loads_it() {
    let (_dir, path) = temp_path("c.jbl");
    let value = Array::from((0..100_000).map(|i| i as f64).collect::<Vec<_>>());
    dump_with(&value, &path, Compress::Zstd(3)).unwrap();
    let loaded: Array<f64> = load_mmap(&path).unwrap();
    assert!(!loaded.is_mapped());
    assert_eq!(loaded, value);
    assert!(std::fs::metadata(&path).unwrap().len() < 800_000 / 20, "shuffled ramps compress well");
}

#[test]
fn values_without_arrays_round_trip() {
    let (_dir, path) = temp_path("p.jbl");
    let value: (u8, Vec<f64>, String, Option<char>, BTreeMap<u32, i128>) =
        (7, vec![1.5, f64::INFINITY], "é".into(), Some('x'), [(1, -5)].into());
    dump(&value, &path).unwrap();
    assert_eq!(load::<(u8, Vec<f64>, String, Option<char>, BTreeMap<u32, i128>)>(&path).unwrap(), value);
}

#[test]
fn a_failed_dump_leaves_the_old_file_and_no_litter() {
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("cannot serialize this"))
        }
    }
    let (dir, path) = temp_path("keep.jbl");
    dump(&1u32, &path).unwrap();
    let err = dump(&Fails, &path).unwrap_err();
    assert!(matches!(err, Error::Serialize { .. }), "{err}");
    assert!(err.to_string().contains("cannot serialize this"));
    assert_eq!(load::<u32>(&path).unwrap(), 1);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keep.jbl")], "no temporary file left");
}

#[test]
fn an_unwritable_folder_is_an_io_error_naming_it() {
    let err = dump(&1u32, "/proc/joblib-cannot-write-here/x.jbl").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("/proc/joblib-cannot-write-here"), "{err}");
    let err = load::<u32>("/nonexistent/dir/x.jbl").unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
}

#[test]
fn loading_as_another_type_is_a_type_mismatch() {
    #[derive(Serialize, Deserialize, Debug)]
    struct A {
        x: f64,
        y: f64,
    }
    #[derive(Serialize, Deserialize, Debug)]
    struct B {
        x: f64,
        z: f64,
    }
    let (_dir, path) = temp_path("t.jbl");
    dump(&A { x: 1.0, y: 2.0 }, &path).unwrap();
    for err in [
        load::<B>(&path).unwrap_err(),
        load::<(f64, f64)>(&path).map(|_| ()).unwrap_err(),
        load::<u128>(&path).map(|_| ()).unwrap_err(),
        load::<String>(&path).map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
    }

    dump(&(1u32, 2u32), &path).unwrap();
    assert!(matches!(load::<u64>(&path), Err(Error::TypeMismatch { .. })));
    assert!(matches!(load::<(i32, i32)>(&path), Err(Error::TypeMismatch { .. })));
    assert_eq!(load::<(u32, u32)>(&path).unwrap(), (1, 2));

    dump(&Array::from(vec![1.0f64, 2.0]), &path).unwrap();
    let err = load_mmap::<Array<f32>>(&path).unwrap_err();
    assert!(matches!(err, Error::TypeMismatch { .. }) && err.to_string().contains("F64"), "{err}");
    assert!(matches!(load::<Array<u64>>(&path), Err(Error::TypeMismatch { .. })));
    assert!(matches!(load::<Vec<f64>>(&path), Err(Error::TypeMismatch { .. })));
}

#[test]
fn hash_sets_load_whatever_their_order() {
    #[derive(Serialize, Deserialize, PartialEq, Eq, Hash, Debug, Clone, PartialOrd, Ord)]
    enum Tag {
        A,
        B(u8),
        C { x: String },
    }
    let set: std::collections::HashSet<Tag> =
        (0..50).map(|i| [Tag::A, Tag::B(i), Tag::C { x: i.to_string() }][i as usize % 3].clone()).collect();
    let (_dir, path) = temp_path("s.jbl");
    dump(&set, &path).unwrap();
    assert_eq!(load::<std::collections::HashSet<Tag>>(&path).unwrap(), set);
}

#[test]
fn arrays_serialize_inline_in_other_formats() {
    let array = Array::from_shape_vec([2, 2], vec![1u16, 2, 3, 256]).unwrap();
    let json = serde_json::to_string(&array).unwrap();
    assert_eq!(json, "[[2,2],[1,0,2,0,3,0,0,1]]");
    assert_eq!(serde_json::from_str::<Array<u16>>(&json).unwrap(), array);
    assert!(serde_json::from_str::<Array<u16>>("[[3],[1,0]]").is_err(), "shape and bytes disagree");
    assert!(serde_json::from_str::<Array<u16>>("[[1],[1,0,2]]").is_err(), "half an element");
    assert!(serde_json::from_str::<Array<bool>>("[[1],[2]]").is_err(), "2 is not a bool");
}

#[test]
fn concurrent_dumps_to_one_path_leave_one_whole_file() {
    let (_dir, path) = temp_path("race.jbl");
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            let path = &path;
            scope.spawn(move || {
                for _ in 0..10 {
                    dump(&Array::from(vec![t; 50_000]), path).unwrap();
                    let seen: Array<u64> = load(path).unwrap();
                    assert!(seen.iter().all(|&x| x == seen[0]), "never a mix of two writers");
                }
            });
        }
    });
    let last: Array<u64> = load(&path).unwrap();
    assert_eq!(last.len(), 50_000);
}
