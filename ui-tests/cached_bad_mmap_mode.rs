// mmap_mode is "r", "r+" or "c".
#[joblib::cached(mmap_mode = "x")]
fn fit(alpha: f64) -> f64 {
    alpha
}

fn main() {}
