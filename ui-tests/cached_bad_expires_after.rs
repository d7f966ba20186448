// expires_after is a string: a whole number and a unit, as in "30d".
use joblib::cached;

#[cached(expires_after = "30 days")]
fn recent(x: u32) -> u32 {
    x
}

#[cached(expires_after = 30)]
fn numeric(x: u32) -> u32 {
    x
}

fn main() {}
