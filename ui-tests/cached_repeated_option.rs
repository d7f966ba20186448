// Each option may be given once.
#[joblib::cached(verbose = 1, verbose = 2)]
fn fit(alpha: f64) -> f64 {
    alpha
}

fn main() {}
