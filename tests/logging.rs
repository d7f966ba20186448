//! The seed's `PrintTime` and `Logger`: elapsed times on stderr and in a rotated log file, and
//! messages through the `log` facade.

use joblib::{Logger, PrintTime};

#[path = "common/collected_log.rs"]
mod collected_log;

#[test]
fn a_logger_goes_to_the_log_facade_and_formats_to_its_depth() {
    collected_log::collect("joblib");
    let logger = Logger::new("Sweep", 1);
    logger.debug("fold 3 starts");
    logger.warn("fold 4 diverged");
    let records = collected_log::records();
    assert!(records.contains(&(log::Level::Debug, "[Sweep]: fold 3 starts".into())), "{records:?}");
    assert!(records.contains(&(log::Level::Warn, "[Sweep]: fold 4 diverged".into())), "{records:?}");
    let nested = vec![vec![vec![1, 2]], vec![]];
    let shallow = logger.format(&nested, 0);
    assert!(!shallow.contains('1') && shallow.contains("..."), "deeper than 1 level is elided: {shallow}");
    let deep = Logger::new("Sweep", 5).format(&nested, 3);
    assert!(deep.contains('1') && deep.lines().all(|l| l.starts_with("   ")), "{deep}");
}

#[test]
fn print_time_rotates_its_log_file_and_appends_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/joblib.log");
    for run in 0..12 {
        let mut timer = PrintTime::with_logfile(&log).unwrap();
        let line = timer.print(&format!("run {run}"));
        assert!(line.starts_with(&format!("run {run}: ")) && line.ends_with("min"), "{line}");
        timer.print_total("total");
    }
    let read = |name: &str| std::fs::read_to_string(dir.path().join("logs").join(name)).unwrap();
    assert!(read("joblib.log").contains("run 11: ") && read("joblib.log").contains("total: "));
    assert!(read("joblib.log.1").contains("run 10: "), "the previous run is .1");
    assert!(read("joblib.log.9").contains("run 2: "), "the oldest kept is .9");
    assert!(!dir.path().join("logs/joblib.log.10").exists(), "nine copies at most");
    let via_dir = PrintTime::with_logdir(dir.path().join("other")).unwrap();
    drop(via_dir);
    assert!(dir.path().join("other/joblib.log").is_file());
    // A log file that cannot be created is an error, not a panic.
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, b"").unwrap();
    assert!(PrintTime::with_logfile(blocked.join("joblib.log")).is_err());
}
