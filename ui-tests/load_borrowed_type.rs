// A loaded value owns its data: `load` cannot return a borrowed `&str`.
fn main() {
    let _: &str = joblib::load("run.jbl").unwrap();
}
