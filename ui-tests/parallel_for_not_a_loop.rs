// `parallel_for!` takes a `for` loop.
fn main() {
    let xs = [1, 2, 3];
    let _: Vec<i32> = joblib::parallel_for!(xs.iter().map(|x| x * 2));
}
