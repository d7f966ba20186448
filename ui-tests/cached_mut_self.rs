// A cached method may skip its body, so changes to `self` would be lost.
#[derive(serde::Serialize)]
struct Counter(u32);

impl Counter {
    #[joblib::cached]
    fn bump(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

fn main() {}
