//! A parallel loop that goes wrong, and what you get back: the first failing task's index and
//! message, as an error you can match on, with the tasks after it not started. Then the same
//! loop as a `#[parallel]` loop, where `?` returns the task's own error from the function.
//!
//! ```text
//! cargo run --release --example parallel_errors
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use joblib::{parallel, Error, Parallel, TaskFailure};

/// A measurement that fails for one sample.
fn measure(sample: u32) -> Result<f64, String> {
    std::thread::sleep(Duration::from_micros(200));
    if sample == 300 {
        return Err(format!("sensor saturated on sample {sample}"));
    }
    Ok(f64::from(sample).sqrt())
}

#[parallel]
fn measure_all(samples: &[u32]) -> Result<Vec<f64>, String> {
    let values = #[parallel(n_jobs = -1)]
    for &sample in samples {
        measure(sample)?
    };
    Ok(values)
}

fn main() {
    let started = AtomicUsize::new(0);
    let outcome = Parallel::new().verbose(5).try_map(0..10_000u32, |sample| {
        started.fetch_add(1, Ordering::Relaxed);
        measure(sample)
    });
    match outcome {
        Err(Error::Task { index, kind: TaskFailure::Error, message, .. }) => {
            println!("task {index} failed: {message}");
            println!("{} of 10000 tasks were started; the rest never ran", started.load(Ordering::Relaxed));
        }
        other => println!("unexpected: {other:?}"),
    }

    let panicked = Parallel::new().map(0..100u32, |i| if i == 42 { panic!("bad sample {i}") } else { i });
    println!("a panic is an error too: {}", panicked.unwrap_err());

    let samples: Vec<u32> = (0..1000).collect();
    println!("#[parallel] loop: {:?}", measure_all(&samples).map(|v| v.len()));
    println!("#[parallel] loop without the bad sample: {:?}", measure_all(&samples[..300]).map(|v| v.len()));
}
