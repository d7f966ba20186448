// One store per function: a folder or a Memory, not both.
static MEMORY: std::sync::LazyLock<joblib::Memory> = std::sync::LazyLock::new(|| joblib::Memory::new("cache"));

#[joblib::cached(dir = "cache", memory = MEMORY)]
fn fit(alpha: f64) -> f64 {
    alpha
}

fn main() {}
