//! Sizes, durations and times as people read them, and as the JSON output writes them.

use std::time::{Duration, SystemTime};

/// `512 B`, `1.50 KiB`, `12.3 MiB`.
pub(crate) fn bytes(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

/// `0.4 ms`, `81 ms`, `1.5 s`, `3.2 min`, `1.5 h`, `2.0 days`.
pub(crate) fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    match seconds {
        s if s < 0.01 => format!("{:.1} ms", s * 1e3),
        s if s < 1.0 => format!("{:.0} ms", s * 1e3),
        s if s < 60.0 => format!("{s:.1} s"),
        s if s < 3600.0 => format!("{:.1} min", s / 60.0),
        s if s < 86_400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

/// How long ago `time` was: `12 s ago`, `5 min ago`, `3 h ago`, `4 days ago`.
pub(crate) fn ago(time: SystemTime) -> String {
    let Ok(age) = SystemTime::now().duration_since(time) else { return "just now".to_string() };
    match age.as_secs() {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// A time in RFC 3339, to the second, in UTC: `2026-12-07T12:00:03Z`.
pub(crate) fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A key as the JSON output and `--key` write it: 32 hex digits.
pub(crate) fn key(key: u128) -> String {
    format!("{key:032x}")
}

/// A key as tables show it: its first 12 hex digits.
pub(crate) fn short_key(key: u128) -> String {
    format!("{key:032x}")[..12].to_string()
}

/// A spinner on standard error while a long scan runs (drawn only on a terminal).
pub(crate) fn spinner(message: &str) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner().with_message(message.to_string());
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// `1 entry`, `2 entries`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
