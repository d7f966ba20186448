// Nothing can jump to a parallel loop, so it cannot have a label.
#[joblib::parallel]
fn doubled(xs: &[u32]) -> Vec<u32> {
    #[parallel]
    'outer: for x in xs {
        x * 2
    }
}

fn main() {}
