//! What a cached call says: joblib's messages on stderr at the asked verbosity, and every
//! event through the `log` facade (target `joblib::memory`) whatever the verbosity.

use std::time::Duration;

/// joblib's way of writing a duration: `1.2s, 0.0min`.
pub(crate) fn format_time(t: Duration) -> String {
    format!("{:.1}s, {:.1}min", t.as_secs_f64(), t.as_secs_f64() / 60.0)
}

/// Before computing (verbose ≥ 1):
///
/// ```text
/// ________________________________________________________________________________
/// [Memory] Calling my_crate::simulate...
/// simulate(cfg = Config { .. }, seed = 1)
/// ```
pub(crate) fn calling(verbose: u32, function: &str, call: &str) {
    log::info!(target: "joblib::memory", "calling {function}: {call}");
    if verbose >= 1 {
        eprintln!("{}\n[Memory] Calling {function}...\n{call}", "_".repeat(80));
    }
}

/// After computing (verbose ≥ 1): `______________________simulate - 0.1s, 0.0min`.
pub(crate) fn computed(verbose: u32, name: &str, duration: Duration) {
    log::info!(target: "joblib::memory", "computed {name} in {:.3}s", duration.as_secs_f64());
    if verbose >= 1 {
        let message = format!("{name} - {}", format_time(duration));
        eprintln!("{}{message}", "_".repeat(80usize.saturating_sub(message.len())));
    }
}

/// On a hit (verbose > 10): `[Memory]0.0s, 0.0min   : Loading simulate from /cache/...`.
/// Whether a load is reported at `verbose` (or logged).
pub(crate) fn loads_reported(verbose: u32) -> bool {
    verbose > 10 || log::log_enabled!(target: "joblib::memory", log::Level::Debug)
}

pub(crate) fn loaded(verbose: u32, name: &str, entry: &super::Entry, elapsed: Duration) {
    if log::log_enabled!(target: "joblib::memory", log::Level::Debug) {
        log::debug!(target: "joblib::memory", "loaded {name} from {}", entry.location().display());
    }
    if verbose > 10 {
        eprintln!("[Memory]{:>16}: Loading {name} from {}", format_time(elapsed), entry.location().display());
    }
}

/// On the first miss of a function whose entries were computed by other code (verbose ≥ 1):
/// `[Memory] fit: entries computed by other code are not used (fn preprocess (src/data.rs) changed)`.
pub(crate) fn other_code(verbose: u32, function: &str, changes: &str) {
    log::info!(target: "joblib::memory", "{function}: entries computed by other code are not used ({changes})");
    if verbose >= 1 {
        eprintln!("[Memory] {function}: entries computed by other code are not used ({changes})");
    }
}

/// Something went wrong with the cache and the call goes on without it: always said.
pub(crate) fn warning(message: &str) {
    log::warn!(target: "joblib::memory", "{message}");
    eprintln!("[Memory] WARNING: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_joblib_does() {
        assert_eq!(format_time(Duration::from_millis(1234)), "1.2s, 0.0min");
        assert_eq!(format_time(Duration::from_secs(90)), "90.0s, 1.5min");
    }
}
