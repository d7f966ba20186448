// async functions are not supported: cache the synchronous computation they await.
#[joblib::cached]
async fn fetch(n: u32) -> u32 {
    n
}

fn main() {}
