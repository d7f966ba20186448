#[joblib::task]
fn square(x: u64) -> u64 {
    x * x
}

#[joblib::parallel]
fn squares(xs: &[u64], backend: &str) -> Vec<u64> {
    #[parallel(backend = backend)]
    for x in xs {
        square(*x) + 1
    }
}

fn main() {
    let _ = squares(&[1, 2], "threads");
}
