//! The worker side: a process started again from the loop's executable, with [`WORKER_VAR`]
//! naming the loop's socket, becomes a worker before its `main` runs (a hook in
//! `.init_array`, which the loader runs before `main`), so that no code of the program runs
//! twice. It connects, says hello, then runs the calls it is sent, one after the other, and
//! exits when the loop's end of the connection closes: at the end of the loop, or when the
//! loop's process dies (however it dies: the kernel closes its sockets).

use std::io::{BufReader, BufWriter};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;

use super::limits;
use crate::protocol::frame::{self, FromWorker, TaskCall, ToWorker, PROTOCOL};
use crate::protocol::{registry, role};

/// Set in a worker's environment to its loop's secret (32 hex digits), a space and the path of
/// the loop's socket. The worker's hello gives the secret back: only this user's processes can
/// read a process's environment (and enter the socket's folder), so no other process can pose
/// as a worker, see calls or answer them.
pub(crate) const WORKER_VAR: &str = "JOBLIB_WORKER";

/// The argument a worker is started with. If the hook does not run, the program's `main` sees
/// it: a program that parses its arguments stops at once instead of running as itself.
pub(crate) const WORKER_ARG: &str = "--joblib-worker";

/// Set (to anything) to keep the hook from running: for tests of what happens without it.
pub(crate) const NO_HOOK_VAR: &str = "JOBLIB_WORKER_NO_HOOK";

/// The exit status of a worker whose loop went away.
const LOOP_GONE: i32 = 0;
/// The exit status of a process started as a worker that is not one (see [`refuse_nested`]).
pub(crate) const NOT_A_WORKER: i32 = 86;

/// The loop that [`WORKER_VAR`] names, if it is set and not empty (an empty value is as
/// good as unset).
fn named_loop() -> Option<std::ffi::OsString> {
    std::env::var_os(WORKER_VAR).filter(|value| !value.is_empty())
}

/// Whether this process was started as a worker of a loop (whether or not it became one).
pub(crate) fn started_as_worker() -> bool {
    named_loop().is_some()
}

/// Serves the loop that [`WORKER_VAR`] names (`loop_address`); the exit status.
fn serve(loop_address: &[u8]) -> i32 {
    role::become_worker();
    // Processes this worker's tasks start are not its loop's workers.
    std::env::remove_var(WORKER_VAR);
    if let Err(why) = limits::apply_memory_limit() {
        eprintln!("joblib: a worker process cannot set its memory limit: {why}");
        return NOT_A_WORKER;
    }
    let text = String::from_utf8_lossy(loop_address);
    let parsed =
        text.split_once(' ').and_then(|(secret, socket)| Some((u128::from_str_radix(secret, 16).ok()?, socket)));
    let Some((secret, socket)) = parsed else {
        eprintln!("joblib: {WORKER_VAR} does not name a loop: {text:?}");
        return NOT_A_WORKER;
    };
    let stream = match UnixStream::connect(socket) {
        Ok(stream) => stream,
        // A loop gone already (its worker's exit is not heard), or a value left in the
        // environment of a program that is not a worker: it must not exit as if it ran.
        Err(e) => {
            eprintln!(
                "joblib: {WORKER_VAR} is set, so this process started as a worker process, but the loop it names \
                 is not running ({socket}: {e}); if this program was not started by a joblib loop, unset \
                 {WORKER_VAR}"
            );
            return NOT_A_WORKER;
        }
    };
    let Ok(reading) = stream.try_clone() else { return LOOP_GONE };
    // Batches are read on their own thread, so that the end of the connection ends the
    // process even while a call runs (the loop stopped, or died). It is started before the
    // hello: a worker that cannot start it (too small a memory limit) never started.
    let (batches, received) = mpsc::channel::<Vec<TaskCall>>();
    let reader = std::thread::Builder::new().name("joblib-worker-input".into()).spawn(move || {
        let mut input = BufReader::new(reading);
        while let Ok(Some(ToWorker::Run(calls))) = frame::read(&mut input) {
            if batches.send(calls).is_err() {
                break;
            }
        }
        end_own_group();
        std::process::exit(LOOP_GONE);
    });
    if let Err(e) = reader {
        eprintln!("joblib: a worker process cannot start the thread that reads its calls: {e}");
        return NOT_A_WORKER;
    }
    let mut out = BufWriter::new(stream);
    let hello = FromWorker::Hello { protocol: PROTOCOL, pid: std::process::id(), secret };
    if frame::write(&mut out, &hello).is_err() {
        return LOOP_GONE;
    }
    for calls in received {
        for call in calls {
            let outcome = registry::run_call(&call);
            if frame::write(&mut out, &FromWorker::Done { id: call.id, outcome }).is_err() {
                return LOOP_GONE;
            }
        }
    }
    LOOP_GONE
}

/// Ends the processes this worker's tasks started, when its loop went away (the loop ends
/// them itself otherwise): every process of its process group, which the loop made its own
/// (and only then: a process that is not its group's leader leaves the group alone).
fn end_own_group() {
    use rustix::process::{getpgrp, getpid, kill_current_process_group, Signal};
    if getpgrp() == getpid() {
        let _ = kill_current_process_group(Signal::KILL);
    }
}

/// Used where a loop would start workers in a process that was itself started as a worker
/// but is running its program's `main`: the hook did not run. It says so on stderr (which
/// the loop that started it reports) and exits, instead of starting workers of its own.
pub(crate) fn refuse_nested() -> ! {
    eprintln!(
        "joblib: this process was started as a worker of a `processes` loop, but it is running the \
         program's main instead of serving the loop: the worker hook did not run (a platform without \
         `.init_array`, or {NO_HOOK_VAR} is set). Call `joblib::worker_entry()` first thing in main."
    );
    std::process::exit(NOT_A_WORKER)
}

/// Serves the loop that started this process as a worker, if one did, and exits then.
pub(crate) fn serve_if_worker() {
    if let Some(loop_address) = named_loop() {
        std::process::exit(serve(loop_address.as_encoded_bytes()));
    }
}
