//! A hyper-parameter sweep as research code does it: ridge regression on a synthetic data set
//! of 8 million numbers, the penalty chosen by 5-fold cross-validation over a grid.
//!
//! ```text
//! cargo run --release --example sweep            # first run: computes everything, under a second
//! cargo run --release --example sweep            # again: every result comes from the cache
//! cargo run --release --example sweep -- --fresh # forget the cache and start over
//! cargo run --release --example sweep -- --fresh --backend processes
//!                                                # the same in worker processes
//! cargo run --release --example sweep -- --fresh --backend slurm
//!                                                # the same as a Slurm job array
//! ```
//!
//! Three `#[cached]` functions hold the work, each keyed by its arguments and its source (its
//! own, and that of every function, method, constant and type of this crate it reaches):
//! `make_data` (the data set, loaded back memory-mapped), `fold_gram` (the expensive part: the
//! normal equations of one fold's training rows) and `fit_and_score` (one penalty on one fold).
//! Edit the body of `fit_and_score` and run again: only the 50 fits run again, the data set and
//! the five Gram matrices come from the cache. Edit `fold_gram` (or `in_fold`, which it calls)
//! and the fits that call it run again too: nothing needs to be declared. The loops are `#[parallel]` loops with a progress bar, written once
//! and run on the backend chosen when the program runs: threads, or, with `--backend
//! processes`, worker processes, or with `--backend slurm`, the elements of a Slurm job array
//! (each loop's body is one call of a cached function: the workers store what they compute,
//! the loop takes what is cached); the
//! results are dumped to `target/sweep-results.jbl` and read back mapped to print the table.

use std::time::Instant;

use joblib::{cached, parallel, Array, Backend, Slurm};
use serde::{Deserialize, Serialize};

/// Where the cached results go: `cargo clean` forgets them.
const CACHE: &str = "target/sweep-cache";
/// Where the sweep's results are dumped.
const RESULTS: &str = "target/sweep-results.jbl";

/// What the synthetic data set looks like.
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
struct DataSpec {
    samples: usize,
    features: usize,
    noise: f64,
    seed: u64,
}

/// Inputs (`samples x features`, row-major) and targets.
#[derive(Serialize, Deserialize)]
struct Dataset {
    x: Array<f64>,
    y: Array<f64>,
}

/// The normal equations of one fold's training rows: `X'X` and `X'y`.
#[derive(Serialize, Deserialize)]
struct Gram {
    xtx: Array<f64>,
    xty: Array<f64>,
}

/// One penalty on one fold: the validation error and the fitted weights.
#[derive(Serialize, Deserialize, Debug)]
struct FoldScore {
    mse: f64,
    weights: Array<f64>,
}

/// What the sweep leaves behind.
#[derive(Serialize, Deserialize)]
struct SweepResults {
    alphas: Vec<f64>,
    /// Validation error per penalty (rows) and fold (columns).
    mse: Array<f64>,
    best_alpha: f64,
    /// The weights of the best penalty, averaged over the folds.
    best_weights: Array<f64>,
}

/// A small, fast, reproducible generator (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal number (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next_f64().max(f64::MIN_POSITIVE), self.next_f64());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Correlated inputs and a linear target with noise: ridge has something to do.
#[cached(dir = CACHE, mmap_mode = "r", verbose = 0)]
fn make_data(spec: &DataSpec) -> Dataset {
    let mut rng = SplitMix(spec.seed);
    let truth: Vec<f64> = (0..spec.features).map(|j| if j % 3 == 0 { rng.normal() } else { 0.0 }).collect();
    let mut x = Vec::with_capacity(spec.samples * spec.features);
    let mut y = Vec::with_capacity(spec.samples);
    for _ in 0..spec.samples {
        let common = rng.normal();
        let row: Vec<f64> = (0..spec.features).map(|_| 0.7 * common + rng.normal()).collect();
        y.push(row.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>() + spec.noise * rng.normal());
        x.extend(row);
    }
    Dataset {
        x: Array::from_shape_vec([spec.samples, spec.features], x).expect("samples x features"),
        y: Array::from(y),
    }
}

/// Whether row `row` is in the validation part of fold `fold` of `folds`.
fn in_fold(row: usize, fold: usize, folds: usize) -> bool {
    row % folds == fold
}

/// `X'X` and `X'y` over the training rows of `fold`.
#[cached(dir = CACHE, verbose = 0)]
fn fold_gram(spec: &DataSpec, fold: usize, folds: usize) -> Gram {
    let data = make_data(spec);
    let p = spec.features;
    let (mut xtx, mut xty) = (vec![0.0; p * p], vec![0.0; p]);
    for (row, (x, y)) in data.x.chunks_exact(p).zip(data.y.iter()).enumerate() {
        if in_fold(row, fold, folds) {
            continue;
        }
        for i in 0..p {
            xty[i] += x[i] * y;
            let out = &mut xtx[i * p..i * p + i + 1];
            for (o, xj) in out.iter_mut().zip(&x[..=i]) {
                *o += x[i] * xj;
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            xtx[j * p + i] = xtx[i * p + j];
        }
    }
    Gram { xtx: Array::from_shape_vec([p, p], xtx).expect("p x p"), xty: Array::from(xty) }
}

/// Solves `a w = b` for a symmetric positive definite `a` (Cholesky).
fn solve_spd(mut a: Vec<f64>, mut b: Vec<f64>, p: usize) -> Vec<f64> {
    for j in 0..p {
        let d = (a[j * p + j] - (0..j).map(|k| a[j * p + k] * a[j * p + k]).sum::<f64>()).sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            a[i * p + j] = (a[i * p + j] - (0..j).map(|k| a[i * p + k] * a[j * p + k]).sum::<f64>()) / d;
        }
    }
    for i in 0..p {
        b[i] = (b[i] - (0..i).map(|k| a[i * p + k] * b[k]).sum::<f64>()) / a[i * p + i];
    }
    for i in (0..p).rev() {
        b[i] = (b[i] - (i + 1..p).map(|k| a[k * p + i] * b[k]).sum::<f64>()) / a[i * p + i];
    }
    b
}

/// Ridge with penalty `alpha` on the training rows of `fold`, scored on its validation rows.
#[cached(dir = CACHE, verbose = 0)]
fn fit_and_score(spec: &DataSpec, alpha: f64, fold: usize, folds: usize) -> FoldScore {
    let (data, gram) = (make_data(spec), fold_gram(spec, fold, folds));
    let p = spec.features;
    let mut a = gram.xtx.to_vec();
    for i in 0..p {
        a[i * p + i] += alpha;
    }
    let weights = solve_spd(a, gram.xty.to_vec(), p);
    let (mut total, mut count) = (0.0, 0usize);
    for (row, (x, y)) in data.x.chunks_exact(p).zip(data.y.iter()).enumerate() {
        if in_fold(row, fold, folds) {
            let prediction: f64 = x.iter().zip(&weights).map(|(a, b)| a * b).sum();
            total += (prediction - y).powi(2);
            count += 1;
        }
    }
    FoldScore { mse: total / count as f64, weights: Array::from(weights) }
}

#[parallel]
fn sweep(spec: &DataSpec, alphas: &[f64], folds: usize, backend: &Backend) -> SweepResults {
    make_data(spec);
    let grid: Vec<(f64, usize)> = alphas.iter().flat_map(|&a| (0..folds).map(move |f| (a, f))).collect();
    // One Gram matrix per fold first, so that no two fits compute the same one at once.
    // The backend is chosen when the program runs: each loop's body is one call of a cached
    // function, which runs unchanged on threads or in worker processes.
    #[parallel(backend = backend, progress)]
    for fold in 0..folds {
        fold_gram(spec, fold, folds)
    }
    let scores: Vec<FoldScore> = #[parallel(backend = backend, progress)]
    for (alpha, fold) in grid {
        fit_and_score(spec, alpha, fold, folds)
    };
    let mse: Vec<f64> = scores.iter().map(|s| s.mse).collect();
    let mean = |row: &[f64]| row.iter().sum::<f64>() / row.len() as f64;
    let best = (0..alphas.len())
        .min_by(|&a, &b| mean(&mse[a * folds..][..folds]).total_cmp(&mean(&mse[b * folds..][..folds])))
        .expect("a non-empty grid");
    let mut best_weights = vec![0.0; spec.features];
    for score in &scores[best * folds..][..folds] {
        for (w, s) in best_weights.iter_mut().zip(score.weights.iter()) {
            *w += s / folds as f64;
        }
    }
    SweepResults {
        alphas: alphas.to_vec(),
        mse: Array::from_shape_vec([alphas.len(), folds], mse).expect("alphas x folds"),
        best_alpha: alphas[best],
        best_weights: Array::from(best_weights),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let spec = DataSpec { samples: 200_000, features: 40, noise: 2.0, seed: 7 };
    let alphas: Vec<f64> = (0..10).map(|k| 10f64.powf(k as f64 - 3.0)).collect(); // 1e-3 .. 1e6
    let folds = 5;
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.iter().position(|a| a == "--backend").map(|i| args.get(i + 1).map(String::as_str)) {
        None => Backend::Threads,
        Some(Some(name @ ("threads" | "processes"))) => Backend::from(name),
        // The job array's files next to the cache, which the cluster's nodes share.
        Some(Some("slurm")) => Backend::from(Slurm::new().folder(CACHE)),
        Some(other) => return Err(format!("--backend takes threads, processes or slurm, not {other:?}").into()),
    };
    if args.iter().any(|a| a == "--fresh") {
        make_data::clear();
        fold_gram::clear();
        fit_and_score::clear();
    }

    let results = sweep(&spec, &alphas, folds, &backend);
    joblib::dump(&results, RESULTS)?;
    let results: SweepResults = joblib::load_mmap(RESULTS)?;

    println!(
        "ridge regression, {} x {} inputs ({} numbers), {folds}-fold cross-validation, on {}",
        spec.samples,
        spec.features,
        spec.samples * spec.features,
        match backend {
            Backend::Processes => "worker processes",
            Backend::Slurm(_) => "a Slurm job array",
            _ => "threads",
        }
    );
    println!("{:>10}  {:>12}  {:>10}", "alpha", "mean MSE", "std");
    for (alpha, row) in results.alphas.iter().zip(results.mse.chunks_exact(folds)) {
        let mean = row.iter().sum::<f64>() / folds as f64;
        let std = (row.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / folds as f64).sqrt();
        let marker = if *alpha == results.best_alpha { "  <- best" } else { "" };
        println!("{alpha:>10.0e}  {mean:>12.6}  {std:>10.6}{marker}");
    }
    let norm = results.best_weights.iter().map(|w| w * w).sum::<f64>().sqrt();
    println!("best alpha {:.0e}, |w| = {norm:.6} (results in {RESULTS}, read back mapped)", results.best_alpha);
    // What each function did through the cache in this process (with worker processes, the
    // calls they computed count as misses here).
    let stats = [
        ("make_data", make_data::stats()),
        ("fold_gram", fold_gram::stats()),
        ("fit_and_score", fit_and_score::stats()),
    ];
    for (name, stats) in stats {
        println!("{name:<14} {stats}");
    }
    println!("took {:.3} s", start.elapsed().as_secs_f64());
    Ok(())
}
