// One missing derive is one error, at the return type.
#[derive(serde::Serialize)]
struct Report {
    text: String,
}

#[joblib::cached]
fn report(n: u32) -> Report {
    Report { text: n.to_string() }
}

fn main() {
    let _ = report(1);
}
