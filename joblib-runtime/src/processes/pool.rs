//! The loop's side: worker processes started from this executable, each connected to the loop
//! by a local socket, their stderr passed on to ours and its last lines kept for the message
//! of a crash.

use std::collections::VecDeque;
use std::io::{self, BufReader, BufWriter, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::serve::{self, NOT_A_WORKER, WORKER_ARG, WORKER_VAR};
use crate::error::{Error, Result};
use crate::protocol::frame::{self, FromWorker, TaskCall, ToWorker, PROTOCOL};
use crate::random::random_u64;

/// How long a started worker may take to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(30);
/// How many of its last stderr lines a worker's crash reports.
const TAIL_LINES: usize = 20;
/// The longest stderr line kept whole for a crash report.
const TAIL_LINE_CHARS: usize = 500;

/// What the loop hears from its workers.
pub(crate) enum Event {
    /// A message of worker `n`.
    Message(usize, FromWorker),
    /// Worker `n`'s connection ended (it exited, or sent something that is not a frame).
    Ended(usize, Option<io::Error>),
}

/// A running worker process.
pub(crate) struct Worker {
    child: Child,
    out: BufWriter<UnixStream>,
    tail: StderrTail,
}

/// The last lines a worker wrote to stderr.
struct StderrTail {
    lines: Arc<Mutex<Lines>>,
    /// Closed when the worker's stderr has been read to its end.
    read: mpsc::Receiver<()>,
}

impl StderrTail {
    /// The lines, once stderr is read to its end (or after a second: a process the worker
    /// started may hold it open).
    fn take(&self) -> Lines {
        let _ = self.read.recv_timeout(Duration::from_secs(1));
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What is kept of a worker's stderr.
#[derive(Default)]
pub(crate) struct Lines {
    /// The last lines.
    pub(crate) last: VecDeque<String>,
    /// Whether it said an allocation failed (Rust's message before it aborts), however long
    /// ago: a backtrace may follow it.
    pub(crate) allocation_failed: bool,
}

/// How a worker ended.
pub(crate) struct Ending {
    pub(crate) pid: u32,
    pub(crate) status: Option<ExitStatus>,
    /// What it wrote to stderr.
    pub(crate) stderr: Lines,
}

impl Ending {
    /// `exit status 3`, `killed by signal 11 (SIGSEGV)`.
    pub(crate) fn status_text(&self) -> String {
        match self.status {
            None => "still running".into(),
            Some(status) => match (status.code(), status.signal()) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(9)) => "was killed by signal 9 (SIGKILL: a `kill -9`, or the kernel's OOM killer when \
                                     the machine ran out of memory)"
                    .into(),
                (None, Some(signal)) => format!("was killed by signal {signal} ({})", signal_name(signal)),
                (None, None) => format!("ended ({status})"),
            },
        }
    }
}

/// The name of a signal by its number on Linux.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => "a signal",
    }
}

/// Worker processes of one loop.
pub(crate) struct Pool {
    pub(crate) workers: Vec<Worker>,
    pub(crate) events: mpsc::Receiver<Event>,
    /// The folder of the loop's socket, removed with the pool.
    _socket_folder: tempfile::TempDir,
}

/// The name of a loop's socket in its folder.
const SOCKET: &str = "socket";
/// The longest path of a socket (`sun_path` holds 108 bytes on Linux, 104 elsewhere, with the
/// final zero).
const MAX_SOCKET_PATH: usize = if cfg!(target_os = "linux") { 107 } else { 103 };

/// A folder for a loop's socket, in the temporary folder, or in `/tmp` when that is too long
/// a path for a socket (a long `TMPDIR`, as Slurm jobs and macOS have).
fn socket_folder() -> Result<tempfile::TempDir> {
    let mut tried = Vec::new();
    for parent in [std::env::temp_dir(), std::path::PathBuf::from("/tmp")] {
        if tried.contains(&parent) {
            continue;
        }
        let folder = crate::protocol::folders::make(&parent, "socket")
            .map_err(|e| Error::Resources(format!("a folder for the socket of worker processes: {e}")))?;
        if folder.path().join(SOCKET).as_os_str().len() <= MAX_SOCKET_PATH {
            return Ok(folder);
        }
        tried.push(parent);
    }
    Err(Error::Config(format!(
        "the socket of worker processes needs a path of at most {MAX_SOCKET_PATH} bytes, and both the temporary \
         folder ({}) and /tmp give longer ones: set TMPDIR to a shorter folder",
        std::env::temp_dir().display()
    )))
}

/// A secret for a new loop: 128 random bits.
fn new_secret() -> u128 {
    (u128::from(random_u64()) << 64) | u128::from(random_u64())
}

impl Pool {
    /// Starts `count` workers and waits for each to say hello.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when this process is itself a worker's (see
    /// [`serve::refuse_nested`]), or a worker does not start: it exits before its hello (the
    /// message has the end of its stderr, and the fix when the worker hook did not run), or
    /// says nothing for 30 s. [`Error::Resources`] when a process or socket cannot be made.
    pub(crate) fn start(count: usize, memory_limit: Option<u64>) -> Result<Pool> {
        if serve::started_as_worker() && !crate::protocol::role::is_worker() {
            serve::refuse_nested();
        }
        let resources = |what: &str, e: io::Error| Error::Resources(format!("{what}: {e}"));
        // The socket is in a folder only this user can enter.
        let socket_folder = socket_folder()?;
        let (socket, secret) = (socket_folder.path().join(SOCKET), new_secret());
        let listener = UnixListener::bind(&socket).map_err(|e| resources("a socket for worker processes", e))?;
        listener.set_nonblocking(true).map_err(|e| resources("a socket for worker processes", e))?;
        let (sender, events) = mpsc::channel();
        // Killed and reaped if the pool does not start (a later worker cannot be started, say).
        let mut starting = Starting(Vec::with_capacity(count));
        for _ in 0..count {
            let loop_address = format!("{secret:032x} {}", socket.display());
            starting.0.push(spawn(&loop_address, memory_limit).map_err(|e| resources("a worker process", e))?);
        }
        let mut pool = Pool { workers: Vec::with_capacity(count), events, _socket_folder: socket_folder };
        let mut streams: Vec<Option<UnixStream>> = (0..count).map(|_| None).collect();
        let deadline = Instant::now() + HELLO_WITHIN;
        while streams.iter().any(Option::is_none) {
            match listener.accept() {
                // A worker says hello as soon as it is connected.
                Ok((mut stream, _)) => {
                    let pid = read_hello(&mut stream, secret);
                    if let Some(n) = starting.0.iter().position(|(child, _)| Some(child.id()) == pid) {
                        streams[n] = Some(stream);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(resources("a worker's connection", e)),
            }
            for (n, (child, tail)) in starting.0.iter_mut().enumerate() {
                if streams[n].is_none() {
                    if let Ok(Some(status)) = child.try_wait() {
                        let ending = Ending { pid: child.id(), status: Some(status), stderr: tail.take() };
                        return Err(did_not_start(&ending, memory_limit));
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Config(format!(
                    "a worker process did not start within {}s (is the program's main running instead of the \
                     worker? call `joblib::worker_entry()` first thing in main)",
                    HELLO_WITHIN.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        for (n, ((child, tail), stream)) in starting.0.drain(..).zip(streams).enumerate() {
            let Some(stream) = stream else { unreachable!("every worker said hello") };
            let connection = |e| resources("a worker's connection", e);
            let (reading, watched) = (stream.try_clone().map_err(connection)?, stream.try_clone().map_err(connection)?);
            let pid = child.id();
            pool.workers.push(Worker { child, out: BufWriter::new(stream), tail });
            let sender = sender.clone();
            thread("joblib-worker-events", move || read_events(n, reading, sender))
                .map_err(|e| resources("a thread for a worker's messages", e))?;
            watch_exit(pid, watched).map_err(|e| resources("a thread that watches a worker", e))?;
        }
        Ok(pool)
    }

    /// Sends `calls` to worker `n`.
    pub(crate) fn send(&mut self, n: usize, calls: Vec<TaskCall>) -> io::Result<()> {
        frame::write(&mut self.workers[n].out, &ToWorker::Run(calls))
    }

    /// Ends worker `n` (killing it unless it has ended) and says how it ended.
    pub(crate) fn end(&mut self, n: usize) -> Ending {
        let worker = &mut self.workers[n];
        // Its connection closed: it is exiting, or it closed it and lives on.
        let deadline = Instant::now() + Duration::from_secs(1);
        let status = loop {
            match worker.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
                _ => {
                    kill_tree(&mut worker.child);
                    break worker.child.wait().ok();
                }
            }
        };
        // What its tasks started ends with it.
        kill_tree(&mut worker.child);
        Ending { pid: worker.child.id(), status, stderr: worker.tail.take() }
    }

    /// Kills worker `n` at once, with every process its tasks started.
    pub(crate) fn kill(&mut self, n: usize) {
        kill_tree(&mut self.workers[n].child);
    }

    /// The process id of worker `n`.
    pub(crate) fn pid(&self, n: usize) -> u32 {
        self.workers[n].child.id()
    }
}

impl Drop for Pool {
    /// Kills every worker still running and reaps them all: a pool never leaves a process
    /// behind, whether its loop ended, failed or panicked.
    fn drop(&mut self) {
        for worker in &mut self.workers {
            kill_tree(&mut worker.child);
            let _ = worker.child.wait();
        }
    }
}

/// Workers being started: killed and reaped, with what they started, unless they join a pool.
struct Starting(Vec<(Child, StderrTail)>);

impl Drop for Starting {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            kill_tree(child);
            let _ = child.wait();
        }
    }
}

/// Kills the worker process `child` and every process in its process group: what its tasks
/// started and did not take out of the group (as loky's `kill_process_tree`). A worker's
/// group is its own ([`spawn`] makes it so).
fn kill_tree(child: &mut Child) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}

/// A named thread running `f`, or why it could not be started.
fn thread(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new().name(name.into()).spawn(f).map(drop)
}

/// Watches worker `pid` on a thread: when it exits, the loop's end of its connection `stream`
/// stops reading once what the worker sent is read, so that its end is heard even while a
/// process it forked holds the connection open. (Without pidfds, an old kernel, the end is
/// heard when the connection closes.)
fn watch_exit(pid: u32, stream: UnixStream) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{pidfd_open, waitid, PidfdFlags, WaitId, WaitIdOptions};
        use std::os::fd::AsFd;
        let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return Ok(()) };
        // Opened while the worker is not reaped (only the pool reaps it): it names that process.
        let Ok(pidfd) = pidfd_open(pid, PidfdFlags::empty()) else { return Ok(()) };
        thread("joblib-worker-exit", move || {
            let exited = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
            while let Err(rustix::io::Errno::INTR) = waitid(WaitId::PidFd(pidfd.as_fd()), exited) {}
            let _ = stream.shutdown(std::net::Shutdown::Read);
        })?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (pid, stream);
    Ok(())
}

/// Starts a worker process of `loop_address` (its secret and socket): this executable, in worker
/// mode, with `memory_limit` if any. Its stderr is passed on to ours and its last lines kept.
fn spawn(loop_address: &str, memory_limit: Option<u64>) -> io::Result<(Child, StderrTail)> {
    // On Linux the running executable itself, even if its file was replaced since (rebuilt).
    #[cfg(target_os = "linux")]
    let executable = std::path::PathBuf::from("/proc/self/exe");
    #[cfg(not(target_os = "linux"))]
    let executable = std::env::current_exe()?;
    let mut command = Command::new(executable);
    command.arg(WORKER_ARG).env(WORKER_VAR, loop_address).stdin(Stdio::null()).stderr(Stdio::piped());
    // A process group of its own, ended with it (see `kill_tree`).
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    if let Some(bytes) = memory_limit {
        command.env(super::limits::MEMORY_LIMIT_VAR, bytes.to_string());
    }
    let mut child = command.spawn()?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let lines = Arc::new(Mutex::new(Lines::default()));
    let (done, read) = mpsc::channel();
    let kept = lines.clone();
    let forwarding = thread("joblib-worker-stderr", move || {
        let _done = done;
        forward_stderr(stderr, &kept);
    });
    if let Err(e) = forwarding {
        kill_tree(&mut child);
        let _ = child.wait();
        return Err(e);
    }
    Ok((child, StderrTail { lines, read }))
}

/// Passes what a worker writes to `stderr` on to ours as it comes, in pieces of bounded size
/// (a line of a gigabyte, or a progress bar redrawn with `\r`, is never held whole), and
/// keeps its last lines (each cut to [`TAIL_LINE_CHARS`]) in `kept`.
fn forward_stderr(mut stderr: impl io::Read, kept: &Mutex<Lines>) {
    let mut piece = [0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match stderr.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let _ = io::stderr().write_all(&piece[..n]);
        for &byte in &piece[..n] {
            if byte == b'\n' || byte == b'\r' {
                if !line.is_empty() {
                    keep_line(kept, &line);
                    line.clear();
                }
            } else if line.len() < TAIL_LINE_CHARS * 4 {
                line.push(byte);
            }
        }
    }
    if !line.is_empty() {
        keep_line(kept, &line);
    }
}

fn keep_line(kept: &Mutex<Lines>, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
    kept.allocation_failed |= text.starts_with("memory allocation of") && text.ends_with("failed");
    if kept.last.len() == TAIL_LINES {
        kept.last.pop_front();
    }
    kept.last.push_back(text.chars().take(TAIL_LINE_CHARS).collect());
}

/// The pid of the worker's hello on `stream`; `None` if what comes is not a hello of this
/// protocol with the loop's `secret` within a few seconds.
fn read_hello(stream: &mut UnixStream, secret: u128) -> Option<u32> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let hello = frame::read::<FromWorker>(stream);
    let _ = stream.set_read_timeout(None);
    match hello {
        Ok(Some(FromWorker::Hello { protocol: PROTOCOL, pid, secret: given })) if given == secret => Some(pid),
        _ => None,
    }
}

/// Why a worker exited before its hello, and what to do.
fn did_not_start(ending: &Ending, memory_limit: Option<u64>) -> Error {
    let code = ending.status.and_then(|s| s.code());
    let no_room = ending.stderr.allocation_failed
        || (code == Some(NOT_A_WORKER) && ending.stderr.last.iter().any(|l| l.contains("cannot start")));
    if let Some(limit) = memory_limit.filter(|_| no_room) {
        return Error::Config(format!(
            "the memory_limit of {} is too small for a worker process itself to start (it needs room for its \
             threads and code, some tens of MiB): raise it{}",
            crate::size::ByteSize::from(limit),
            tail_text(&ending.stderr)
        ));
    }
    let fix = match code {
        Some(NOT_A_WORKER) => "",
        _ => {
            " (if this is the program running as itself: the worker hook did not run; call \
             `joblib::worker_entry()` first thing in main)"
        }
    };
    Error::Config(format!(
        "a worker process (pid {}) {} before it started serving{fix}{}",
        ending.pid,
        ending.status_text(),
        tail_text(&ending.stderr)
    ))
}

/// `; its last lines on stderr:` and the lines, or that there are none.
pub(crate) fn tail_text(stderr: &Lines) -> String {
    if stderr.last.is_empty() {
        return "; it wrote nothing to stderr".into();
    }
    let lines: Vec<&str> = stderr.last.iter().map(String::as_str).collect();
    format!("; its last lines on stderr:\n{}", lines.join("\n"))
}

/// Passes worker `n`'s messages on to the loop until its connection ends.
fn read_events(n: usize, stream: UnixStream, events: mpsc::Sender<Event>) {
    let mut input = BufReader::new(stream);
    loop {
        let event = match frame::read::<FromWorker>(&mut input) {
            Ok(Some(message)) => Event::Message(n, message),
            Ok(None) => Event::Ended(n, None),
            Err(e) => Event::Ended(n, Some(e)),
        };
        let ended = matches!(event, Event::Ended(..));
        if events.send(event).is_err() || ended {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hello_with_the_loops_secret_is_a_worker() {
        let hello = |secret| {
            let (mut ours, mut theirs) = UnixStream::pair().unwrap();
            frame::write(&mut theirs, &FromWorker::Hello { protocol: PROTOCOL, pid: 42, secret }).unwrap();
            read_hello(&mut ours, 7)
        };
        assert_eq!(hello(7), Some(42));
        assert_eq!(hello(8), None);
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        frame::write(&mut theirs, &FromWorker::Hello { protocol: PROTOCOL + 1, pid: 42, secret: 7 }).unwrap();
        assert_eq!(read_hello(&mut ours, 7), None, "another protocol");
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn workers_of_a_pool_that_does_not_start_are_killed_and_reaped_with_their_group() {
        // A worker, and a process it started, as `Pool::start` leaves them when a later worker
        // cannot be started.
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & echo $!; wait"]).stdout(Stdio::piped()).stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut worker = command.spawn().unwrap();
        let mut line = String::new();
        io::BufRead::read_line(&mut BufReader::new(worker.stdout.take().unwrap()), &mut line).unwrap();
        let (pid, grandchild) = (worker.id(), line.trim().to_string());
        let (_done, read) = mpsc::channel();
        drop(Starting(vec![(worker, StderrTail { lines: Arc::default(), read })]));
        let stat = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat"));
        assert!(stat(&pid.to_string()).is_err(), "the worker is reaped, not a zombie");
        let deadline = Instant::now() + Duration::from_secs(2);
        while stat(&grandchild).is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z')) {
            assert!(Instant::now() < deadline, "what the worker started is killed with it");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_worker_that_sends_garbage_or_stops_mid_frame_has_ended() {
        for garbage in [&[5u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff][..], &[0xff, 0xff, 0xff, 0x7f], &[9, 0, 0]] {
            let (ours, mut theirs) = UnixStream::pair().unwrap();
            theirs.write_all(garbage).unwrap();
            drop(theirs);
            let (sender, events) = mpsc::channel();
            read_events(3, ours, sender);
            let events: Vec<Event> = events.into_iter().collect();
            assert!(matches!(events.as_slice(), [Event::Ended(3, Some(_))]), "{garbage:?}");
        }
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        frame::write(&mut theirs, &FromWorker::Hello { protocol: PROTOCOL, pid: 1, secret: 2 }).unwrap();
        drop(theirs);
        let (sender, events) = mpsc::channel();
        read_events(0, ours, sender);
        let events: Vec<Event> = events.into_iter().collect();
        assert!(matches!(events.as_slice(), [Event::Message(0, FromWorker::Hello { .. }), Event::Ended(0, None)]));
    }
}
