// A cached call may skip the body, so changes through `&mut` would be lost. The function is
// emitted unchanged beside the error: its caller gets no error of its own.
#[joblib::cached]
fn normalize(values: &mut Vec<f64>) -> f64 {
    values.iter().sum()
}

fn main() {
    let mut values = vec![1.0];
    let _ = normalize(&mut values);
    let _ = normalize::is_cached(&mut values);
}
