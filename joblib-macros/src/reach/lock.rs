//! The resolved versions of the packages in `Cargo.lock`, found from `CARGO_MANIFEST_DIR`
//! upwards: a call into another crate folds that crate's version into the fingerprint, so
//! upgrading it recomputes what calls it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The lock file above `manifest_dir`, if there is one.
pub(crate) fn lock_file(manifest_dir: &Path) -> Option<PathBuf> {
    manifest_dir.ancestors().map(|dir| dir.join("Cargo.lock")).find(|path| path.is_file())
}

/// The versions of each package (by its name as code spells it, `-` read as `_`).
pub(crate) fn versions(lock: &str) -> BTreeMap<String, Vec<String>> {
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name: Option<String> = None;
    let value = |line: &str, key: &str| {
        let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
        Some(rest.trim_matches('"').to_string())
    };
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            name = None;
        } else if let Some(found) = value(line, "name") {
            name = Some(found.replace('-', "_"));
        } else if let (Some(version), Some(package)) = (value(line, "version"), &name) {
            versions.entry(package.clone()).or_default().push(version);
        }
    }
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_their_versions_are_read() {
        let lock = "version = 4\n\n[[package]]\nname = \"serde-json\"\nversion = \"1.0.1\"\nsource = \"x\"\n\n\
                    [[package]]\nname = \"rand\"\nversion = \"0.8.5\"\n\n[[package]]\nname = \"rand\"\nversion = \"0.9.0\"\n";
        let versions = versions(lock);
        assert_eq!(versions["serde_json"], ["1.0.1"]);
        assert_eq!(versions["rand"], ["0.8.5", "0.9.0"]);
        assert_eq!(versions.len(), 2, "the file's own version is not a package");
    }
}
