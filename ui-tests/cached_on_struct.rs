// Only functions have results to cache.
#[joblib::cached]
struct Settings {
    alpha: f64,
}

fn main() {}
