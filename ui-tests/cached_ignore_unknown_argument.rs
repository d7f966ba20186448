// `ignore` must name an argument of the function.
#[joblib::cached(ignore(verbos))]
fn fit(alpha: f64, verbose: bool) -> f64 {
    let _ = verbose;
    alpha
}

fn main() {}
