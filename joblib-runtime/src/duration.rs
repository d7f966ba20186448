//! Durations as people read them: `3.2 s`, `4.5 min`, `2.1 h`, `3.0 days` in messages.

use std::time::Duration;

/// A duration as people read it, to two or three digits: `0.25 s`, `42 s`, `4.5 min`,
/// `2.1 h`, `3.0 days`.
pub(crate) fn human_duration(t: Duration) -> String {
    let s = t.as_secs_f64();
    match s {
        s if s < 10.0 => format!("{s:.2} s"),
        s if s < 60.0 => format!("{s:.0} s"),
        s if s < 3600.0 => format!("{:.1} min", s / 60.0),
        s if s < 86_400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_read_them() {
        assert_eq!(human_duration(Duration::from_millis(250)), "0.25 s");
        assert_eq!(human_duration(Duration::from_secs(42)), "42 s");
        assert_eq!(human_duration(Duration::from_secs(270)), "4.5 min");
        assert_eq!(human_duration(Duration::from_secs(7560)), "2.1 h");
        assert_eq!(human_duration(Duration::from_secs(3 * 86_400)), "3.0 days");
    }
}
