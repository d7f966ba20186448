//! Every cache event also goes through the `log` facade (target `joblib::memory`), whatever the
//! verbosity, for programs that collect logs instead of reading stderr.

use joblib::Memory;

#[path = "common/collected_log.rs"]
mod collected_log;

#[test]
fn cache_events_are_logged() {
    collected_log::collect("joblib::memory");
    let dir = tempfile::tempdir().unwrap();
    let f = Memory::new(dir.path()).verbose(0).cache("logged", |x: &u8| *x);
    f.call(&1);
    f.call(&1);
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, b"").unwrap();
    Memory::new(&blocked).verbose(0).cache("blocked", |x: &u8| *x).call(&1);

    let records = collected_log::records();
    let has = |level: log::Level, text: &str| records.iter().any(|(l, m)| *l == level && m.contains(text));
    assert!(has(log::Level::Info, "calling logged: logged(1)"), "{records:?}");
    assert!(has(log::Level::Info, "computed logged in"), "{records:?}");
    assert!(has(log::Level::Debug, "loaded logged from"), "{records:?}");
    assert!(has(log::Level::Warn, "cannot store the result of blocked"), "{records:?}");
}
