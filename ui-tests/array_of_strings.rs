// Arrays hold plain numbers only: a `String` is not an `Element`.
fn main() {
    let _ = joblib::Array::from(vec![String::from("not a number")]);
}
