//! The cache folder: one folder per function; in it, small results packed together and a
//! folder for each larger one.
//!
//! ```text
//! <location>/joblib/<crate>/<module>/.../<function>/packed-entries/<b>/<pack>.pack
//!                                                   packed-entries/<b>/<pack>.pack.index(-tail)
//!                                                   <key>/output.jbl
//!                                                         metadata.json
//! ```
//!
//! `<key>` is 32 hex digits: the hash of everything that identifies a call (the function's
//! fingerprint, its generic types and its arguments). A result whose file has at most
//! [`MAX_PACKED`](super::pack::MAX_PACKED) bytes is appended to a pack ([`pack`]);
//! a larger one gets its key's folder, whose two files are written aside and renamed into
//! place, so a reader sees a whole file or none. A hit writes nothing there: such an entry's
//! last access is the later of its files' modification times (when it was stored) and its
//! output's access time, which the filesystem sets when the output is read (as Python joblib
//! uses it; with `relatime`, the Linux default, at most once a day after the first read; with
//! `noatime`, never, and eviction is by creation time).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::pack;
#[cfg(test)]
use super::Settings;
use crate::error::{Error, Result};

/// The subfolder of a location that holds the cache, as in Python joblib.
const CACHE_SUBDIR: &str = "joblib";
pub(crate) const OUTPUT: &str = "output.jbl";
pub(crate) const METADATA: &str = "metadata.json";
/// A function's generation counter (see [`Function`](super::store::Function)): a name no
/// function part or entry can have (a part with a `.` is hashed).
pub(crate) const GENERATION: &str = "generation.counter";

/// The cache folder under a location.
pub(crate) fn cache_root(location: &Path) -> PathBuf {
    location.join(CACHE_SUBDIR)
}

/// The folder of the function `identity` (`crate::module::name`, or any name given to
/// `Memory::cache`): one folder per `::`-separated part.
///
/// Two identities never share a folder, and a function's folder never holds another's: a
/// part made only of lowercase ASCII letters, digits and `_` (and not 32 hex digits, the name
/// of an entry) is its own folder name; any other part (`error rate`, `α`, `Model`, `<impl
/// Foo>`, the empty part) is reduced to safe characters and followed by `-` and 16 hex digits
/// of its exact text's hash, as is a part longer than 128 bytes. The two kinds cannot meet (only the second has a `-`), and
/// uppercase letters are hashed too, so that case-insensitive filesystems keep them apart.
pub(crate) fn function_dir(location: &Path, identity: &str) -> PathBuf {
    let mut dir = cache_root(location);
    for part in identity.split("::") {
        dir.push(folder_name(part));
    }
    dir
}

/// The longest part of an identity that is its own folder name; a longer one is shortened as
/// other names are (filesystems take names of at most 255 bytes).
const MAX_PLAIN_NAME: usize = 128;

/// The folder name of one part of an identity, as [`function_dir`] describes.
fn folder_name(part: &str) -> String {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if !part.is_empty() && part.len() <= MAX_PLAIN_NAME && part.chars().all(plain) && !is_entry_name(part) {
        return part.to_string();
    }
    let safe: String = part.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(64).collect();
    format!("{safe}-{:016x}", xxhash_rust::xxh3::xxh3_64(part.as_bytes()))
}

/// The folder of the entry of `key` of the function whose folder is `function_dir`.
pub(crate) fn entry_dir(function_dir: &Path, key: u128) -> PathBuf {
    function_dir.join(format!("{key:032x}"))
}

/// Whether a folder name is that of an entry: the key, 32 hex digits.
pub(crate) fn is_entry_name(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes a folder and everything in it from disk; one already gone is not an error. A
/// writer adding to it meanwhile (another process storing while this one clears) makes the
/// removal try again, and what the writer keeps adding is left to it: a clear finishes.
pub(crate) fn remove_tree(dir: &Path) -> Result<()> {
    for _ in 0..REMOVE_TRIES {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => continue,
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(dir, e)),
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Removes everything in the folder `dir` but its file `keep`; a folder already gone is not
/// an error.
pub(crate) fn remove_all_but(dir: &Path, keep: &str) -> Result<()> {
    let children = match std::fs::read_dir(dir) {
        Ok(children) => children,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    // Every child is tried, whatever fails: the first failure is reported at the end.
    let mut failure = Ok(());
    for child in children.flatten().filter(|child| child.file_name() != keep) {
        let removed = match child.file_type().is_ok_and(|t| t.is_dir()) {
            true => remove_tree(&child.path()),
            false => std::fs::remove_file(child.path()).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(Error::io(&child.path(), e)),
            }),
        };
        failure = failure.and(removed);
    }
    failure
}

/// How many times a folder a writer adds to is removed again.
const REMOVE_TRIES: usize = 5;

/// Removes every entry in a function's folder (its packs and entry folders), and nothing
/// else.
pub(crate) fn remove_entries(function_dir: &Path) -> Result<()> {
    remove_tree(&function_dir.join(pack::PACKS_DIR))?;
    let children = match std::fs::read_dir(function_dir) {
        Ok(children) => children,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(function_dir, e)),
    };
    // Every entry is tried, whatever fails: the first failure is reported at the end.
    let mut failure = Ok(());
    for child in children {
        let removed = child.map_err(|e| Error::io(function_dir, e)).and_then(|child| {
            match is_entry_name(&child.file_name().to_string_lossy()) {
                true => remove_tree(&child.path()),
                false => Ok(()),
            }
        });
        failure = failure.and(removed);
    }
    failure
}

/// Opens `path` to read without changing its access time, which is an entry's last access (a
/// listing or a check is no use): with `O_NOATIME` where the process may (it owns the file, or
/// is root), else as any read.
pub(crate) fn open_unseen(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
    std::fs::File::options().read(true).custom_flags(noatime).open(path).or_else(|_| std::fs::File::open(path))
}

/// The bytes of the file at `path`, read as [`open_unseen`] does.
pub(crate) fn read_unseen(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open_unseen(path)?, &mut bytes)?;
    Ok(bytes)
}

/// What eviction needs to know of an entry folder.
#[derive(Debug)]
pub(crate) struct EntryInfo {
    /// The function's folder.
    pub(crate) function_dir: PathBuf,
    pub(crate) key: u128,
    pub(crate) last_access: SystemTime,
    pub(crate) bytes: u64,
}

/// A file or folder written aside that no committed entry accounts for.
#[derive(Debug)]
pub(crate) struct Leftover {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
    /// No live writer can own it: eviction removes it.
    pub(crate) abandoned: bool,
}

/// What a cache folder holds.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Entries with an output (which may lack its metadata: a writer killed between the two).
    pub(crate) entries: Vec<EntryInfo>,
    /// Temporary files, and entry folders with neither output nor temporary file.
    pub(crate) leftovers: Vec<Leftover>,
    /// The packs folders of functions ([`pack`]).
    pub(crate) packs: Vec<PathBuf>,
}

/// Every entry folder, packs folder and leftover under `root`. Entry folders are the folders
/// named by a key.
pub(crate) fn scan(root: &Path) -> Scan {
    let now = SystemTime::now();
    let mut scan = Scan::default();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(children) = std::fs::read_dir(&dir) else { continue };
        let children: Vec<_> = children.filter_map(|c| c.ok()).collect();
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if dir != root && is_entry_name(&name) {
            scan_entry(dir, &name, &children, now, &mut scan);
        } else if dir != root && name == pack::PACKS_DIR {
            scan.packs.push(dir);
        } else if dir != root && name == super::provenance::SOURCES_DIR {
            // Records of what computed entries: only a killed writer's temporary file is left.
            for child in &children {
                let file_name = child.file_name().to_string_lossy().into_owned();
                let Ok(meta) = child.metadata() else { continue };
                if crate::persist::is_temp_name(&file_name) {
                    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    let abandoned = crate::persist::is_abandoned(&file_name, modified, now);
                    scan.leftovers.push(Leftover { path: child.path(), bytes: meta.len(), abandoned });
                }
            }
        } else {
            pending.extend(children.iter().filter(|c| c.file_type().is_ok_and(|t| t.is_dir())).map(|c| c.path()));
        }
    }
    scan
}

/// Sorts the files of one entry folder into the entry and its leftovers.
fn scan_entry(dir: PathBuf, name: &str, children: &[std::fs::DirEntry], now: SystemTime, scan: &mut Scan) {
    let mut bytes = 0;
    let mut last_access = None;
    let mut has_output = false;
    for child in children {
        let Ok(meta) = child.metadata() else { continue };
        let file_name = child.file_name().to_string_lossy().into_owned();
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if crate::persist::is_temp_name(&file_name) {
            let abandoned = crate::persist::is_abandoned(&file_name, modified, now);
            scan.leftovers.push(Leftover { path: child.path(), bytes: meta.len(), abandoned });
            continue;
        }
        bytes += meta.len();
        has_output |= file_name == OUTPUT;
        // The last access: when the entry was stored or last read, whichever is later (reads
        // set the output's access time, as the filesystem keeps it).
        if file_name == METADATA || file_name == OUTPUT {
            let accessed = meta.accessed().unwrap_or(modified).max(modified);
            last_access = last_access.max(Some(accessed));
        }
    }
    let key = u128::from_str_radix(name, 16).unwrap_or(0);
    if has_output {
        let last_access = last_access.unwrap_or(SystemTime::UNIX_EPOCH);
        let function_dir = dir.parent().unwrap_or(&dir).to_path_buf();
        scan.entries.push(EntryInfo { function_dir, key, last_access, bytes });
    } else if children.iter().all(|c| c.file_name() == METADATA) {
        // Nothing is being written in it: a folder left empty (or with only metadata) by a
        // killed writer, unless a writer just created it and is about to write. (A folder with
        // other files is not this cache's: Python joblib's entries, in a location both use,
        // have 32 hex digits for names too, and are left alone.)
        let created = std::fs::metadata(&dir).and_then(|m| m.modified()).unwrap_or(now);
        let abandoned = now.duration_since(created).is_ok_and(|age| age > crate::persist::FOREIGN_STALE_AFTER);
        scan.leftovers.push(Leftover { path: dir, bytes, abandoned });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn function_folders_are_safe_names() {
        let root = Path::new("/cache");
        assert_eq!(function_dir(root, "my_crate::sim::run"), Path::new("/cache/joblib/my_crate/sim/run"));
        let hashed = |part: &str| format!("-{:016x}", xxhash_rust::xxh3::xxh3_64(part.as_bytes()));
        assert_eq!(
            function_dir(root, "my_crate::<impl Foo<T>>::m"),
            Path::new(&format!("/cache/joblib/my_crate/_impl_Foo_T__{}/m", hashed("<impl Foo<T>>")))
        );
        for hostile in ["../../etc", "a/b", "..", ".", "", "a\\b", "\0"] {
            let dir = function_dir(root, hostile);
            assert_eq!(dir.parent(), Some(Path::new("/cache/joblib")), "{hostile:?} stays one folder: {dir:?}");
            assert!(!dir.file_name().unwrap().to_string_lossy().starts_with('.'), "{dir:?}");
        }
    }

    #[test]
    fn different_identities_never_share_a_folder() {
        let root = Path::new("/cache");
        let names = [
            "error rate",
            "error_rate",
            "error-rate",
            "α",
            "β",
            "Error_rate",
            "ERROR_RATE",
            "a::b",
            "a::::b",
            "a:b",
            "a",
            "a::",
            "0123456789abcdef0123456789abcdef",
            "f",
            "f-",
            "_",
            "__",
            "<impl A>::run",
            "<impl B>::run",
        ];
        let dirs: std::collections::HashSet<_> = names.iter().map(|n| function_dir(root, n)).collect();
        assert_eq!(dirs.len(), names.len());
        assert!(!is_entry_name(&folder_name("0123456789abcdef0123456789abcdef")));
        let long = "a".repeat(300);
        assert!(folder_name(&long).len() < 100, "a long name is shortened");
        assert_ne!(folder_name(&long), folder_name(&"a".repeat(301)));
    }

    /// Settings that store values as they are.
    pub(crate) const PLAIN: Settings = Settings {
        mmap_mode: None,
        compress: crate::persist::Compress::None,
        verbose: 0,
        expires_after: None,
        kept_under: None,
    };

    use super::super::metadata::Metadata;
    use super::super::MmapMode;

    #[test]
    fn small_entries_are_packed_and_large_ones_get_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let f = function_dir(dir.path(), "c::f");
        let function = super::super::store::Store::at(dir.path()).function("c::f");
        let entry = |key| super::super::store::Entry::new(function.clone(), key);
        let (small, large) = (entry(7), entry(8));
        let mut metadata = Metadata::new("c::f", "f(1)".into(), 7, std::time::Duration::from_millis(5));
        small.store(&vec![1u64; 100], PLAIN, &mut metadata).unwrap();
        large.store(&vec![2u64; 4000], PLAIN, &mut metadata).unwrap();
        assert!(!small.dir().exists() && small.location().starts_with(f.join(pack::PACKS_DIR)));
        assert_eq!(large.location(), large.dir());
        // A call being written: no metadata yet, not listed.
        std::fs::create_dir_all(entry(9).dir()).unwrap();
        let scan = scan(&cache_root(dir.path()));
        assert_eq!(scan.entries.len(), 1);
        assert!(scan.entries[0].bytes > 32_000);
        assert_eq!((&scan.entries[0].function_dir, scan.entries[0].key), (&f, 8));
        assert_eq!(scan.packs, [f.join(pack::PACKS_DIR)]);
        assert_eq!(small.load::<Vec<u64>>(None, None).unwrap(), Some(vec![1u64; 100]));
        assert_eq!(large.load::<Vec<u64>>(None, None).unwrap(), Some(vec![2u64; 4000]));
        assert_eq!(entry(10).load::<Vec<u64>>(None, None).unwrap(), None);
        // Arrays to be mapped get a folder, whatever their size.
        let mapped = Settings { mmap_mode: Some(MmapMode::ReadOnly), ..PLAIN };
        let array = entry(11);
        array.store(&crate::Array::from(vec![1u8; 10]), mapped, &mut metadata).unwrap();
        assert!(array.dir().join(OUTPUT).is_file());
        assert!(array.load::<crate::Array<u8>>(Some(MmapMode::ReadOnly), None).unwrap().unwrap().is_mapped());
    }
}
