// zstd levels go from 0 to 22.
#[joblib::cached(compress = 99)]
fn fit(alpha: f64) -> f64 {
    alpha
}

fn main() {}
