// Results are stored in the cache, so they must be `Serialize` and `Deserialize`.
#[derive(Debug)]
struct Report {
    text: String,
}

#[joblib::cached]
fn report(n: u32) -> Report {
    Report { text: n.to_string() }
}

fn main() {}
