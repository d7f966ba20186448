//! The seed's logging helpers: [`PrintTime`], which prints the time elapsed between its calls
//! (optionally also to a log file, rotated when it is opened), and [`Logger`], joblib's base
//! logger, mapped onto the `log` facade (target `joblib`).

use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::error::{Error, Result};

/// How many rotated copies of a log file are kept (`joblib.log.1` to `joblib.log.9`).
const ROTATED: u32 = 9;

/// Prints messages with the time elapsed since the last one (or since the start), as joblib's
/// `PrintTime`: `"{msg}: 1.5s, 0.0min"` on stderr, and on a line of the log file if it has one.
///
/// ```
/// let mut timer = joblib::PrintTime::new();
/// let line = timer.print("loaded the data");
/// assert!(line.starts_with("loaded the data: ") && line.ends_with("min"));
/// let line = timer.print_total("everything");
/// assert!(line.starts_with("everything: "));
/// ```
#[derive(Debug)]
pub struct PrintTime {
    start: Instant,
    last: Instant,
    logfile: Option<PathBuf>,
}

impl Default for PrintTime {
    fn default() -> Self {
        PrintTime::new()
    }
}

impl PrintTime {
    /// A timer that prints on stderr only.
    pub fn new() -> PrintTime {
        let now = Instant::now();
        PrintTime { start: now, last: now, logfile: None }
    }

    /// A timer that also appends its lines to `logfile` (its folder created if missing). A log
    /// file already there is rotated first, as joblib does: `logfile.1` becomes `logfile.2`
    /// and so on up to `logfile.9`, the old file is copied to `logfile.1` (a copy, so that a
    /// process following the file is not lost), and the file starts again with a header.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let log = dir.path().join("joblib.log");
    /// let mut timer = joblib::PrintTime::with_logfile(&log)?;
    /// timer.print("step one");
    /// assert!(std::fs::read_to_string(&log)?.contains("step one: "));
    /// joblib::PrintTime::with_logfile(&log)?;                 // a second run rotates
    /// assert!(std::fs::read_to_string(dir.path().join("joblib.log.1"))?.contains("step one"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the log file cannot be created (a failed rotation is not an error).
    pub fn with_logfile(logfile: impl AsRef<Path>) -> Result<PrintTime> {
        let logfile = logfile.as_ref().to_path_buf();
        if let Some(folder) = logfile.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
        }
        if logfile.exists() {
            rotate(&logfile);
        }
        let started = humantime_now();
        let header = format!("\nLogging joblib for Rust\n\n---{started}---\n");
        std::fs::write(&logfile, header).map_err(|e| Error::io(&logfile, e))?;
        Ok(PrintTime { logfile: Some(logfile), ..PrintTime::new() })
    }

    /// A timer logging to `joblib.log` in `logdir` (joblib's `logdir`).
    ///
    /// # Errors
    ///
    /// As [`with_logfile`](Self::with_logfile).
    pub fn with_logdir(logdir: impl AsRef<Path>) -> Result<PrintTime> {
        PrintTime::with_logfile(logdir.as_ref().join("joblib.log"))
    }

    /// Prints `msg` with the time since the last print (or since the timer was made), and
    /// returns the line.
    pub fn print(&mut self, msg: &str) -> String {
        let since = self.last.elapsed();
        self.say(msg, since.as_secs_f64())
    }

    /// Prints `msg` with the time since the timer was made (joblib's `total=True`), and
    /// returns the line.
    pub fn print_total(&mut self, msg: &str) -> String {
        let since = self.start.elapsed();
        self.say(msg, since.as_secs_f64())
    }

    fn say(&mut self, msg: &str, seconds: f64) -> String {
        let line = format!("{msg}: {seconds:.1}s, {:.1}min", seconds / 60.0);
        eprintln!("{line}");
        if let Some(logfile) = &self.logfile {
            // A log line that cannot be written is not worth failing the program for.
            let appended = std::fs::OpenOptions::new().append(true).open(logfile);
            let _ = appended.and_then(|mut file| writeln!(file, "{line}"));
        }
        self.last = Instant::now();
        line
    }
}

/// Moves `logfile.1` .. `logfile.8` one number up (the oldest is overwritten), then copies
/// `logfile` to `logfile.1`. Failures are ignored: rotation must never stop a program.
fn rotate(logfile: &Path) {
    let numbered = |i: u32| {
        let mut name = logfile.as_os_str().to_owned();
        name.push(format!(".{i}"));
        PathBuf::from(name)
    };
    for i in (1..ROTATED).rev() {
        let _ = std::fs::rename(numbered(i), numbered(i + 1));
    }
    let _ = std::fs::copy(logfile, numbered(1));
}

/// Seconds since the Unix epoch, as the log's header gives the time it started.
fn humantime_now() -> String {
    let seconds = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{seconds} s since 1970-01-01 UTC")
}

/// joblib's base logger: `debug` and `warn` go to the `log` facade (target `joblib`, with the
/// logger's name before the message, as joblib prints `[Memory]`), and `format` gives an
/// object's `Debug` text, nested at most `depth` levels deep and indented.
///
/// ```
/// let logger = joblib::Logger::new("Memory", 1);
/// logger.debug("a message for the log facade");
/// let text = logger.format(&vec![vec![1, 2], vec![3]], 2);
/// assert!(text.starts_with("  [") && text.contains("..."), "{text}");
/// ```
#[derive(Clone, Debug)]
pub struct Logger {
    name: String,
    depth: usize,
}

impl Logger {
    /// A logger named `name` (`"Memory"`, `"Parallel"`, your own) that formats objects at most
    /// `depth` levels deep (joblib's default is 3).
    pub fn new(name: &str, depth: usize) -> Logger {
        Logger { name: name.to_string(), depth }
    }

    /// `msg` at the debug level of the `log` facade.
    pub fn debug(&self, msg: &str) {
        log::debug!(target: "joblib", "[{}]: {msg}", self.name);
    }

    /// `msg` at the warning level of the `log` facade.
    pub fn warn(&self, msg: &str) {
        log::warn!(target: "joblib", "[{}]: {msg}", self.name);
    }

    /// `obj`'s pretty `Debug` text, whatever is nested deeper than the logger's depth shown as
    /// `...`, every line indented by `indent` spaces.
    pub fn format(&self, obj: &impl Debug, indent: usize) -> String {
        let pretty = format!("{obj:#?}");
        let pad = " ".repeat(indent);
        let mut lines: Vec<String> = Vec::new();
        let mut elided = false;
        for line in pretty.lines() {
            let level = (line.len() - line.trim_start().len()) / 4;
            if level > self.depth {
                if !elided {
                    lines.push(format!("{pad}{}...", "    ".repeat(self.depth + 1)));
                    elided = true;
                }
                continue;
            }
            elided = false;
            lines.push(format!("{pad}{line}"));
        }
        lines.join("\n")
    }
}
