// A labelled `continue` cannot reach a loop outside the parallel one.
#[joblib::parallel]
fn rows(grid: &[Vec<u32>]) -> Vec<u32> {
    let mut total = Vec::new();
    'rows: for row in grid {
        let sums: Vec<u32> = #[parallel]
        for x in row {
            if *x == 0 {
                continue 'rows;
            }
            *x
        };
        total.extend(sums);
    }
    total
}

fn main() {}
