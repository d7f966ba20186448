// Every mistake in the loops of a function is reported at once; the function keeps its
// signature and its loops run one after the other, so its callers get no error of their own.
#[joblib::parallel]
fn doubled(xs: &[u32]) -> Vec<u32> {
    let ys: Vec<u32> = #[parallel(jobs = 2, n_jobs = 0)]
    for x in xs {
        if *x == 0 {
            break;
        }
        x * 2
    };
    let zs: Vec<u32> = #[parallel(timeout = -1.0, batch_size = 0)]
    for y in ys {
        if y == 1 {
            return vec![];
        }
        y
    };
    zs
}

fn main() {
    let _: Vec<u32> = doubled(&[1, 2]);
}
