//! A `log` logger for tests that keeps the records of one target, to check what the library
//! sends to the `log` facade.

use std::sync::{Mutex, OnceLock};

static TARGET: OnceLock<&'static str> = OnceLock::new();
static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Collect;

impl log::Log for Collect {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if TARGET.get() == Some(&record.target()) {
            RECORDS.lock().unwrap().push((record.level(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

/// Installs the logger (once per test binary), keeping the records of `target`.
pub fn collect(target: &'static str) {
    TARGET.set(target).expect("one target per test binary");
    log::set_logger(&Collect).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
}

/// The records kept so far.
pub fn records() -> Vec<(log::Level, String)> {
    RECORDS.lock().unwrap().clone()
}
