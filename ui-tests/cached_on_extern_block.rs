// Only functions with a body can be cached.
#[joblib::cached]
extern "C" {
    fn abs(x: i32) -> i32;
}

fn main() {}
