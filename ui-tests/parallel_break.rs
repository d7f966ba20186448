// Every iteration of a parallel loop runs: `break` has nothing to stop.
#[joblib::parallel]
fn first_big(xs: &[u32]) -> Vec<u32> {
    #[parallel]
    for x in xs {
        if *x > 10 {
            break;
        }
        *x
    }
}

fn main() {}
