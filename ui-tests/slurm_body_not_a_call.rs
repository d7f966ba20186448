#[joblib::task]
fn square(x: u64) -> u64 {
    x * x
}

#[joblib::parallel]
fn squares(xs: &[u64]) -> Vec<u64> {
    #[parallel(backend = "slurm")]
    for x in xs {
        let y = *x + 1;
        square(y)
    }
}

fn main() {
    let _ = squares(&[1, 2]);
}
