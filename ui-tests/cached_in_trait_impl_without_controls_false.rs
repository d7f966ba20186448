// A trait impl holds only the trait's items: a cached method there needs `controls = false`,
// or its controls (`score_is_cached`, ...) are not members of the trait.
trait Estimator {
    fn score(&self, x: f64) -> f64;
}

#[derive(serde::Serialize)]
struct Lasso(f64);

impl Estimator for Lasso {
    #[joblib::cached]
    fn score(&self, x: f64) -> f64 {
        self.0 * x
    }
}

fn main() {}
