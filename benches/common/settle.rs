//! Letting the disk catch up between measurements.

/// Writes every dirty page to disk (untimed), so that a measurement does not pay for the
/// previous one's writeback.
pub fn settle() {
    let _ = std::process::Command::new("sync").status();
}
