use std::time::Instant;
fn main() {
    for _ in 0..3 {
        let t = Instant::now();
        let b: joblib::Array<f64> = joblib::load("/tmp/hb/z.jbl").unwrap();
        println!("load {:?} {}", t.elapsed(), b.len());
    }
}
