//! What computed a cached function's entries: for each fingerprint the function had when it
//! stored, the fingerprints of what that fingerprint covered (its own tokens and each item and
//! crate it reached), recorded once per fingerprint in the function's folder:
//!
//! ```text
//! <function>/fingerprint-sources/<fingerprint, 32 hex digits>
//!     own <32 hex>
//!     <32 hex> fn preprocess (src/data.rs)
//!     <32 hex> crate nalgebra 0.33.2
//! ```
//!
//! On the first miss of a function in a process, when entries of other fingerprints are there,
//! it says which of these changed (joblib's "function has changed" warning, but precise).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The subfolder of a function's folder. Its name cannot be a function's folder (a `-` in
/// those is followed by 16 hex digits).
pub(crate) const SOURCES_DIR: &str = "fingerprint-sources";

/// What a fingerprint covers: the function's own tokens' hash, and each item and crate reached.
pub(crate) struct Provenance<'a> {
    pub(crate) fingerprint: u128,
    pub(crate) own: u128,
    pub(crate) reached: &'a [(&'a str, u128)],
}

impl Provenance<'_> {
    fn text(&self) -> String {
        let mut text = format!("own {:032x}\n", self.own);
        for (what, fingerprint) in self.reached {
            text.push_str(&format!("{fingerprint:032x} {what}\n"));
        }
        text
    }

    /// Records it in `function_dir`, unless it is there already.
    pub(crate) fn record(&self, function_dir: &Path) {
        let dir = function_dir.join(SOURCES_DIR);
        let path = dir.join(format!("{:032x}", self.fingerprint));
        if path.exists() || std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        if let Ok(file) = crate::persist::AtomicFile::create(&path) {
            use std::io::Write;
            if file.file().write_all(self.text().as_bytes()).is_ok() {
                let _ = file.commit();
            }
        }
    }

    /// What changed since the fingerprint most recently recorded before this one in
    /// `function_dir`, if another is recorded there: `None` when only this one is.
    pub(crate) fn changes(&self, function_dir: &Path) -> Option<String> {
        let (_, earlier) = latest_other(&function_dir.join(SOURCES_DIR), self.fingerprint)?;
        let (own, reached) = parse(&earlier);
        let mut changes = Vec::new();
        if own != Some(self.own) {
            changes.push("its own source changed".to_string());
        }
        let now: BTreeMap<&str, u128> = self.reached.iter().map(|(w, f)| (*w, *f)).collect();
        for (what, fingerprint) in &now {
            match reached.get(*what) {
                Some(before) if before != fingerprint => changes.push(format!("{what} changed")),
                None => changes.push(format!("{what} is new")),
                Some(_) => {}
            }
        }
        changes.extend(reached.keys().filter(|w| !now.contains_key(w.as_str())).map(|w| format!("{w} is gone")));
        if changes.is_empty() {
            changes.push("its version or deps changed".to_string());
        }
        let shown = changes.len().min(3);
        let more = match changes.len() - shown {
            0 => String::new(),
            n => format!(", and {n} more"),
        };
        Some(format!("{}{more}", changes[..shown].join(", ")))
    }
}

/// The record other than `fingerprint`'s most recently written in `dir`, and its text.
fn latest_other(dir: &Path, fingerprint: u128) -> Option<(PathBuf, String)> {
    let own_name = format!("{fingerprint:032x}");
    let latest = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.len() == 32 && n != own_name))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()?;
    let text = std::fs::read_to_string(&latest.1).ok()?;
    Some((latest.1, text))
}

/// A record's own fingerprint and what it reached.
fn parse(text: &str) -> (Option<u128>, BTreeMap<String, u128>) {
    let mut own = None;
    let mut reached = BTreeMap::new();
    for line in text.lines() {
        let Some((first, rest)) = line.split_once(' ') else { continue };
        match (first, u128::from_str_radix(rest, 16), u128::from_str_radix(first, 16)) {
            ("own", Ok(fingerprint), _) => own = Some(fingerprint),
            (_, _, Ok(fingerprint)) => {
                reached.insert(rest.to_string(), fingerprint);
            }
            _ => {}
        }
    }
    (own, reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changes_since_the_last_other_fingerprint_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let old = Provenance { fingerprint: 1, own: 10, reached: &[("fn a (src/a.rs)", 1), ("fn b (src/b.rs)", 2)] };
        assert_eq!(old.changes(dir.path()), None, "nothing recorded");
        old.record(dir.path());
        assert_eq!(old.changes(dir.path()), None, "only itself");
        let helper_fixed =
            Provenance { fingerprint: 2, own: 10, reached: &[("fn a (src/a.rs)", 5), ("fn c (src/c.rs)", 3)] };
        assert_eq!(
            helper_fixed.changes(dir.path()).unwrap(),
            "fn a (src/a.rs) changed, fn c (src/c.rs) is new, fn b (src/b.rs) is gone"
        );
        let own_edit = Provenance { fingerprint: 3, own: 11, reached: old.reached };
        assert_eq!(own_edit.changes(dir.path()).unwrap(), "its own source changed");
        let version = Provenance { fingerprint: 4, own: 10, reached: old.reached };
        assert_eq!(version.changes(dir.path()).unwrap(), "its version or deps changed");
        std::fs::write(dir.path().join(SOURCES_DIR).join(format!("{:032x}", 9u128)), "garbage\nown zz\n").unwrap();
        let after_garbage = version.changes(dir.path()).unwrap();
        assert!(
            after_garbage.contains("its own source changed"),
            "a damaged record reads as another source: {after_garbage}"
        );
    }

    #[test]
    fn a_killed_writers_temporary_record_is_reclaimed_by_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("joblib/f").join(SOURCES_DIR);
        std::fs::create_dir_all(&sources).unwrap();
        let host = crate::persist::writer_tag().split_once('@').unwrap().1.to_string();
        let killed = sources.join(format!(".{:032x}~1.1@{host}~x.tmp", 5u128));
        let live = sources.join(format!(".{:032x}~{}~y.tmp", 6u128, crate::persist::writer_tag()));
        for temp in [&killed, &live] {
            std::fs::write(temp, b"own").unwrap();
        }
        crate::memory::store::Store::at(dir.path()).reduce(None, None, None);
        assert!(!killed.exists() && live.exists());
    }
}
