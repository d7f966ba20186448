struct Opaque(u8);

#[joblib::task]
fn peek(value: &Opaque, _scale: &mut f64) -> u8 {
    value.0
}

#[joblib::task]
fn open(value: &Opaque) -> u8 {
    value.0
}

fn main() {}
