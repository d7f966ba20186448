#[joblib::task]
fn square(x: u64) -> u64 {
    x * x
}

#[joblib::parallel]
fn squares(xs: &[u64], backend: String) -> Vec<u64> {
    let values = #[parallel(backend = backend)]
    for x in xs {
        square(*x) + 1
    };
    println!("ran on {backend}");
    values
}

fn main() {
    let _ = squares(&[1, 2], "threads".into());
}
