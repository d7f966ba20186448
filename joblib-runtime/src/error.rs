//! The one error type of the crate.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in joblib, with a message that names the file involved and
/// what is wrong with it.
///
/// ```
/// let err = joblib::load::<u32>("/nonexistent/run.jbl").unwrap_err();
/// assert!(matches!(err, joblib::Error::Io { .. }));
/// assert!(err.to_string().contains("/nonexistent/run.jbl"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused an operation on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// `path` does not start with the magic number of a joblib file.
    #[error("{}: not a joblib file (wrong magic number)", path.display())]
    BadMagic {
        /// The file that was read.
        path: PathBuf,
    },
    /// `path` was written by a newer version of the file format than this build reads.
    #[error(
        "{}: written in format version {found}, this build reads versions up to {supported}; \
         upgrade joblib to read it",
        path.display()
    )]
    UnsupportedVersion {
        /// The file that was read.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// `path` is damaged: truncated, overwritten or otherwise inconsistent.
    #[error("{}: corrupted file: {what}", path.display())]
    Corrupt {
        /// The file that was read.
        path: PathBuf,
        /// Which check failed.
        what: String,
    },
    /// `path` holds a value of another type than the one asked for.
    #[error("{}: holds a value of another type than `{requested}` ({what})", path.display())]
    TypeMismatch {
        /// The file that was read.
        path: PathBuf,
        /// The Rust type that was asked for.
        requested: &'static str,
        /// What did not match.
        what: String,
    },
    /// The value could not be serialized (a `Serialize` implementation failed).
    #[error("{}: cannot serialize the value: {what}", path.display())]
    Serialize {
        /// The file that was being written.
        path: PathBuf,
        /// What the serializer reported.
        what: String,
    },
    /// `path` is not a valid `.npy` file, or holds another element type than the one asked for.
    #[error("{}: not a usable .npy file: {what}", path.display())]
    Npy {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// A shelved result is no longer in the cache (cleared or evicted).
    #[error("{}: the cached result is gone (cleared or evicted); call the function again", path.display())]
    NotCached {
        /// The entry's folder.
        path: PathBuf,
    },
    /// A task of a parallel loop failed: it returned an error, panicked or ran too long. The
    /// tasks not yet started when it failed were not started.
    #[error("task {index}{} of the parallel loop {kind}: {message}", input_note(input))]
    Task {
        /// The position of the task's input in the input sequence.
        index: usize,
        /// The `Debug` text of the task's input, where it is known: for the panics of
        /// `#[parallel]` loops and `parallel_for!` over inputs that are `Copy + Debug` (numbers,
        /// references such as the items of `for x in &xs`, tuples of them).
        input: Option<String>,
        /// How it failed.
        kind: TaskFailure,
        /// The error's or the panic's message.
        message: String,
        /// The task's own error, when it returned one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A value's `Serialize` implementation failed while it was hashed
    /// ([`try_hash`](crate::try_hash)).
    #[error("cannot hash the value: {what}")]
    Hash {
        /// What the implementation reported.
        what: String,
    },
    /// The exchange with a worker process broke the task protocol: it answered a call it was
    /// not running, said hello twice, or ended between two calls.
    #[error("worker process: {0}")]
    Worker(String),
    /// The Slurm cluster could not take or run a loop's job array: its commands are missing,
    /// it refused the submission (its message is given), or it stopped answering.
    #[error("slurm: {0}")]
    Slurm(String),
    /// A parallel loop was configured with a value that has no meaning (`n_jobs = 0`, an
    /// unparsable `pre_dispatch`).
    #[error("invalid parallel configuration: {0}")]
    Config(String),
    /// The machine could not provide what a call needs: memory for the results of a loop or
    /// for an array being loaded, worker threads.
    #[error("not enough resources: {0}")]
    Resources(String),
    /// An array's shape does not match its number of elements.
    #[error("shape {shape:?} holds {expected} elements, but {actual} were given")]
    Shape {
        /// The shape that was asked for.
        shape: Vec<usize>,
        /// The number of elements the shape implies (saturating on overflow).
        expected: usize,
        /// The number of elements present.
        actual: usize,
    },
}

/// How a task of a parallel loop failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFailure {
    /// The task returned an error.
    Error,
    /// The task panicked.
    Panic,
    /// The task ran longer than the loop's `timeout`.
    Timeout,
    /// The task's input could not be produced: the input iterator panicked while producing
    /// it (`imap`, `imap_unordered`). The items after it are never produced.
    InputPanic,
    /// The worker process running the task (`backend("processes")`), or the element of a
    /// Slurm job array (`backend("slurm")`), died: killed by `signal`
    /// (an `abort()`, a segfault, a stack overflow, the OOM killer, a `kill -9`), or exited
    /// with `code` in the middle of the task. The error's message has the last lines the
    /// worker wrote to stderr.
    Crashed {
        /// The signal that ended the worker, if one did.
        signal: Option<i32>,
        /// Its exit status, if it exited.
        code: Option<i32>,
    },
}

impl std::fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TaskFailure::Error => "returned an error",
            TaskFailure::Panic => "panicked",
            TaskFailure::Timeout => "timed out",
            TaskFailure::InputPanic => "was never started: the input iterator panicked while producing its item",
            TaskFailure::Crashed { .. } => "crashed",
        })
    }
}

/// ` (input 42)` after a task's index, where its input is known.
fn input_note(input: &Option<String>) -> String {
    input.as_ref().map_or_else(String::new, |text| format!(" (input {text})"))
}

/// The result type of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Error::Io { path: path.to_owned(), source }
    }

    pub(crate) fn corrupt(path: &Path, what: impl Into<String>) -> Self {
        Error::Corrupt { path: path.to_owned(), what: what.into() }
    }

    /// Task `index` (with `input`, where known) failed as `kind` says, with `message`.
    pub(crate) fn task(index: usize, input: Option<String>, kind: TaskFailure, message: String) -> Self {
        Error::Task { index, input, kind, message, source: None }
    }

    pub(crate) fn npy(path: &Path, what: impl Into<String>) -> Self {
        Error::Npy { path: path.to_owned(), what: what.into() }
    }
}

/// The message a panic was raised with.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => message.to_string(),
        (_, Some(message)) => message.clone(),
        _ => "a panic without a message".to_string(),
    }
}
