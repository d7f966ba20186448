//! An element of a job array: the copy of the loop's executable, started by `sbatch` with
//! [`RUN_VAR`] naming the run folder, runs the calls of its element (`SLURM_ARRAY_TASK_ID`)
//! before `main` (the worker hook, as for worker processes), writes their outcomes, and exits.
//! It stops at its first failed call: the loop fails with it.

use std::path::Path;

use super::run_folder::{read_calls, ResultsWriter, RUN_VAR};
use crate::protocol::frame::Outcome;
use crate::protocol::registry;

/// The exit status of an element that could not run its calls (its output says why).
const CANNOT_RUN: i32 = 87;

/// Runs the element this process was started as, if it was; its exit status then.
pub(crate) fn serve_if_element() -> Option<i32> {
    let run = std::env::var_os(RUN_VAR).filter(|run| !run.is_empty())?;
    // Loops of this element's tasks run here, on threads; programs they start are not elements.
    std::env::remove_var(RUN_VAR);
    crate::protocol::role::become_worker();
    let element = std::env::var("SLURM_ARRAY_TASK_ID").ok().and_then(|id| id.trim().parse::<usize>().ok());
    let Some(element) = element else {
        eprintln!(
            "joblib: {RUN_VAR} is set, but SLURM_ARRAY_TASK_ID is not an element's index: not started by sbatch?"
        );
        return Some(CANNOT_RUN);
    };
    match serve(Path::new(&run), element) {
        Ok(()) => Some(0),
        Err(why) => {
            eprintln!("joblib: element {element} of the run in {}: {why}", Path::new(&run).display());
            Some(CANNOT_RUN)
        }
    }
}

/// Runs element `element`'s calls of the run in `run`, recording each outcome as it ends.
fn serve(run: &Path, element: usize) -> Result<(), String> {
    let calls = read_calls(run, element)?;
    let mut results = ResultsWriter::create(run, element).map_err(|e| format!("its results: {e}"))?;
    for call in &calls {
        let outcome = registry::run_call(call);
        let failed = !matches!(outcome, Outcome::Value(_));
        results.append(call.id, &outcome).map_err(|e| format!("its results: {e}"))?;
        if failed {
            break;
        }
    }
    results.commit().map_err(|e| format!("its results: {e}"))
}
