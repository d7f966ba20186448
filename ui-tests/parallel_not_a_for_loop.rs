// `#[parallel]` marks `for` loops only.
#[joblib::parallel]
fn countdown(mut n: u32) -> u32 {
    #[parallel]
    while n > 0 {
        n -= 1;
    }
    n
}

fn main() {}
