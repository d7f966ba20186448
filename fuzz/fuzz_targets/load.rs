//! Arbitrary bytes as a joblib file: `load` and `load_mmap` must return an error or a value,
//! never panic, crash or read out of bounds.
#![no_main]

use joblib::Array;
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};

/// The type the fuzzed files are loaded as (also the type of the seed files).
#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub struct Value {
    name: String,
    a: Array<f64>,
    b: Vec<Array<u16>>,
    c: Option<Array<bool>>,
}

fn path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("joblib-fuzz-load-{}.jbl", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(&path, data).unwrap();
    if let Ok(value) = joblib::load::<Value>(&path) {
        // Whatever loads is a consistent value.
        assert_eq!(value.a.len(), value.a.shape().iter().product::<usize>());
    }
    if let Ok(value) = joblib::load_mmap::<Value>(&path) {
        let _ = value.a.iter().sum::<f64>();
        let _ = value.b.iter().map(|b| b.len()).sum::<usize>();
    }
    let _ = joblib::load::<(u32, String)>(&path);
    // Vectors of numbers, copied whole or element by element, out of line or not.
    if let Ok((floats, shorts, bytes)) = joblib::load_mmap::<Vectors>(&path) {
        let _ = (floats.iter().sum::<f64>(), shorts.len(), bytes.iter().map(|&b| u64::from(b)).sum::<u64>());
    }
    let _ = joblib::load::<(Vec<f64>, std::collections::VecDeque<u16>, Box<[u8]>)>(&path);
    // The self-describing paths of the payload decoder: any value, untagged enums, flatten.
    let _ = joblib::load::<serde_json::Value>(&path);
    let _ = joblib::load::<Vec<Shape>>(&path);
});

/// Vectors of numbers: the type of a seed written by a fuzzing build, which stores vectors of
/// 64 bytes or more out of line.
pub type Vectors = (Vec<f64>, Vec<u16>, Vec<u8>);

/// Shapes that read the payload through `deserialize_any`.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(untagged)]
pub enum Shape {
    Plain(f64),
    Tagged(Tagged),
    Flat(Flat),
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(tag = "kind")]
pub enum Tagged {
    A { x: Array<f32> },
    B { y: Vec<u8> },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub struct Flat {
    name: String,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, i64>,
}
