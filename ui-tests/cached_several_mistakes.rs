// Every mistake is reported at once, each at its token; the function and its controls still
// exist, so its callers get no error of their own.
#[joblib::cached(verbose = 1, verbose = 2, mmap_mode = "rw", ignore(seed, nope), compress = 40)]
fn simulate(alpha: f64, seed: u64) -> f64 {
    alpha * seed as f64
}

fn main() {
    let _ = simulate(0.5, 1);
    let _ = simulate::is_cached(0.5, 1);
    simulate::clear();
}
