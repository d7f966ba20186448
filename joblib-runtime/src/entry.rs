//! Where a process started by a backend begins: before `main` (a hook the loader runs), a
//! process started as a worker of a `processes` loop serves it, and one started as an element
//! of a `slurm` job array runs its calls; either exits then, so that no code of the program
//! runs twice. [`worker_entry`] does the same where the hook cannot run.

use crate::processes::{serve_if_worker, NO_HOOK_VAR};

// SAFETY (an unsafe attribute, the only one outside the array code): a function pointer in
// `.init_array` (`__mod_init_func` on Apple platforms) is called by the dynamic loader (or the
// static startup code) before `main`, with the C calling convention, which `extern "C" fn()`
// has; the arguments the loader passes (argc, argv, envp) are ignored, as the C ABI allows.
// What runs before `main` here uses only the environment, files, sockets, threads and
// `process::exit`, which need no initialization by the Rust runtime. Elsewhere the static is
// only a static: `worker_entry()` does its work.
#[used]
#[cfg_attr(any(target_os = "linux", target_os = "android", target_os = "freebsd"), link_section = ".init_array")]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
static WORKER_HOOK: extern "C" fn() = worker_hook;

extern "C" fn worker_hook() {
    if std::env::var_os(NO_HOOK_VAR).is_none() {
        worker_entry();
    }
}

/// Keeps the hook linked: loops of calls (which start workers and elements) call this, so the
/// object file that holds the hook is part of any program that can start one.
pub(crate) fn hook_linked() {
    std::hint::black_box(&WORKER_HOOK);
}

/// Serves a loop if this process was started as one of its workers (or runs its calls if it
/// was started as an element of a Slurm job array), and never returns then; otherwise returns
/// at once. Workers and elements start serving before `main` without it (a hook run by the
/// loader on Linux); call it first thing in `main` where that hook cannot run.
///
/// ```
/// joblib::worker_entry();
/// // the program
/// ```
pub fn worker_entry() {
    if let Some(status) = crate::slurm::serve_if_element() {
        std::process::exit(status);
    }
    serve_if_worker();
}
