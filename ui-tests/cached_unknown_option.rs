// A misspelt option is an error at the option.
#[joblib::cached(mmap = "r")]
fn fit(alpha: f64) -> f64 {
    alpha
}

fn main() {}
