// Only functions have results to cache.
#[joblib::cached]
const ALPHA: f64 = 0.5;

fn main() {}
