// An iteration runs on another thread: it cannot return from the function.
#[joblib::parallel]
fn doubled(xs: &[u32]) -> Vec<u32> {
    #[parallel]
    for x in xs {
        if *x == 0 {
            return Vec::new();
        }
        x * 2
    }
}

fn main() {}
