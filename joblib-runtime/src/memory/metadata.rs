//! The human-readable `metadata.json` of a cache entry.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::persist::FileStamp;

/// Arguments are summarised in at most this many characters.
pub(crate) const SUMMARY_CHARS: usize = 1000;

/// What is known of a cache entry, for people reading the cache folder and for eviction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Metadata {
    /// The function, `crate::module::name` (or the name given to `Memory::cache`).
    pub(crate) function: String,
    /// The call, with arguments summarised and truncated.
    pub(crate) arguments: String,
    /// The entry's key: the hash of fingerprint, generic types and arguments.
    pub(crate) key: String,
    /// How long the computation took, in seconds.
    pub(crate) duration_seconds: f64,
    /// When the entry was written, in seconds since the Unix epoch.
    pub(crate) created: f64,
    /// When the entry was written, in seconds since the Unix epoch: hits write nothing, the
    /// output's access time on the filesystem is the last access.
    pub(crate) last_access: f64,
    /// The size of `output.jbl` in bytes.
    pub(crate) output_bytes: u64,
    /// The version of joblib that wrote the entry.
    pub(crate) joblib_version: String,
    /// The identity of `output.jbl` when it was written (inode, size, times): a mapped hit on
    /// a file that still has it skips the checksums.
    #[serde(default)]
    pub(crate) output_stamp: Option<FileStamp>,
    /// The function's source fingerprint when it stored the entry (32 hex digits), for a
    /// `#[cached]` function (a closure given to `Memory::cache` has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fingerprint: Option<String>,
}

impl Metadata {
    pub(crate) fn new(function: &str, arguments: String, key: u128, duration: Duration) -> Self {
        let now = unix_seconds(SystemTime::now());
        Metadata {
            function: function.to_string(),
            arguments: truncate(arguments, SUMMARY_CHARS),
            key: format!("{key:032x}"),
            duration_seconds: duration.as_secs_f64(),
            created: now,
            last_access: now,
            output_bytes: 0,
            joblib_version: env!("CARGO_PKG_VERSION").to_string(),
            output_stamp: None,
            fingerprint: None,
        }
    }

    /// The version of the function that stored it: the low 64 bits of its fingerprint (what a
    /// packed entry records), if it has one.
    pub(crate) fn version(&self) -> Option<u64> {
        let fingerprint = self.fingerprint.as_deref()?;
        u64::from_str_radix(fingerprint.get(fingerprint.len().checked_sub(16)?..)?, 16).ok()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// `text` cut to at most `max` characters, with `...` where it was cut.
pub(crate) fn truncate(text: String, max: usize) -> String {
    cut(text, max, false)
}

/// A summary of at most [`SUMMARY_CHARS`] characters made from the start of a description;
/// `complete` says whether `text` is the whole description.
pub(crate) fn summary_of(text: String, complete: bool) -> String {
    cut(text, SUMMARY_CHARS, !complete)
}

fn cut(mut text: String, max: usize, already_cut: bool) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push_str("...");
    } else if already_cut {
        text.push_str("...");
    }
    text
}

/// A short JSON rendering of `value` for messages and metadata: serialization stops as soon
/// as the summary is long enough, so a large array costs nothing to describe.
pub(crate) fn json_summary<T: Serialize + ?Sized>(value: &T) -> String {
    /// Keeps the first bytes written, then refuses more.
    struct Bounded(Vec<u8>);
    impl std::io::Write for Bounded {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0.len() >= SUMMARY_CHARS {
                return Err(std::io::Error::other("summary is long enough"));
            }
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Bounded(Vec::new());
    let complete = serde_json::to_writer(&mut out, value).is_ok();
    summary_of(String::from_utf8_lossy(&out.0).into_owned(), complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_summaries_are_truncated_on_a_char_boundary() {
        assert_eq!(truncate("abc".into(), 5), "abc");
        assert_eq!(truncate("ééééé".into(), 2), "éé...");
        let m = Metadata::new("c::f", "x".repeat(5000), 1, Duration::from_millis(1500));
        assert_eq!(m.arguments.chars().count(), SUMMARY_CHARS + 3);
        assert_eq!(m.key, "00000000000000000000000000000001");
        assert_eq!(m.duration_seconds, 1.5);
    }

    #[test]
    fn times_read_back_exactly() {
        let mut m = Metadata::new("c::f", "()".into(), 1, Duration::from_millis(1500));
        // A time that serde_json's default (fast, inexact) float parser reads back one ulp off.
        m.created = 1795626911.6742883;
        m.last_access = m.created;
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Metadata>(&json).unwrap(), m);
    }

    #[test]
    fn json_summaries_stop_early() {
        assert_eq!(json_summary(&(1, "a")), r#"[1,"a"]"#);
        let big = vec![0u64; 10_000_000];
        let summary = json_summary(&big);
        assert!(summary.len() < SUMMARY_CHARS + 10 && summary.ends_with("..."), "{}", summary.len());
    }
}
