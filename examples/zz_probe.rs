use std::time::Instant;
fn main() {
    let n = 128usize << 20; // 1 GiB of f64
    let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let a = joblib::Array::from(v.clone());
    for _ in 0..3 {
        let t = Instant::now();
        let h = xxhash_rust::xxh3::xxh3_128(a.as_bytes());
        let b = t.elapsed();
        let t = Instant::now();
        let h1 = joblib::hash(&a);
        let ta = t.elapsed();
        let t = Instant::now();
        let h2 = joblib::hash(&v);
        let tv = t.elapsed();
        let t = Instant::now();
        let mut s = 0u128;
        for i in 0..1_000_000 {
            s ^= u128::from_str_radix(&joblib::hash(&(i as i64, 2.5f64, String::from("abc"))), 16).unwrap();
        }
        let tt = t.elapsed();
        println!(
            "xxh3 {:.1} GB/s  array {:.1} GB/s  vec {:.1} GB/s  tuple {:.0} ns {} {} {} {}",
            8.0 * n as f64 / b.as_secs_f64() / 1e9,
            8.0 * n as f64 / ta.as_secs_f64() / 1e9,
            8.0 * n as f64 / tv.as_secs_f64() / 1e9,
            tt.as_nanos() as f64 / 1e6,
            h,
            h1.len(),
            h2.len(),
            s % 2
        );
    }
    // compression
    let t = Instant::now();
    joblib::dump_with(&a, "/tmp/hb/z.jbl", joblib::Compress::Zstd(3)).unwrap();
    let d = t.elapsed();
    let t = Instant::now();
    let b: joblib::Array<f64> = joblib::load("/tmp/hb/z.jbl").unwrap();
    let l = t.elapsed();
    println!(
        "zstd3 dump {:?} load {:?} ratio {:.3}",
        d,
        l,
        std::fs::metadata("/tmp/hb/z.jbl").unwrap().len() as f64 / (8 * n) as f64
    );
    assert!(b == a);
}
