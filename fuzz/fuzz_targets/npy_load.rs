//! Arbitrary bytes as a `.npy` file: `npy::load` and `npy::load_mmap` must return an error or
//! an array, never panic, crash or read out of bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("joblib-fuzz-npy-{}.npy", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Ok(a) = joblib::npy::load::<f64>(&path) {
        assert_eq!(a.len(), a.shape().iter().product::<usize>());
    }
    if let Ok(a) = joblib::npy::load_mmap::<f64>(&path) {
        let _ = a.iter().sum::<f64>();
    }
    let _ = joblib::npy::load::<bool>(&path);
    let _ = joblib::npy::load_mmap::<u16>(&path);
    let _ = joblib::npy::load::<i8>(&path);
});
