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

mod format_v1 {
    use joblib::{load, load_mmap, Array, Memory};
    use serde::Deserialize;
    use std::path::Path;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-v1");

    #[derive(Deserialize, serde::Serialize, PartialEq, Debug)]
    struct Sample {
        label: String,
        a: Array<f64>,
        b: Array<u16>,
        c: Vec<i32>,
        d: Option<(u8, char)>,
    }

    #[test]
    fn files_of_format_version_1_still_load() {
        for name in ["sample-v1.jbl", "sample-v1-zstd.jbl"] {
            let path = Path::new(FIXTURES).join(name);
            let expected = Sample {
                label: "written by format version 1".into(),
                a: Array::from((0..40).map(f64::from).collect::<Vec<_>>()),
                b: Array::from_shape_vec([3, 5], (0..15).collect()).unwrap(),
                c: vec![-1, 2, -3],
                d: Some((7, 'é')),
            };
            assert_eq!(load::<Sample>(&path).unwrap(), expected, "{name}");
            assert_eq!(load_mmap::<Sample>(&path).unwrap(), expected, "{name}");
            let err = load::<serde_json::Value>(&path).unwrap_err().to_string();
            assert!(err.contains("self-describing"), "{err}");
        }
    }

    #[test]
    fn a_cache_written_by_format_version_1_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let from = Path::new(FIXTURES).join("cache-v1/joblib/square");
        let entry = std::fs::read_dir(&from).unwrap().next().unwrap().unwrap();
        let to = dir.path().join("joblib/square").join(entry.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for file in std::fs::read_dir(entry.path()).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
        }
        let square = Memory::new(dir.path()).verbose(0).cache("square", |_: &u64| -> u64 { panic!("computed") });
        assert_eq!(square.call(&12), 144);
    }
}

/// Research configs and results use serde's attributes freely; every shape whose `Serialize`
/// and `Deserialize` agree round-trips, arrays inside them still out of line.
mod serde_shapes {
    use joblib::{dump, dump_with, load, load_mmap, Array, Compress, Memory};
    use serde::{Deserialize, Serialize};
    use std::cell::Cell;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
    #[serde(tag = "kind")]
    enum Model {
        Ridge { alpha: f64 },
        Net { alpha: f64, weights: Array<f32> },
        Constant,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
    #[serde(untagged)]
    enum Value {
        Scalar(f64),
        Series(Array<f64>),
        Labelled { label: String, points: Vec<(u32, f64)> },
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
    struct Common {
        seed: u64,
        tag: Option<String>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
    struct Run {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        #[serde(flatten)]
        common: Common,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        extra: BTreeMap<String, u32>,
        model: Model,
        values: Vec<Value>,
        raw: serde_json::Value,
    }

    fn run() -> Run {
        Run {
            name: "sweep-3".into(),
            note: None,
            common: Common { seed: 7, tag: Some("t".into()) },
            extra: BTreeMap::new(),
            model: Model::Net { alpha: 0.5, weights: Array::from(vec![1.0f32, -2.0, 3.5]) },
            values: vec![
                Value::Scalar(1.5),
                Value::Series(Array::from((0..1000).map(f64::from).collect::<Vec<_>>())),
                Value::Labelled { label: "l".into(), points: vec![(1, 2.0)] },
            ],
            raw: serde_json::json!({"lr": [0.1, 0.01], "nested": {"ok": true, "n": null}}),
        }
    }

    #[test]
    fn tagged_untagged_flattened_skipped_and_json_values_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for compress in [Compress::None, Compress::Zstd(3)] {
            let path = dir.path().join("run.jbl");
            for value in [
                run(),
                Run { note: Some("n".into()), extra: [("k".into(), 1)].into(), model: Model::Constant, ..run() },
            ] {
                dump_with(&value, &path, compress).unwrap();
                assert_eq!(load::<Run>(&path).unwrap(), value);
                let mapped: Run = load_mmap(&path).unwrap();
                assert_eq!(mapped, value);
                if compress == Compress::None {
                    let Value::Series(series) = &mapped.values[1] else { panic!("{:?}", mapped.values[1]) };
                    assert!(series.is_mapped(), "an array inside an untagged enum is still mapped");
                }
            }
        }
        for model in [Model::Ridge { alpha: 1.0 }, Model::Constant] {
            dump(&model, dir.path().join("m.jbl")).unwrap();
            assert_eq!(load::<Model>(dir.path().join("m.jbl")).unwrap(), model);
        }
        let json = serde_json::json!([1, "two", {"three": [3.0]}]);
        dump(&json, dir.path().join("j.jbl")).unwrap();
        assert_eq!(load::<serde_json::Value>(dir.path().join("j.jbl")).unwrap(), json);
    }

    #[test]
    fn a_cached_function_returning_such_a_type_is_a_hit() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Cell::new(0);
        let f = Memory::new(dir.path()).verbose(0).cache("fit", |seed: &u64| {
            runs.set(runs.get() + 1);
            Run { common: Common { seed: *seed, tag: None }, ..run() }
        });
        let first = f.call(&3);
        assert_eq!(f.call(&3), first);
        assert_eq!(runs.get(), 1, "loaded, not recomputed");
    }
}

#[test]
fn byte_buffers_round_trip_as_vectors_slices_and_serde_bytes() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Buffers {
        plain: Vec<u8>,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        nested: Vec<Vec<u8>>,
        empty: Vec<u8>,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("buffers.jbl");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let value =
        Buffers { plain: big.clone(), bytes: big.clone(), nested: vec![vec![1, 2], vec![], big], empty: vec![] };
    for compress in [joblib::Compress::None, joblib::Compress::Zstd(3)] {
        joblib::dump_with(&value, &path, compress).unwrap();
        assert_eq!(joblib::load::<Buffers>(&path).unwrap(), value);
    }
    // Read as another element type: the structure differs, an error.
    joblib::dump(&vec![1u8, 2, 3], &path).unwrap();
    assert!(joblib::load::<Vec<u16>>(&path).is_err());
    assert!(joblib::load::<Vec<u8>>(&path).is_ok());
    assert_eq!(joblib::hash(&vec![1u8, 2, 3]), joblib::hash(&[1u8, 2, 3][..]));
}

/// The format version in a file's header.
fn version_of(path: &std::path::Path) -> u32 {
    u32::from_le_bytes(std::fs::read(path).unwrap()[8..12].try_into().unwrap())
}

#[test]
fn large_vectors_of_numbers_go_out_of_line_and_read_back_as_any_sequence() {
    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
    struct Recording {
        samples: Vec<u8>,
        trace: Vec<f64>,
        small: Vec<f64>,
        label: String,
        again: Vec<u8>,
        nested: Vec<Vec<i16>>,
    }
    let samples: Vec<u8> = (0..3usize << 20).map(|i| (i * 7 % 251) as u8).collect();
    let trace: Vec<f64> = (0..300_000).map(|i| f64::from(i) * 0.25 - 1e4).collect();
    let value = Recording {
        samples: samples.clone(),
        trace: trace.clone(),
        small: vec![1.5, f64::NAN.copysign(-1.0)],
        label: "run 7".into(),
        again: samples.clone(),
        nested: vec![vec![-3; 600_000], vec![]],
    };
    let same = |a: &Recording, b: &Recording| {
        (&a.samples, a.trace == b.trace, a.small[0], a.small[1].to_bits(), &a.label, &a.again, &a.nested)
            == (&b.samples, true, b.small[0], b.small[1].to_bits(), &b.label, &b.again, &b.nested)
    };
    let (_dir, path) = temp_path("recording.jbl");
    for compress in [Compress::None, Compress::Zstd(3)] {
        dump_with(&value, &path, compress).unwrap();
        assert_eq!(version_of(&path), 3, "out-of-line vectors need version 3");
        assert!(same(&load::<Recording>(&path).unwrap(), &value));
        assert!(same(&load_mmap::<Recording>(&path).unwrap(), &value));
    }
    // Other sequence types of the same structure read the same elements.
    dump(&samples, &path).unwrap();
    assert_eq!(load::<std::collections::VecDeque<u8>>(&path).unwrap(), samples);
    assert_eq!(&*load::<Box<[u8]>>(&path).unwrap(), samples.as_slice());
    dump(&trace.as_slice(), &path).unwrap();
    assert_eq!(load::<Vec<f64>>(&path).unwrap(), trace);
    assert_eq!(load_mmap::<std::collections::VecDeque<f64>>(&path).unwrap(), trace);
    assert!(load::<[f64; 2]>(&path).is_err(), "more elements than the type reads");
    assert!(load::<Vec<f32>>(&path).is_err(), "another element type is another structure");
    // Small vectors stay in the payload, and such a file stays version 2.
    dump(&vec![1u8; 1000], &path).unwrap();
    assert_eq!(version_of(&path), 2);
    assert_eq!(load::<Vec<u8>>(&path).unwrap(), vec![1u8; 1000]);
}
