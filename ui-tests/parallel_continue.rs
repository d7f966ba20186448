// Every iteration gives a value: `continue` would leave a hole.
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
