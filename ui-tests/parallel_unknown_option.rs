// A misspelt loop option is an error at the option.
#[joblib::parallel]
fn doubled(xs: &[u32]) -> Vec<u32> {
    #[parallel(jobs = 2)]
    for x in xs {
        x * 2
    }
}

fn main() {}
