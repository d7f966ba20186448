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
    // The self-describing paths of the payload decoder: any value, untagged enums, flatten.
    let _ = joblib::load::<serde_json::Value>(&path);
    let _ = joblib::load::<Vec<Shape>>(&path);
});

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
