//! Entries last used long ago, as on any rerun of a sweep.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// Sets the access and modification times of every file under `dir` a day back.
pub fn date_back(dir: &Path) {
    let day_ago = SystemTime::now() - Duration::from_secs(86_400);
    let times = std::fs::FileTimes::new().set_accessed(day_ago).set_modified(day_ago);
    for child in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = child.path();
        if path.is_dir() {
            date_back(&path);
        } else if let Ok(file) = std::fs::File::options().write(true).open(&path) {
            let _ = file.set_times(times);
        }
    }
}
