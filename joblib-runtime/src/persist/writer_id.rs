//! Who writes a file aside: each temporary file's name carries its writer's process id, the
//! process's start time and the host name, so that eviction can tell a file being written from
//! one left by a writer that was killed, also when several machines share the cache folder.
//!
//! ```text
//! .<file name>~<pid>.<start time>@<host>~<random>.tmp
//! ```
//!
//! On the writer's own host, the writer is gone when no process has its id and start time
//! (`/proc`; an id reused by another process has another start time). A file of another host
//! (or of an older version of joblib, without a writer) is taken as abandoned once nothing has
//! written to it for [`FOREIGN_STALE_AFTER`]: a live writer writes continuously.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

/// How long a temporary file of another host must have gone unmodified to be reclaimed.
pub(crate) const FOREIGN_STALE_AFTER: Duration = Duration::from_secs(3600);

/// The separator of the parts of a temporary file's name (never in a host name).
pub(crate) const SEP: char = '~';

/// A writing process.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Writer {
    pid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat`), 0 where unknown.
    start: u64,
    host: String,
}

impl Writer {
    fn tag(&self) -> String {
        format!("{}.{}@{}", self.pid, self.start, self.host)
    }

    fn parse(tag: &str) -> Option<Writer> {
        let (process, host) = tag.split_once('@')?;
        let (pid, start) = process.split_once('.')?;
        Some(Writer { pid: pid.parse().ok()?, start: start.parse().ok()?, host: host.to_string() })
    }
}

/// This process.
fn this_writer() -> &'static Writer {
    static THIS: OnceLock<Writer> = OnceLock::new();
    THIS.get_or_init(|| {
        let pid = std::process::id();
        Writer { pid, start: start_time(pid).unwrap_or(0), host: host_name() }
    })
}

/// The host name, reduced to the characters host names have.
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name.trim().chars().filter(|c| c.is_ascii_alphanumeric() || "-.".contains(*c)).collect();
    if name.is_empty() {
        "unknown-host".into()
    } else {
        name
    }
}

/// The start time of process `pid`, in clock ticks since boot (Linux).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: fields are counted after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The prefix of the temporary file for `file_name`: its random part and `.tmp` follow.
pub(crate) fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}{SEP}{}{SEP}", this_writer().tag())
}

/// This process, as named in the files it writes: `<pid>.<start time>@<host>`.
pub(crate) fn writer_tag() -> String {
    this_writer().tag()
}

/// Whether the file `name` (`<anything>~<writer tag>~<anything>`) was written by this process.
pub(crate) fn is_this_process(name: &str) -> bool {
    name.split(SEP).nth(1).and_then(Writer::parse).is_some_and(|writer| writer == *this_writer())
}

/// Whether the writer named in `name` (`<anything>~<writer tag>~<anything>`) is known to be
/// gone: a process of this host that no longer runs. (Of another host nothing is known.)
pub(crate) fn is_gone(name: &str) -> bool {
    /// Writers known to be gone (a gone process stays gone): one look in `/proc` each, however
    /// many files they left.
    static GONE: Mutex<Vec<Writer>> = Mutex::new(Vec::new());
    let Some(writer) = name.split(SEP).nth(1).and_then(Writer::parse) else { return false };
    if writer.host != this_writer().host || !cfg!(target_os = "linux") || writer == *this_writer() {
        return false;
    }
    let mut gone = GONE.lock().unwrap_or_else(PoisonError::into_inner);
    if gone.contains(&writer) {
        return true;
    }
    let is_gone = start_time(writer.pid) != Some(writer.start);
    if is_gone && gone.len() < 4096 {
        gone.push(writer);
    }
    is_gone
}

/// Whether `name` is the name of a temporary file written aside (by any version of joblib).
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Whether the temporary file `name`, last modified at `modified`, can no longer be owned by a
/// live writer.
pub(crate) fn is_abandoned(name: &str, modified: SystemTime, now: SystemTime) -> bool {
    let stale = now.duration_since(modified).is_ok_and(|age| age > FOREIGN_STALE_AFTER);
    let writer = name.split(SEP).nth(1).and_then(Writer::parse);
    match writer {
        Some(writer) if writer.host == this_writer().host && cfg!(target_os = "linux") => is_gone(name),
        _ => stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_or_reused_pid_is_not() {
        let now = SystemTime::now();
        let ours = format!("{}abc123.tmp", temp_prefix("output.jbl"));
        assert!(is_temp_name(&ours));
        assert!(!is_abandoned(&ours, now, now), "{ours}");
        let me = this_writer();
        assert!(me.start > 0 && me.host != "unknown-host", "{me:?}");
        let parent = std::os::unix::process::parent_id();
        let alive = Writer { pid: parent, start: start_time(parent).unwrap(), host: me.host.clone() };
        let name = |w: &Writer| format!(".output.jbl~{}~r.tmp", w.tag());
        assert!(!is_abandoned(&name(&alive), now, now), "the parent process is alive");
        let reused = Writer { start: alive.start + 1, ..alive.clone() };
        assert!(is_abandoned(&name(&reused), now, now), "same pid, another process");
        let dead = Writer { pid: u32::MAX - 1, ..alive.clone() };
        assert!(is_abandoned(&name(&dead), now, now));
    }

    #[test]
    fn files_of_other_hosts_and_old_names_are_reclaimed_by_age() {
        let now = SystemTime::now();
        let old = now - FOREIGN_STALE_AFTER - Duration::from_secs(1);
        for name in [".output.jbl~1.2@other-host.example~r.tmp", ".output.jbl.Xy12Ab.tmp", ".x~garbage~.tmp"] {
            assert!(!is_abandoned(name, now, now), "{name}: a recent file may be written");
            assert!(is_abandoned(name, old, now), "{name}: an old one is not");
        }
    }
}
