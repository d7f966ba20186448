// A cached call may skip the body, so changes through `&mut` would be lost.
#[joblib::cached]
fn normalize(values: &mut Vec<f64>) -> f64 {
    values.iter().sum()
}

fn main() {}
