// A `u32` body has no value for a skipped item: `continue` would leave a hole in the `Vec`.
#[joblib::parallel]
fn odd(xs: &[u32]) -> Vec<u32> {
    #[parallel]
    for x in xs {
        if x % 2 == 0 {
            continue;
        }
        *x
    }
}

fn main() {}
