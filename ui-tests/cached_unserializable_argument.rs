// Arguments are hashed into the cache key, so they must be `Serialize`.
struct Opaque;

#[joblib::cached]
fn run(input: &Opaque, n: u32) -> u32 {
    let _ = input;
    n
}

fn main() {}
