//! Persistence in a few lines: dump a results struct holding large arrays, load it back in
//! memory and mapped, compress it, and exchange an array with numpy through `.npy`.
//!
//! ```text
//! cargo run --release --example persistence            # 256 MiB of arrays
//! cargo run --release --example persistence -- 1024    # another size, in MiB
//! ```

use std::time::Instant;

use joblib::{npy, Array, Compress};
use serde::{Deserialize, Serialize};

/// What an experiment leaves behind: a few scalars and a few large arrays.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Results {
    name: String,
    seed: u64,
    /// One row of weights per step.
    weights: Array<f64>,
    losses: Array<f32>,
    converged: Array<bool>,
}

fn results(mib: usize) -> Results {
    let steps = 1000;
    let width = (mib << 20) / 8 / steps;
    let weights = (0..steps * width).map(|i| ((i % width) as f64 * 0.001).sin() / (1 + i / width) as f64).collect();
    Results {
        name: "ridge-sweep".into(),
        seed: 42,
        weights: Array::from_shape_vec([steps, width], weights).expect("steps * width elements"),
        losses: (0..steps).map(|s| 1.0 / (1.0 + s as f32)).collect(),
        converged: (0..steps).map(|s| s > 900).collect(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(256);
    let dir = std::env::temp_dir().join("joblib-example-persistence");
    std::fs::create_dir_all(&dir)?;
    let value = results(mib);
    println!("results: {} weights {:?}, {} MiB in all", value.name, value.weights.shape(), mib);

    let plain = dir.join("results.jbl");
    let t = Instant::now();
    joblib::dump(&value, &plain)?;
    println!("dump                {:>9.1} ms", t.elapsed().as_secs_f64() * 1e3);

    let t = Instant::now();
    let loaded: Results = joblib::load(&plain)?;
    println!("load                {:>9.1} ms  (every checksum verified)", t.elapsed().as_secs_f64() * 1e3);
    assert_eq!(loaded, value);

    let t = Instant::now();
    let mapped: Results = joblib::load_mmap(&plain)?;
    println!(
        "load_mmap           {:>9.3} ms  (weights mapped: {}, nothing read yet)",
        t.elapsed().as_secs_f64() * 1e3,
        mapped.weights.is_mapped()
    );
    let last_row = &mapped.weights[mapped.weights.len() - mapped.weights.shape()[1]..];
    println!(
        "  last step's mean weight, read through the mapping: {:.6}",
        last_row.iter().sum::<f64>() / last_row.len() as f64
    );

    let packed = dir.join("results.zst.jbl");
    let t = Instant::now();
    joblib::dump_with(&value, &packed, Compress::Zstd(3))?;
    let dump_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let unpacked: Results = joblib::load(&packed)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(unpacked, value);
    let ratio = std::fs::metadata(&packed)?.len() as f64 / std::fs::metadata(&plain)?.len() as f64;
    println!(
        "zstd level 3        dump {dump_ms:.1} ms, load {load_ms:.1} ms, {:.1} % of the plain file",
        ratio * 100.0
    );

    let losses = dir.join("losses.npy");
    npy::save(&value.losses, &losses)?;
    let back = npy::load::<f32>(&losses)?;
    assert_eq!(back, value.losses);
    println!("numpy exchange      {} (in Python: numpy.load({:?}))", losses.display(), losses.display().to_string());

    let wrong = joblib::load::<Vec<String>>(&plain).unwrap_err();
    println!("loading as another type is an error, not garbage:\n  {wrong}");
    Ok(())
}
